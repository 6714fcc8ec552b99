// npm run bench:complete — completion latency per mode and per stage, cold and on the next
// keystroke, on random-weight models with exactly the shapes of the paper's pipeline (generator
// Qwen2.5-Coder-1.5B Q4_K_M, fuser Qwen2.5-Coder-0.5B, embedder Qwen3-Embedding-0.6B Q8_0), on two
// repositories about 19x apart in nodes. "Cold" requests follow engine.resetCaches() (nothing reused);
// "next" requests are keystrokes typed at the same place. `-- --prepare` only makes the models and indexes;
// `-- --shipped` measures the embedded default models (models/default) instead of the paper's shapes.
// `-- --keystrokes` measures, in hef mode, what the editor asks while a user writes a line (issue 16):
// cold, 3 characters typed at the end of the line, the next line (Enter), another file and back, and in
// the longest files a line 512 characters or more further down past a full prefix window (the window slid
// by a step), with the engine as it was (prefix-suffix-middle, retrieval on every request), as it is (the
// retrieved set kept within a line), with suffix-prefix-middle, and in none mode (no pseudo-tokens);
// `--repos shop` limits the repositories.
// `-- --prefill` measures prefill throughput through the addon (tokens/s of one cold request of 512 and
// 1,024 tokens) for a few batch sizes (n_batch = n_ubatch) and thread counts, on the shipped generator
// and the real-shape generators in bench/out/models when present.
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { HefCache } from "../sidecar/cache/hefCache";
import { listSourceFiles } from "../sidecar/cache/discovery";
import { loadEngine } from "../sidecar/completion/engine";
import type { EngineOptions } from "../sidecar/completion/engine";
import { assemblePrompt, PROMPT_DEFAULTS } from "../sidecar/completion/promptAssembly";
import type { CompletionEngine, CompletionMode, CompletionResult, StageTimings } from "../sidecar/completion/types";
import { summarize } from "../sidecar/eval/metrics";
import { shippedModels } from "../sidecar/models/shippedModels";
import { NativeGenerator } from "../sidecar/native/generator";
import type { EvaluateResult } from "../sidecar/native/generator";
import { maxAbsDiff } from "../test/helpers/vectors";
import { preparePaperModels } from "./paperModels";
import { benchRepo } from "./repos";

const OUT = resolve("bench/out");
const GENERATED_TOKENS = 16;
const SITES = 3;
const KEYSTROKES = 3;
const MODES: CompletionMode[] = ["none", "hef", "rag"];

function shopRepo(): string {
  const dir = join(OUT, "repos", "shop");
  if (!existsSync(dir)) cpSync(resolve("samples/shop"), dir, { recursive: true });
  return dir;
}

interface Site {
  path: string;
  prefix: string;
  suffix: string;
  /** What the user types next at the cursor. */
  typed: string;
}

/** The repository's indexed files. */
function indexedFiles(cache: HefCache): string[] {
  return [
    ...new Set(
      cache
        .allNodes()
        .filter((node) => node.level === "file")
        .map((node) => node.path),
    ),
  ];
}

/**
 * Cursor sites: the start of a non-blank line (of more than `typed` characters) about 60% into evenly spaced files
 * of at least 30 lines; the user types the line's first `typed` characters.
 */
function sites(root: string, paths: readonly string[], count: number, typed = KEYSTROKES): Site[] {
  const out: Site[] = [];
  const candidates = [...paths]
    .sort()
    .map((path) => ({ path, text: readFileSync(join(root, path), "utf8") }))
    .filter((f) => f.text.split("\n").length >= 30);
  for (let i = 0; i < count && candidates.length > 0; i++) {
    const { path, text } = candidates[Math.floor(((i + 0.5) * candidates.length) / count)]!;
    const lines = text.split("\n");
    let line = Math.floor(lines.length * 0.6);
    while (line < lines.length - 1 && lines[line]!.trim().length < typed + 1) line++;
    const prefix = lines
      .slice(0, line)
      .map((l) => `${l}\n`)
      .join("");
    out.push({ path, prefix, suffix: text.slice(prefix.length), typed: lines[line]!.trimStart().slice(0, typed) });
  }
  return out;
}

interface Measured {
  cold: CompletionResult[];
  next: CompletionResult[];
}

async function measure(
  engine: CompletionEngine,
  cache: HefCache,
  mode: CompletionMode,
  at: readonly Site[],
): Promise<Measured> {
  const measured: Measured = { cold: [], next: [] };
  const request = (site: Site, typed: string) =>
    engine.complete(cache, {
      path: site.path,
      prefix: site.prefix + typed,
      suffix: site.suffix,
      mode,
      maxTokens: GENERATED_TOKENS,
      fixedLength: true,
    });
  for (const site of at) {
    const indent = site.suffix.match(/^[ \t]*/)![0];
    await engine.resetCaches();
    measured.cold.push(await request(site, indent));
    for (let n = 1; n <= site.typed.length; n++)
      measured.next.push(await request(site, indent + site.typed.slice(0, n)));
  }
  return measured;
}

const STAGES: (keyof StageTimings)[] = ["queryEmbed", "search", "projection", "prefill", "decode", "total"];

function median(values: readonly number[]): number {
  return summarize(values).p50;
}

function row(
  repo: string,
  nodes: number,
  mode: CompletionMode,
  when: "cold" | "next",
  results: readonly CompletionResult[],
): string[] {
  const total = summarize(results.map((r) => r.timings.total));
  return [
    repo,
    String(nodes),
    mode,
    when,
    String(results.length),
    `${total.p50.toFixed(0)} / ${total.p95.toFixed(0)}`,
    ...STAGES.slice(0, -1).map((stage) => median(results.map((r) => r.timings[stage])).toFixed(0)),
    `${median(results.map((r) => r.promptTokens))} + ${median(results.map((r) => r.pseudoTokens))}`,
    String(median(results.map((r) => r.reused))),
  ];
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

// --- keystrokes: what one user writing one line costs, before and after issue 16 ---------------------

interface LineSite {
  path: string;
  /** The line written up to `typed` characters before its end; nothing after the cursor on that line. */
  prefix: string;
  /** The line's last characters (3 unless asked). */
  typed: string;
  /** The lines below ("\n" first). */
  suffix: string;
  /** The indentation of the written line: where Enter (with auto-indent) puts the cursor. */
  indent: string;
}

/** The line about 60% into each site's file: the user is writing its end. */
function lineSites(at: readonly Site[], typed = KEYSTROKES): LineSite[] {
  return at.map((site) => {
    const text = site.prefix + site.suffix;
    const start = site.prefix.length;
    const end = text.indexOf("\n", start);
    const line = text.slice(start, end);
    return {
      path: site.path,
      prefix: text.slice(0, end - typed),
      typed: line.slice(-typed),
      suffix: text.slice(end),
      indent: line.match(/^[ \t]*/)![0],
    };
  });
}

type Request =
  | "cold"
  | "3 characters typed"
  | "next line"
  | "another file and back"
  | "512+ characters down"
  | "cold, after a pre-warm";
const REQUESTS: Request[] = [
  "cold",
  "3 characters typed",
  "next line",
  "another file and back",
  "512+ characters down",
  "cold, after a pre-warm",
];

interface Place {
  path: string;
  prefix: string;
  suffix: string;
}

/**
 * In the longest files (up to `count`), two line starts 512 characters or more apart (a step of the
 * prefix window: 4,096 characters in 8 steps, promptAssembly.ts), both past a full window: between
 * them the window slides, dropping its first lines.
 */
function slidPlaces(cache: HefCache, count: number): [Place, Place][] {
  const texts = indexedFiles(cache)
    .map((path) => ({ path, text: readFileSync(join(cache.root, path), "utf8") }))
    .sort((a, b) => b.text.length - a.text.length);
  const lineStartFrom = (text: string, at: number) => {
    const end = text.indexOf("\n", at);
    return end < 0 || end + 1 >= text.length ? undefined : end + 1;
  };
  const place = (path: string, text: string, at: number): Place => ({
    path,
    prefix: text.slice(0, at),
    suffix: text.slice(at),
  });
  const out: [Place, Place][] = [];
  for (const { path, text } of texts.slice(0, count)) {
    const first = lineStartFrom(text, 4096 + 512);
    const second = first === undefined ? undefined : lineStartFrom(text, first + 512);
    if (first !== undefined && second !== undefined) out.push([place(path, text, first), place(path, text, second)]);
  }
  return out;
}

interface KeystrokeRun {
  results: Map<Request, CompletionResult[]>;
  /** Per site with a step down: whether its completion equals the same request decoded cold (moved KV positions are close, not equal). */
  downSameAsCold: boolean[];
}

async function measureKeystrokes(
  engine: CompletionEngine,
  cache: HefCache,
  at: readonly LineSite[],
  slid: readonly [Place, Place][],
  mode: CompletionMode,
): Promise<KeystrokeRun> {
  const out = new Map<Request, CompletionResult[]>(REQUESTS.map((r) => [r, []]));
  const downSameAsCold: boolean[] = [];
  const request = ({ path, prefix, suffix }: Place) =>
    engine.complete(cache, { path, prefix, suffix, mode, maxTokens: GENERATED_TOKENS, fixedLength: true });
  for (const [i, site] of at.entries()) {
    await engine.resetCaches();
    out.get("cold")!.push(await request(site));
    out.get("3 characters typed")!.push(await request({ ...site, prefix: site.prefix + site.typed }));
    const nextLine = { ...site, prefix: `${site.prefix}${site.typed}\n${site.indent}` };
    out.get("next line")!.push(await request(nextLine));
    // A request in the next site's file, then the last request here again (each file keeps its KV state).
    const other = at[(i + 1) % at.length]!;
    if (other.path !== site.path) {
      await request(other);
      out.get("another file and back")!.push(await request(nextLine));
    }
    const pair = slid[i];
    if (pair) {
      await request(pair[0]);
      const warm = await request(pair[1]);
      out.get("512+ characters down")!.push(warm);
      await engine.resetCaches();
      downSameAsCold.push((await request(pair[1])).text === warm.text);
    }
    // What the sidecar does while the cursor rests (hef/prewarm): the same request with one generated token.
    await engine.resetCaches();
    await engine.complete(cache, { path: site.path, prefix: site.prefix, suffix: site.suffix, mode, maxTokens: 1 });
    out.get("cold, after a pre-warm")!.push(await request(site));
  }
  return { results: out, downSameAsCold };
}

async function keystrokes(
  models: { embedderPath: string; generatorPath: string; adapterPath: string },
  repoNames: readonly string[],
): Promise<void> {
  const configs: { name: string; options: EngineOptions; mode: CompletionMode }[] = [
    {
      name: "before: psm, retrieval every request",
      options: { fimLayout: "psm", retrievalMemory: false },
      mode: "hef",
    },
    { name: "psm, retrieval kept", options: { fimLayout: "psm" }, mode: "hef" },
    // The shipped generator declares hef.fim.spm (the default, fimLayout auto, uses it); random weights
    // declare nothing, so spm is forced there, to show what a generator trained with it costs.
    {
      name: shipped ? "default: spm (declared), retrieval kept" : "spm (forced), retrieval kept",
      options: shipped ? {} : { fimLayout: "spm" },
      mode: "hef",
    },
    // No pseudo-tokens: nothing ahead of the prefix changes when the cursor moves, so a window that slid is moved, not decoded.
    { name: "none mode (prefix and suffix only): psm", options: { fimLayout: "psm" }, mode: "none" },
  ];
  const rows: string[][] = [];
  for (const config of configs) {
    const engine = await loadEngine({ ...models, ...config.options, log });
    for (const repo of repos.filter((r) => repoNames.includes(r.name))) {
      const cache = await engine.openRepository(repo.root, {
        cacheDir: join(OUT, shipped ? "caches-shipped" : "caches", repo.name),
        log,
      });
      const report = await cache.sync();
      log(`${repo.name}: ${config.name}...`);
      const { results: measured, downSameAsCold } = await measureKeystrokes(
        engine,
        cache,
        lineSites(sites(cache.root, indexedFiles(cache), SITES)),
        slidPlaces(cache, SITES),
        config.mode,
      );
      for (const [when, results] of measured) {
        if (results.length === 0) continue;
        rows.push([
          repo.name,
          String(report.nodes),
          config.name,
          when,
          String(results.length),
          median(results.map((r) => r.timings.total)).toFixed(0),
          median(results.map((r) => r.timings.queryEmbed)).toFixed(0),
          median(results.map((r) => r.timings.prefill)).toFixed(0),
          median(results.map((r) => r.timings.decode)).toFixed(0),
          `${median(results.map((r) => r.promptTokens))} + ${median(results.map((r) => r.pseudoTokens))}`,
          String(median(results.map((r) => r.decoded))),
          String(median(results.map((r) => r.reused))),
          `${results.filter((r) => r.retrievalReused).length}/${results.length}`,
          when === "512+ characters down" ? `${downSameAsCold.filter(Boolean).length}/${downSameAsCold.length}` : "",
        ]);
      }
    }
    await engine.dispose();
  }
  printTable(
    [
      "repo",
      "nodes",
      "engine",
      "request",
      "n",
      "total p50 ms",
      "query embed",
      "prefill",
      "decode",
      "prompt + pseudo",
      "decoded",
      "reused",
      "nodes kept",
      "text = cold",
    ],
    rows,
  );
  console.log(
    `\nhef mode, ${GENERATED_TOKENS} tokens generated per request, medians over ${SITES} sites per repository (a line about 60% into a file, ` +
      `written up to ${KEYSTROKES} characters before its end; nothing after the cursor on the line, the lines below as the suffix): cold after ` +
      `engine.resetCaches(), then one request with the ${KEYSTROKES} characters typed, then one on the next line (Enter with auto-indent), then one in another site's file and, measured, the next-line request again; then, in one of the ${SITES} longest files (at least 5,600 characters), a request at a line start past a full prefix window and, measured, one 512 or more characters further down (the window slid by a step); last, cold again after a pre-warm at the first place (hef/prewarm: the request with one generated token, what the sidecar does while the cursor rests). ` +
      `Times are medians in ms (query embed, prefill and decode: the stages); decoded / reused: prompt positions (pseudo-tokens included) ` +
      `decoded now / kept from the previous request's KV cache (moved positions included); nodes kept: requests that reused the line's retrieval; ` +
      `text = cold: 512+ characters down, completions equal to the same request decoded from scratch.`,
  );
}

// --- the suffix while typing, prefix-suffix-middle (issue 16) ---------------------------------------------

/** Characters typed one keystroke at a time at each site in --suffix (`--typed N` changes it). */
const TYPED_CHARS = Number(option("--typed") ?? 8);

/** The token a greedy decoder picks. */
function top1(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

interface SuffixOption {
  name: string;
  /** The generator's cacheReuse: 0 re-decodes what follows the typed characters, > 0 moves it (runs that long). */
  cacheReuse: number;
  /** The suffix budget of requests while the user types; after a pause the full one comes back. */
  typingSuffix: number;
}

const SUFFIX_OPTIONS: SuffixOption[] = [
  { name: "(a) re-decode the suffix", cacheReuse: 0, typingSuffix: PROMPT_DEFAULTS.suffixBudget },
  { name: "(b) move the suffix's KV, runs >= 256", cacheReuse: 256, typingSuffix: PROMPT_DEFAULTS.suffixBudget },
  { name: "(b) move the suffix's KV, runs >= 64", cacheReuse: 64, typingSuffix: PROMPT_DEFAULTS.suffixBudget },
  { name: "(b) move the suffix's KV, runs >= 16", cacheReuse: 16, typingSuffix: PROMPT_DEFAULTS.suffixBudget },
  { name: "(c) 64-token suffix while typing", cacheReuse: 0, typingSuffix: 64 },
  { name: "(d) no suffix while typing", cacheReuse: 0, typingSuffix: 0 },
];

/**
 * What a keystroke costs in a prefix-suffix-middle prompt, and what each way of keeping the suffix out of it gives
 * up: at each site (the end of a line about 60% into a file), a request with the full suffix (the user paused),
 * then the line's last TYPED_CHARS characters typed one request each, then the full-suffix request again (the
 * next pause). Every option runs on a generator of its own; each keystroke's logits are compared with those of
 * the full-suffix request decoded cold. None mode (no pseudo-tokens: they stay the same within a line).
 */
async function suffixWhileTyping(generatorPath: string, repoNames: readonly string[]): Promise<void> {
  const load = (cacheReuse: number) =>
    NativeGenerator.load(generatorPath, { contextSize: 2048, cacheReuse, sequences: 1 });
  const cold = await load(0);
  const handles = await Promise.all(SUFFIX_OPTIONS.map((option) => load(option.cacheReuse)));
  const model = { tokens: cold.info.tokens, addBos: cold.info.addBos, fimLayout: "psm" as const };
  const prompt = (path: string, prefix: string, suffix: string, suffixBudget: number) =>
    assemblePrompt((text) => cold.tokenize(text), model, { path, prefix, suffix, mode: "none", suffixBudget }).tokens;
  interface Figures {
    decoded: number[];
    prefillMs: number[];
    diff: number[];
    sameTop: number;
    lastDiff: number[];
    pause: EvaluateResult[];
  }
  const figures = SUFFIX_OPTIONS.map((): Figures => ({
    decoded: [],
    prefillMs: [],
    diff: [],
    sameTop: 0,
    lastDiff: [],
    pause: [],
  }));
  const suffixTokens: number[] = [];
  for (const repo of repos.filter((r) => repoNames.includes(r.name))) {
    const at = lineSites(sites(repo.root, await listSourceFiles(repo.root), SITES, TYPED_CHARS), TYPED_CHARS);
    for (const site of at) {
      log(`${repo.name}: ${site.path}`);
      const full = (typed: string) => prompt(site.path, site.prefix + typed, site.suffix, PROMPT_DEFAULTS.suffixBudget);
      suffixTokens.push(full("").length - cold.tokenize(site.prefix).length);
      for (const handle of handles) await handle.evaluate({ tokens: full("") });
      for (let n = 1; n <= site.typed.length; n++) {
        const typed = site.typed.slice(0, n);
        await cold.resetCache();
        const reference = (await cold.evaluate({ tokens: full(typed) })).logits;
        for (const [i, option] of SUFFIX_OPTIONS.entries()) {
          const tokens = prompt(site.path, site.prefix + typed, site.suffix, option.typingSuffix);
          const r = await handles[i]!.evaluate({ tokens });
          const diff = maxAbsDiff(r.logits, reference);
          figures[i]!.decoded.push(r.decoded);
          figures[i]!.prefillMs.push(r.prefillMs);
          figures[i]!.diff.push(diff);
          if (top1(r.logits) === top1(reference)) figures[i]!.sameTop++;
          if (n === site.typed.length) figures[i]!.lastDiff.push(diff);
        }
      }
      for (const [i, handle] of handles.entries())
        figures[i]!.pause.push(await handle.evaluate({ tokens: full(site.typed) }));
    }
  }
  for (const handle of [cold, ...handles]) await handle.dispose();
  printTable(
    [
      "option",
      "keystrokes",
      "decoded p50 / max",
      "prefill p50 ms",
      "max |logit diff| p50 / max",
      "at the last keystroke p50",
      "top-1 = cold",
      "after the pause: decoded, prefill ms (p50)",
    ],
    SUFFIX_OPTIONS.map((option, i) => {
      const f = figures[i]!;
      return [
        option.name,
        String(f.decoded.length),
        `${median(f.decoded)} / ${Math.max(...f.decoded)}`,
        median(f.prefillMs).toFixed(0),
        `${median(f.diff).toPrecision(2)} / ${Math.max(...f.diff).toPrecision(2)}`,
        median(f.lastDiff).toPrecision(2),
        `${f.sameTop}/${f.diff.length}`,
        `${median(f.pause.map((r) => r.decoded))}, ${median(f.pause.map((r) => r.prefillMs)).toFixed(0)}`,
      ];
    }),
  );
  console.log(
    `\n${generatorPath}, prefix-suffix-middle, none mode; ${SITES} sites per repository (${repoNames.join(", ")}), the end of a line ` +
      `about 60% into a file, its last ${TYPED_CHARS} characters typed one request each after a request with the full suffix; ` +
      `the full suffix (${PROMPT_DEFAULTS.suffixBudget}-token budget, whole lines) holds ${suffixTokens.join(", ")} tokens ([fim_suffix] to ` +
      `[fim_middle]). decoded: prompt positions decoded per keystroke; max |logit diff| and top-1 against the same text with the ` +
      `full suffix decoded cold; after the pause: the full-suffix request once the user stops typing.`,
  );
}

// --- prefill throughput: the addon's batch and thread choices ----------------------------------------

async function prefillThroughput(): Promise<void> {
  const text = readFileSync(join(shopRepo(), "shop", "cart.py"), "utf8");
  const generators = [
    { path: shippedModels().generatorPath, sizes: [512, 1024], threads: [1, 2] },
    { path: join(OUT, "models", "qwen2.5-coder-0.5b-q4_k_m.gguf"), sizes: [512, 1024], threads: [1, 2] },
    { path: join(OUT, "models", "qwen2.5-coder-1.5b-q4_k_m.gguf"), sizes: [512], threads: [2] },
  ].filter((g) => existsSync(g.path));
  const rows: string[][] = [];
  for (const g of generators) {
    for (const threads of g.threads) {
      for (const batchSize of [128, 512]) {
        const gen = await NativeGenerator.load(g.path, { threads, batchSize, contextSize: 1024 + 8 });
        let ids = gen.tokenize(text);
        while (ids.length < 1024) ids = Int32Array.from([...ids, ...ids]);
        for (const size of g.sizes) {
          await gen.resetCache();
          const r = await gen.evaluate({ tokens: ids.subarray(0, size) });
          log(`${g.path}: ${threads} threads, batch ${batchSize}, ${size} tokens: ${r.prefillMs.toFixed(0)} ms`);
          rows.push([
            g.path.split("/").pop()!,
            String(threads),
            String(batchSize),
            String(size),
            r.prefillMs.toFixed(0),
            ((size / r.prefillMs) * 1000).toFixed(0),
          ]);
        }
        await gen.dispose();
      }
    }
  }
  printTable(["generator", "threads", "n_batch = n_ubatch", "prompt tokens", "prefill ms", "tokens/s"], rows);
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

const prepareOnly = process.argv.includes("--prepare");
const shipped = process.argv.includes("--shipped");
const keystrokeRun = process.argv.includes("--keystrokes");
const log = (message: string) => process.stderr.write(`${message}\n`);
if (process.argv.includes("--prefill")) {
  await prefillThroughput();
  process.exit(0);
}
const models = shipped ? shippedModels() : await preparePaperModels();
const repos = [
  { name: "shop", root: shopRepo() },
  { name: "lsp-packages", root: benchRepo("small") },
];
if (keystrokeRun) {
  const repoNames = option("--repos")?.split(",") ?? repos.map((r) => r.name);
  if (process.argv.includes("--suffix")) await suffixWhileTyping(models.generatorPath, repoNames);
  else await keystrokes(models, repoNames);
  process.exit(0);
}
const engine = await loadEngine({ ...models, log });
log(`backend ${engine.backend}; models ${Object.values(engine.models).join(", ")}`);
const rows: string[][] = [];
const p50 = new Map<string, number>();
for (const repo of repos) {
  const cache = await engine.openRepository(repo.root, {
    cacheDir: join(OUT, shipped ? "caches-shipped" : "caches", repo.name),
    log,
  });
  const started = performance.now();
  const report = await cache.sync((phase, done, total) => {
    if (done === total || done % 50 === 0) log(`${repo.name}: ${phase} ${done}/${total}`);
  });
  await cache.save();
  log(
    `${repo.name}: ${report.files} files, ${report.nodes} nodes, indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  if (prepareOnly) continue;
  const at = sites(cache.root, indexedFiles(cache), SITES);
  for (const mode of MODES) {
    log(`${repo.name}: measuring ${mode}...`);
    const measured = await measure(engine, cache, mode, at);
    rows.push(
      row(repo.name, report.nodes, mode, "cold", measured.cold),
      row(repo.name, report.nodes, mode, "next", measured.next),
    );
    p50.set(`${repo.name}:${mode}:cold`, median(measured.cold.map((r) => r.timings.total)));
    p50.set(`${repo.name}:${mode}:next`, median(measured.next.map((r) => r.timings.total)));
    p50.set(`${repo.name}:${mode}:prefill`, median(measured.cold.map((r) => r.timings.prefill)));
    p50.set(`${repo.name}:${mode}:prompt`, median(measured.cold.map((r) => r.promptTokens + r.pseudoTokens)));
  }
}
await engine.dispose();
if (!prepareOnly) {
  printTable(
    [
      "repo",
      "nodes",
      "mode",
      "request",
      "n",
      "total p50 / p95 ms",
      "query embed",
      "search",
      "projection",
      "prefill",
      "decode",
      "prompt + pseudo",
      "reused",
    ],
    rows,
  );
  console.log(
    `\n${GENERATED_TOKENS} tokens generated per request; stage columns are medians in ms; "next" = each of ${KEYSTROKES} keystrokes typed at the same place.`,
  );
  for (const repo of repos) {
    const get = (key: string) => p50.get(`${repo.name}:${key}`)!;
    console.log(
      `${repo.name}: hef/none p50 cold ${(get("hef:cold") / get("none:cold")).toFixed(2)}x, next ${(get("hef:next") / get("none:next")).toFixed(2)}x (goal <= 1.2); ` +
        `rag/hef cold ${(get("rag:cold") / get("hef:cold")).toFixed(1)}x (goal >= 5); hef prompt ${get("hef:prompt")} positions, prefill ${get("hef:prefill").toFixed(0)} ms`,
    );
  }
}
