// npm run bench:quality — the quality table HEF exists for: `hef eval` on line-completion tasks from
// held-out repositories (code no model saw in training, checked against the training corpora by
// package name and by file content), for none, rag, hef and hef with entity pre-parsing with the same
// generator; then the paper's ablations: the pseudo-token budget K (Figure 3), separate against
// end-to-end training (Table 2), pseudo-tokens shuffled or zeroed, and harmful retrieval (Table 5).
// The error analysis splits exact match by kind of gold line, by where the line's cross-file names were
// given (the prefix window, the entity line, neither: namesGiven.ts) and by what retrieval brought
// (whether the definitions of those names were among the retrieved chunks, definitionReach.ts).
// Every request is cold (nothing reused from the previous task), so latencies compare what a first
// request at a cursor costs.
//
//   npm run bench:quality -- --models DIR --repos DIR --tasks FILE [--corpus DIR ...] [--limit N] [--out FILE] [--fim-layouts psm,spm] [--rag-fit N]
//
// --models holds generator.gguf, embedder.gguf, adapter.gguf (and separate/ with the separate regime's);
// --repos the held-out repositories, --tasks their tasks (`hef tasks --cross-file`).
// --fim-layouts psm,spm only compares fill-in-the-middle layouts: none and hef with the prompt in each
// layout (the generator must be trained with both; the default one declares hef.fim.spm).
// --rag-fit N (default 1,024) adds rag with N raw-context tokens: 4,096 and the prompt overflow the
// 2,048-token windows the shipped generator was trained on, which says nothing about rag itself.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type EngineOptions, loadEngine } from "../sidecar/completion/engine";
import type { CompletionEngine, CompletionMode } from "../sidecar/completion/types";
import type { ModeSummary } from "../sidecar/eval/metrics";
import { definitionSites, readRepository } from "../sidecar/cli/tasks";
import { createLanguageSupport } from "../sidecar/completion/entities";
import { type DefinitionSite, definitionReach, reachedAt } from "../sidecar/eval/definitionReach";
import { type NamesGiven, namesGiven } from "../sidecar/eval/namesGiven";
import { type Ablation, runEval, type TaskResult } from "../sidecar/eval/runEval";
import { type LineTask, parseTasks } from "../sidecar/eval/tasks";

const { values } = parseArgs({
  options: {
    models: { type: "string" },
    repos: { type: "string" },
    tasks: { type: "string" },
    corpus: { type: "string", multiple: true },
    limit: { type: "string" },
    out: { type: "string" },
    ks: { type: "string", default: "1,4,8,16,32,64" },
    // rag again with a budget that fits the windows a small generator was trained on (with the prompt).
    "rag-fit": { type: "string", default: "1024" },
    "fim-layouts": { type: "string" },
  },
});
if (!values.models || !values.repos || !values.tasks) {
  process.stderr.write(
    "usage: bench:quality -- --models DIR --repos DIR --tasks FILE [--corpus DIR ...] [--limit N] [--out FILE] [--fim-layouts psm,spm] [--rag-fit N]\n",
  );
  process.exit(2);
}
const modelsDir = resolve(values.models);
const reposDir = resolve(values.repos);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * No held-out repository is in a training corpus by name; files of theirs that a training corpus holds
 * a copy of (a package vendoring another's module) are listed, and no task may target them.
 */
function checkHeldOut(
  repos: readonly string[],
  corpora: readonly string[],
): { corpora: number; files: number; shared: string[] } {
  const held = new Map<string, string>();
  for (const repo of repos)
    for (const file of filesUnder(join(reposDir, repo)))
      held.set(sha256(file), `${repo}/${relative(join(reposDir, repo), file)}`);
  const shared = new Set<string>();
  for (const corpus of corpora) {
    const names = readFileSync(join(corpus, "corpus-manifest.tsv"), "utf8")
      .split("\n")
      .slice(1)
      .map((row) => row.split("\t")[0]);
    const clash = repos.filter((repo) => names.includes(repo));
    if (clash.length > 0) throw new Error(`${corpus} trained on held-out repositories: ${clash.join(", ")}`);
    for (const file of filesUnder(join(corpus, "repos"))) {
      const copy = statSync(file).size > 0 ? held.get(sha256(file)) : undefined;
      if (copy) shared.add(copy);
    }
  }
  return { corpora: corpora.length, files: held.size, shared: [...shared].sort() };
}

interface Row {
  name: string;
  summary: ModeSummary;
  results: TaskResult[];
}

async function evaluate(
  engine: CompletionEngine,
  workDir: string,
  tasks: readonly LineTask[],
  name: string,
  modes: CompletionMode[],
  extra: { k?: number; entities?: boolean; ablation?: Ablation; ragBudget?: number } = {},
): Promise<Row[]> {
  const started = performance.now();
  const { summaries, results } = await runEval({
    engine,
    tasks,
    reposDir,
    modes,
    workDir,
    cold: true,
    ...extra,
    ...(process.stderr.isTTY
      ? { progress: (done: number, total: number) => process.stderr.write(`\r${name}: ${done}/${total}\x1b[K`) }
      : {}),
  });
  process.stderr.write(
    `${process.stderr.isTTY ? "\r" : ""}${name || modes.join(", ")}: ${tasks.length} tasks x ${modes.length} modes in ${((performance.now() - started) / 1000).toFixed(0)} s\x1b[K\n`,
  );
  return summaries.map((summary) => ({
    name: modes.length > 1 ? `${summary.mode}${name ? ` ${name}` : ""}` : name || summary.mode,
    summary,
    results: results.filter((r) => r.mode === summary.mode),
  }));
}

/** What kind of line the gold line is: where the error analysis looks for what each mode misses. */
function lineKind(line: string): string {
  const code = line.trim();
  if (/^(from\s+\S+\s+)?import\b/.test(code)) return "import";
  if (/^(async\s+)?def\b|^class\b/.test(code)) return "def / class";
  if (/^@/.test(code)) return "decorator";
  if (/^return\b/.test(code)) return "return";
  if (/^(if|elif|while|for|with|assert)\b/.test(code)) return "condition / loop / with";
  if (/^[\w.[\]\s,]+(:[^=]+)?\s*[-+*/|&]?=(?!=)/.test(code)) return "assignment";
  if (/^[\w.]+\(/.test(code)) return "call statement";
  return "other (arguments, literals, continuations)";
}

/**
 * Exact match per kind of gold line and mode, and how often each mode's line names every cross-file
 * name the gold line uses (the task's metadata.names): what repository context is for.
 */
function byKind(rows: readonly Row[], tasks: readonly LineTask[]): string {
  const taskById = new Map(tasks.map((t) => [t.taskId, t]));
  const kinds = [...new Set(tasks.map((t) => lineKind(t.groundTruth)))].sort();
  const names = (r: TaskResult) =>
    ((taskById.get(r.taskId)?.metadata.names as string[] | undefined) ?? []).every((n) => r.prediction.includes(n));
  const header = `| gold line | n | ${rows.map((r) => `${r.name} EM %`).join(" | ")} | ${rows.map((r) => `${r.name} names %`).join(" | ")} |`;
  const lines = kinds.map((kind) => {
    const of = (row: Row) => row.results.filter((r) => lineKind(r.groundTruth) === kind);
    const pct = (part: number, all: number) => (all ? ((100 * part) / all).toFixed(1) : "-");
    const n = of(rows[0]!).length;
    return `| ${kind} | ${n} | ${rows.map((row) => pct(of(row).filter((r) => r.exactMatch).length, n)).join(" | ")} | ${rows.map((row) => pct(of(row).filter(names).length, n)).join(" | ")} |`;
  });
  return [header, `|---|---|${rows.map(() => "---|").join("")}${rows.map(() => "---|").join("")}`, ...lines].join("\n");
}

/**
 * Whether retrieval brought the definitions of the gold line's cross-file names, and at which level
 * (definitionReach.ts), with exact match split by it: a miss with the definitions retrieved as chunks
 * is the generator's (or the projector's), a miss without them is retrieval's.
 */
function byReach(
  rows: readonly Row[],
  tasks: readonly LineTask[],
  sites: ReadonlyMap<string, DefinitionSites>,
): string {
  const taskById = new Map(tasks.map((t) => [t.taskId, t]));
  const pct = (part: number, all: number) => (all ? ((100 * part) / all).toFixed(1) : "-");
  const header =
    "| configuration | n | definitions in retrieved chunks % | in chunks or file nodes % | anywhere in the nodes % | EM % with them in chunks | EM % without |";
  const lines = rows.map((row) => {
    const reached = row.results.flatMap((r) => {
      const task = taskById.get(r.taskId)!;
      const reach = definitionReach(
        (task.metadata.names as string[] | undefined) ?? [],
        sites.get(task.repo)!,
        r.nodes,
      );
      return reach === undefined ? [] : [{ reach, exact: r.exactMatch }];
    });
    const inChunks = reached.filter((r) => reachedAt(r.reach, "chunk"));
    const rest = reached.filter((r) => !reachedAt(r.reach, "chunk"));
    return `| ${row.name} | ${reached.length} | ${pct(inChunks.length, reached.length)} | ${pct(reached.filter((r) => reachedAt(r.reach, "file")).length, reached.length)} | ${pct(reached.filter((r) => r.reach !== "none").length, reached.length)} | ${pct(inChunks.filter((r) => r.exact).length, inChunks.length)} | ${pct(rest.filter((r) => r.exact).length, rest.length)} |`;
  });
  return [header, "|---|---|---|---|---|---|---|", ...lines].join("\n");
}

/**
 * Exact match split by where the gold line's cross-file names were given (namesGiven.ts): a miss whose
 * names the prefix window shows is the generator's alone, whatever the context. Code that rag injects
 * is not counted as giving names (definitionReach.ts looks at it).
 */
function byNamesGiven(rows: readonly Row[], tasks: readonly LineTask[]): string {
  const taskById = new Map(tasks.map((t) => [t.taskId, t]));
  const places: readonly NamesGiven[] = ["prefix", "entity line", "not given"];
  const cell = (results: readonly TaskResult[]) =>
    results.length === 0
      ? "0"
      : `${results.length}, ${((100 * results.filter((r) => r.exactMatch).length) / results.length).toFixed(1)}`;
  const header =
    "| configuration | names in the prefix window: n, EM % | the rest in the entity line: n, EM % | not given: n, EM % |";
  const lines = rows.map((row) => {
    const given = row.results.flatMap((r) => {
      const task = taskById.get(r.taskId)!;
      const window = task.prompt.slice(task.prompt.length - r.prefixChars);
      const place = namesGiven((task.metadata.names as string[] | undefined) ?? [], window, r.entityNames);
      return place === undefined ? [] : [{ place, result: r }];
    });
    return `| ${row.name} | ${places.map((place) => cell(given.filter((g) => g.place === place).map((g) => g.result))).join(" | ")} |`;
  });
  return [header, "|---|---|---|---|", ...lines].join("\n");
}

function table(rows: readonly Row[]): string {
  const header = "| configuration | n | EM % | ES % | ID EM % | p50 ms | p95 ms | tokens |";
  const lines = rows.map(
    ({ name, summary: s }) =>
      `| ${name} | ${s.count} | ${(100 * s.exactMatch).toFixed(1)} | ${(100 * s.editSimilarity).toFixed(1)} | ${(100 * s.identifierMatch).toFixed(1)} | ${s.latency.p50.toFixed(0)} | ${s.latency.p95.toFixed(0)} | ${s.inputTokens.toFixed(0)} |`,
  );
  return [header, "|---|---|---|---|---|---|---|---|", ...lines].join("\n");
}

async function withEngine<T>(
  models: string,
  run: (engine: CompletionEngine, workDir: string) => Promise<T>,
  options: EngineOptions = {},
): Promise<T> {
  const engine = await loadEngine({
    generatorPath: join(models, "generator.gguf"),
    embedderPath: join(modelsDir, "embedder.gguf"),
    adapterPath: join(models, "adapter.gguf"),
    backend: "cpu",
    log: () => undefined,
    ...options,
  });
  const workDir = mkdtempSync(join(tmpdir(), "hef-quality-"));
  try {
    return await run(engine, workDir);
  } finally {
    await engine.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const allTasks = parseTasks(readFileSync(resolve(values.tasks), "utf8"));
const repos = [...new Set(allTasks.map((t) => t.repo))];
const heldOut = checkHeldOut(
  repos,
  (values.corpus ?? []).map((c) => resolve(c)),
);
const usable = allTasks.filter((t) => !heldOut.shared.includes(`${t.repo}/${t.path}`));
const limit = values.limit ? Number(values.limit) : usable.length;
// An even share of every repository when limited, so that no repository dominates.
const tasks = repos.flatMap((repo) => usable.filter((t) => t.repo === repo).slice(0, Math.ceil(limit / repos.length)));
// The shuffled ablation gives each task the query of a task in another file of its repository: said
// now, not after the half hour of runs before it.
const oneFile = repos.filter((repo) => new Set(tasks.filter((t) => t.repo === repo).map((t) => t.path)).size === 1);
if (!values["fim-layouts"] && oneFile.length > 0)
  throw new Error(
    `${oneFile.join(", ")}: tasks in one file only${values.limit ? ` (--limit ${values.limit})` : ""}: the shuffled ablation needs two`,
  );
process.stderr.write(
  `held out: ${repos.join(", ")} (${heldOut.files} files), in none of ${heldOut.corpora} training corpora by name; ` +
    `${heldOut.shared.length} of their files also in training (${heldOut.shared.join(", ") || "none"}): ${allTasks.length - usable.length} tasks on them dropped\n`,
);

if (values["fim-layouts"]) {
  const rows: Row[] = [];
  for (const layout of values["fim-layouts"].split(",")) {
    if (layout !== "psm" && layout !== "spm") throw new Error(`--fim-layouts takes psm and spm, got "${layout}"`);
    rows.push(
      ...(await withEngine(
        modelsDir,
        async (engine, workDir) => evaluate(engine, workDir, tasks, layout, ["none", "hef"]),
        { fimLayout: layout },
      )),
    );
  }
  process.stdout.write(
    `## FIM layouts on held-out repositories (${repos.join(", ")}; ${tasks.length} tasks)\n\n${table(rows)}\n`,
  );
  process.exit(0);
}

type DefinitionSites = ReadonlyMap<string, readonly DefinitionSite[]>;

/** Where each held-out repository defines its names, as `hef tasks --cross-file` finds them. */
async function definitionSitesOf(names: readonly string[]): Promise<Map<string, DefinitionSites>> {
  const support = await createLanguageSupport();
  try {
    const sites = new Map<string, DefinitionSites>();
    for (const repo of names) sites.set(repo, definitionSites(await readRepository(join(reposDir, repo)), support));
    return sites;
  } finally {
    support.dispose();
  }
}

// Read before the runs: a repository the grammars cannot read fails now, not after them.
const sites = await definitionSitesOf(repos);
const ragFit = Number(values["rag-fit"]);
if (!Number.isInteger(ragFit) || ragFit <= 0)
  throw new Error(`--rag-fit takes a token budget, got "${values["rag-fit"]}"`);
const main = await withEngine(modelsDir, async (engine, workDir) => [
  ...(await evaluate(engine, workDir, tasks, "", ["none", "rag", "hef"])),
  ...(await evaluate(engine, workDir, tasks, "hef + entities", ["hef"], { entities: true })),
  ...(await evaluate(engine, workDir, tasks, `rag ${ragFit} tokens`, ["rag"], { ragBudget: ragFit })),
]);
const ks = await withEngine(modelsDir, async (engine, workDir) => {
  const rows: Row[] = [];
  for (const k of values.ks!.split(",").map(Number))
    rows.push(...(await evaluate(engine, workDir, tasks, `hef K=${k}`, ["hef"], { k })));
  return rows;
});
const ablations = await withEngine(modelsDir, async (engine, workDir) => [
  ...(await evaluate(engine, workDir, tasks, "hef, pseudo-tokens shuffled across tasks", ["hef"], {
    ablation: "shuffled",
  })),
  ...(await evaluate(engine, workDir, tasks, "hef, pseudo-tokens zeroed", ["hef"], { ablation: "zeroed" })),
  ...(await evaluate(engine, workDir, tasks, "another repository's nodes", ["hef", "rag"], { ablation: "foreign" })),
]);
const separateDir = join(modelsDir, "separate");
const regimes = existsSync(join(separateDir, "adapter.gguf"))
  ? await withEngine(separateDir, async (engine, workDir) =>
      evaluate(engine, workDir, tasks, "hef, separate regime", ["hef"]),
    )
  : [];

const report = [
  `## Line completion on held-out repositories (${repos.join(", ")}; ${tasks.length} tasks)`,
  table(main),
  "### By kind of gold line",
  byKind(main.slice(0, 3), tasks),
  "### Where the gold line's names were given",
  byNamesGiven(main, tasks),
  "### What retrieval brought",
  byReach(
    main.filter((row) => row.name !== "none"),
    tasks,
    sites,
  ),
  "### Pseudo-token budget K",
  table(ks),
  "### Ablations",
  table([...regimes, ...ablations]),
].join("\n\n");
process.stdout.write(`${report}\n`);
if (values.out)
  writeFileSync(
    resolve(values.out),
    // Without each result's retrieved nodes: 32 spans a task and configuration.
    JSON.stringify(
      { repos, tasks: tasks.length, heldOut, main, ks, regimes, ablations },
      (key, value) => (key === "nodes" ? undefined : value),
      2,
    ),
  );
