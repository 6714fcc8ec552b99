// npm run bench:complete — completion latency per mode and per stage, cold and on the next
// keystroke, on random-weight models with exactly the shapes of the paper's pipeline (generator
// Qwen2.5-Coder-1.5B Q4_K_M, fuser Qwen2.5-Coder-0.5B, embedder Qwen3-Embedding-0.6B Q8_0), on two
// repositories about 19x apart in nodes. "Cold" requests follow engine.resetCaches() (nothing reused);
// "next" requests are keystrokes typed at the same place. `-- --prepare` only makes the models and indexes;
// `-- --shipped` measures the embedded default models (models/default) instead of the paper's shapes.
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { HefCache } from "../sidecar/cache/hefCache";
import { loadEngine } from "../sidecar/completion/engine";
import type { CompletionEngine, CompletionMode, CompletionResult, StageTimings } from "../sidecar/completion/types";
import { summarize } from "../sidecar/eval/metrics";
import { writeRandomAdapter } from "../sidecar/generation/adapter";
import { makeShapedModel } from "../sidecar/models/generatedModels";
import { fingerprintFile } from "../sidecar/models/embedder";
import { modelSpec } from "../sidecar/models/modelSpecs";
import { shippedModels } from "../sidecar/models/shippedModels";
import { benchRepo } from "./repos";

const OUT = resolve("bench/out");
const GENERATED_TOKENS = 16;
const SITES = 3;
const KEYSTROKES = 3;
const MODES: CompletionMode[] = ["none", "hef", "rag"];

async function prepareModels(): Promise<{ embedderPath: string; generatorPath: string; adapterPath: string }> {
  const dir = join(OUT, "models");
  mkdirSync(dir, { recursive: true });
  const embedderPath = join(dir, "qwen3-embedding-0.6b-q8_0.gguf");
  const generatorPath = join(dir, "qwen2.5-coder-1.5b-q4_k_m.gguf");
  const fuserPath = join(dir, "qwen2.5-coder-0.5b-q8_0.gguf");
  await makeShapedModel("qwen3-embedding-0.6b", embedderPath);
  await makeShapedModel("qwen2.5-coder-1.5b", generatorPath);
  await makeShapedModel("qwen2.5-coder-0.5b", fuserPath);
  const adapterPath = join(dir, "hef-random-adapter.gguf");
  if (!existsSync(adapterPath)) {
    await writeRandomAdapter(adapterPath, {
      embedder: { name: "qwen3-embedding-0.6b", id: fingerprintFile(embedderPath), dim: modelSpec("qwen3-embedding-0.6b").hidden },
      generator: { name: "qwen2.5-coder-1.5b", id: fingerprintFile(generatorPath), dim: modelSpec("qwen2.5-coder-1.5b").hidden },
      // Table 3 of the paper: a 2-layer MLP with hidden size 2048.
      projectorHidden: 2048,
      fuser: { name: "qwen2.5-coder-0.5b", id: fingerprintFile(fuserPath), dim: modelSpec("qwen2.5-coder-0.5b").hidden, modelPath: fuserPath },
    });
  }
  return { embedderPath, generatorPath, adapterPath };
}

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

/** Cursor sites: the start of a non-blank line about 60% into evenly spaced files of at least 30 lines. */
function sites(cache: HefCache, count: number): Site[] {
  const files = [...new Set(cache.allNodes().filter((node) => node.level === "file").map((node) => node.path))].sort();
  const out: Site[] = [];
  const candidates = files.map((path) => ({ path, text: readFileSync(join(cache.root, path), "utf8") })).filter((f) => f.text.split("\n").length >= 30);
  for (let i = 0; i < count && candidates.length > 0; i++) {
    const { path, text } = candidates[Math.floor(((i + 0.5) * candidates.length) / count)]!;
    const lines = text.split("\n");
    let line = Math.floor(lines.length * 0.6);
    while (line < lines.length - 1 && lines[line]!.trim().length < KEYSTROKES + 1) line++;
    const prefix = lines.slice(0, line).map((l) => `${l}\n`).join("");
    out.push({ path, prefix, suffix: text.slice(prefix.length), typed: lines[line]!.trimStart().slice(0, KEYSTROKES) });
  }
  return out;
}

interface Measured {
  cold: CompletionResult[];
  next: CompletionResult[];
}

async function measure(engine: CompletionEngine, cache: HefCache, mode: CompletionMode, at: readonly Site[]): Promise<Measured> {
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
    for (let n = 1; n <= site.typed.length; n++) measured.next.push(await request(site, indent + site.typed.slice(0, n)));
  }
  return measured;
}

const STAGES: (keyof StageTimings)[] = ["queryEmbed", "search", "projection", "prefill", "decode", "total"];

function median(values: readonly number[]): number {
  return summarize(values).p50;
}

function row(repo: string, nodes: number, mode: CompletionMode, when: "cold" | "next", results: readonly CompletionResult[]): string[] {
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

const prepareOnly = process.argv.includes("--prepare");
const shipped = process.argv.includes("--shipped");
const log = (message: string) => process.stderr.write(`${message}\n`);
const models = shipped ? shippedModels() : await prepareModels();
const engine = await loadEngine({ ...models, log });
log(`backend ${engine.backend}; models ${Object.values(engine.models).join(", ")}`);
const repos = [
  { name: "shop", root: shopRepo() },
  { name: "lsp-packages", root: benchRepo("small") },
];
const rows: string[][] = [];
const p50 = new Map<string, number>();
for (const repo of repos) {
  const cache = await engine.openRepository(repo.root, { cacheDir: join(OUT, shipped ? "caches-shipped" : "caches", repo.name), log });
  const started = performance.now();
  const report = await cache.sync((phase, done, total) => {
    if (done === total || done % 50 === 0) log(`${repo.name}: ${phase} ${done}/${total}`);
  });
  await cache.save();
  log(`${repo.name}: ${report.files} files, ${report.nodes} nodes, indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (prepareOnly) continue;
  const at = sites(cache, SITES);
  for (const mode of MODES) {
    log(`${repo.name}: measuring ${mode}...`);
    const measured = await measure(engine, cache, mode, at);
    rows.push(row(repo.name, report.nodes, mode, "cold", measured.cold), row(repo.name, report.nodes, mode, "next", measured.next));
    p50.set(`${repo.name}:${mode}:cold`, median(measured.cold.map((r) => r.timings.total)));
    p50.set(`${repo.name}:${mode}:next`, median(measured.next.map((r) => r.timings.total)));
    p50.set(`${repo.name}:${mode}:prefill`, median(measured.cold.map((r) => r.timings.prefill)));
    p50.set(`${repo.name}:${mode}:prompt`, median(measured.cold.map((r) => r.promptTokens + r.pseudoTokens)));
  }
}
await engine.dispose();
if (!prepareOnly) {
  printTable(
    ["repo", "nodes", "mode", "request", "n", "total p50 / p95 ms", "query embed", "search", "projection", "prefill", "decode", "prompt + pseudo", "reused"],
    rows,
  );
  console.log(`\n${GENERATED_TOKENS} tokens generated per request; stage columns are medians in ms; "next" = each of ${KEYSTROKES} keystrokes typed at the same place.`);
  for (const repo of repos) {
    const get = (key: string) => p50.get(`${repo.name}:${key}`)!;
    console.log(
      `${repo.name}: hef/none p50 cold ${(get("hef:cold") / get("none:cold")).toFixed(2)}x, next ${(get("hef:next") / get("none:next")).toFixed(2)}x (goal <= 1.2); ` +
        `rag/hef cold ${(get("rag:cold") / get("hef:cold")).toFixed(1)}x (goal >= 5); hef prompt ${get("hef:prompt")} positions, prefill ${get("hef:prefill").toFixed(0)} ms`,
    );
  }
}
