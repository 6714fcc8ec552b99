import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { resolve } from "node:path";
import { defaultCacheDir } from "../cache/cacheLocation";
import type { HefCache, RunReport } from "../cache/hefCache";
import type { RetrievedNode } from "../cache/retrieval";
import { DEFAULT_K, DEFAULT_MAX_TOKENS } from "../../common/settings";
import { DEFAULT_BRANCHING } from "../cache/hierarchy";
import { Retriever } from "../completion/retriever";
import { shippedModels } from "../models/shippedModels";
import { printable } from "../util/printable";
import {
  backendOf,
  directory,
  modelPaths,
  optionalPositiveInt,
  parse,
  positiveInt,
  UsageError,
  type Values,
  withShippedModels,
} from "./args";
import { runComplete, splitAtLine } from "./complete";
import { runDownload } from "./download";
import { runEvalCommand } from "./eval";
import { runExport } from "./export";
import { Interrupted, syncWithProgress } from "./progressBar";
import { runTasks } from "./tasks";
import { runTrain } from "./train";

const USAGE = `Usage:
  hef index <dir> [--json] [--rebuild]                        build or refresh the cache of <dir>
  hef query <dir> --file <path> --line <n> [--k 32] [--json]   nodes retrieved for a cursor at the start of line n
  hef complete <dir> --file <path> --line <n> [--mode hef|rag|none] [--json]
                                                              complete at the start of line n
  hef eval <tasks.jsonl> --repos <dir> [--mode hef,rag,none] [--k 32] [--ablation shuffled|zeroed|foreign] [--json]
                                                              RepoEval-style line completion: EM, ES, latency per mode
  hef download <uri> --dir <dir> [--timeout 30] [--json]
                                                              download a model (hf:owner/repo/file.gguf or an https URL)
                                                              into <dir> and print its path; --json: {"downloaded","total"}
                                                              progress lines, then {"path"}
  hef tasks <repos-dir> --out <tasks.jsonl> [--per-repo 200] [--per-file 10] [--seed 0] [--cross-file] [--json]
                                                              line-completion tasks (RepoEval format) from each repository
                                                              (subdirectory) of <repos-dir>, for eval and export
  hef export <repos-dir> --out <dir> [--tasks <tasks.jsonl>] [--b 8] [--json]
                                                              training export: each repository's chunks, vectors and
                                                              hierarchy, and each task's view and query vector, in <dir>/<repo>/
  hef train --repos <dir> [<dir> ...] --out <dir> [--preset smoke|cpu|gpu] [--generator <gguf|dir>] [--embedder <gguf>]
            [--set key=value ...] [--seed n] [--backend auto|cpu] [--until <step>]
                                                              train the models and adapter on repositories (needs
                                                              \`npm run setup:training\`); writes <out>/models/; resumes

Options:
  --embedder <gguf>     embedding model (default: the embedded one, trained by the project)
  --generator <gguf>    code generator (default: the embedded one, trained by the project)
  --adapter <file>      HEF adapter: projector and learned fuser (default: the embedded one, trained with them)
  --cache-dir <dir>     where the cache lives (default: under ~/.cache/hef-code, or $HEF_CACHE_HOME;
                        export: <dir>/<repo>, default <out>/.cache/<repo>)
  --backend auto|cpu    run models on the best GPU found, or on the CPU only (default auto)
  --exclude <glob>      gitignore-style pattern to leave out, in addition to .gitignore (repeatable)
  --b <n>               branching factor: children fused per parent (default: the adapter's, ${DEFAULT_BRANCHING})
  --rebuild             (index) rebuild the hierarchy and index from scratch; known chunk vectors are reused
  --k <n>               nodes retrieved (default: the adapter's K, ${DEFAULT_K})
  --max-tokens <n>      (complete) tokens generated at most (default ${DEFAULT_MAX_TOKENS.singleLine}, ${DEFAULT_MAX_TOKENS.multiLine} with --multiline)
  --multiline           (complete) do not stop at the end of the line
  --no-fim              (complete) prefix only, even when the generator has fill-in-the-middle tokens
  --entities            (complete, eval) append names of user-defined entities (up to 64 tokens)
  --ablation <how>      (eval) replace the context: another task's retrieval (shuffled), zero pseudo-tokens
                        (zeroed), or another repository's nodes for the same query (foreign)
  --rag-budget <n>      (complete) rag mode's raw-context token budget (default 4096)
  --dir <dir>           (download) where the model goes
  --timeout <s>         (download) give up when no byte arrives for this long (default 30)
  --out <path>          (tasks) the task file to write; (export) the folder to write
  --per-repo <n>        (tasks) tasks per repository at most (default 200)
  --per-file <n>        (tasks) tasks per file at most (default 10)
  --seed <n>            (tasks) seed of the sampling: the same seed and files give the same tasks (default 0)
  --cross-file          (tasks) only lines using a name that another file of the repository defines
  --tasks <file>        (export) tasks whose views and query vectors are exported
  --preset <name>       (train) smoke (minutes, tiny), cpu (hours, the embedded defaults) or gpu (a lent GPU)
  --set <key=value>     (train) override a setting of the preset, e.g. generator.optim.steps=2000 (repeatable)
  --until <step>        (train) stop after tokenizer, generator, embedder, fuser, warmup, uwl, separate or e2e;
                        the same command without it continues from there
`;

/** What each command's one positional argument is. */
const OPERANDS: Record<string, string> = {
  index: "directory",
  query: "directory",
  complete: "directory",
  eval: "task file",
  download: "model URI",
  tasks: "repositories directory",
  export: "repositories directory",
};

/** The retriever `hef index` and `hef query` use: the engine's own, so their caches and queries are the editor's. */
function loadRetriever(values: Values, queries: boolean): Promise<Retriever> {
  const given = modelPaths(values);
  const { embedderPath } = withShippedModels(given);
  // The shipped adapter belongs to the shipped embedder: another embedder without an adapter fuses by the mean.
  const adapterPath = given.adapterPath ?? (given.embedderPath ? undefined : shippedModels().adapterPath);
  // The adapter's b by default: the cache is then the one `hef complete` and the extension use.
  const b = values.b === undefined ? undefined : positiveInt(values.b, "b", 0);
  return Retriever.load({
    embedderPath,
    ...(adapterPath ? { adapterPath } : {}),
    ...(b !== undefined ? { b } : {}),
    backend: backendOf(values),
    queries,
  });
}

function openCache(retriever: Retriever, root: string, values: Values): Promise<HefCache> {
  return retriever.openRepository(root, {
    cacheDir: values["cache-dir"] ? resolve(values["cache-dir"]) : defaultCacheDir(root),
    rebuild: values.rebuild ?? false,
    ...(values.exclude ? { exclude: values.exclude } : {}),
  });
}

function formatReport(report: RunReport): string {
  const levels = report.nodesPerLevel;
  const skipped = report.skipped.length
    ? `\nskipped ${report.skipped.length}: ${report.skipped.map((s) => `${printable(s.path)} (${s.reason})`).join(", ")}`
    : "";
  return (
    `${report.files} files, ${report.chunks} chunks, ${report.nodes} nodes ` +
    `(chunk ${levels.chunk}, file ${levels.file}, module ${levels.module}, repo ${levels.repo}; ${levels.partial} intermediate)\n` +
    `this run: ${report.changedFiles} files changed, ${report.embedded} chunks embedded, ${report.reused} reused, ` +
    `${report.fused} nodes fused, ${report.removed} removed, ${report.ms} ms${skipped}`
  );
}

function formatNodes(nodes: RetrievedNode[]): string {
  return nodes
    .map((node, i) => {
      const where = node.spans
        .slice(0, 3)
        .map((s) => (s.startLine ? `${printable(s.path)}:${s.startLine}-${s.endLine}` : `${printable(s.path)}/`))
        .join(", ");
      const more = node.spans.length > 3 ? ` +${node.spans.length - 3}` : "";
      const level = node.partial ? `${node.level}*` : node.level;
      return `${String(i + 1).padStart(3)}  ${node.score.toFixed(4)}  ${level.padEnd(7)} ${where}${more}`;
    })
    .join("\n");
}

async function runIndexOrQuery(command: "index" | "query", dir: string, values: Values): Promise<void> {
  const root = directory(dir);
  const query = command === "query" ? queryOf(root, values) : undefined;
  const retriever = await loadRetriever(values, query !== undefined);
  try {
    const cache = await openCache(retriever, root, values);
    const report = await syncWithProgress(cache);
    await cache.save();
    if (!query) {
      const { changedFiles: _, ...json } = report;
      process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${formatReport(report)}\n`);
      return;
    }
    const started = performance.now();
    // The adapter's K by default, as in completion.
    const k = query.k ?? retriever.adapter?.k ?? DEFAULT_K;
    const { nodes } = await retriever.query(cache, query.prefix, k);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ file: values.file, line: query.line, k, ms, nodes })}\n`
        : `${formatNodes(nodes)}\n`,
    );
  } finally {
    await retriever.dispose();
  }
}

/** `hef query`'s cursor and k, checked before any model loads. */
function queryOf(root: string, values: Values): { line: number; k?: number; prefix: string } {
  if (!values.file || !values.line) throw new UsageError("query needs --file <path> and --line <n>");
  const line = positiveInt(values.line, "line", 1);
  const k = optionalPositiveInt(values.k, "k");
  const { prefix } = splitAtLine(readFileSync(resolve(root, values.file), "utf8"), line, values.file);
  return { line, k, prefix };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, dir, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return;
  }
  if (command === "train") return runTrain(values, positionals.slice(1));
  const operand = OPERANDS[command];
  if (!operand) throw new UsageError(`unknown command "${command}"`);
  if (!dir || extra.length > 0) throw new UsageError(`${command} takes one ${operand}`);
  if (command === "index" || command === "query") return runIndexOrQuery(command, dir, values);
  if (command === "complete") return runComplete(dir, values);
  if (command === "eval") return runEvalCommand(dir, values);
  if (command === "tasks") return runTasks(dir, values);
  if (command === "export") return runExport(dir, values);
  return runDownload(dir, values);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(
      `hef: ${(error as Error).message.split("\n").map(printable).join("\n")}\n${usage ? `\n${USAGE}` : ""}`,
    );
    // 128 + the signal's number, as a shell reports a process the signal stopped.
    process.exit(usage ? 2 : error instanceof Interrupted ? 128 + osConstants.signals[error.signal] : 1);
  },
);
