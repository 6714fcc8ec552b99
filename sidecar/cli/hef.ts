import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultCacheDir } from "../cache/cacheLocation";
import { HefCache, type RunReport } from "../cache/hefCache";
import type { RetrievedNode } from "../cache/retrieval";
import { ensureDefaultModel } from "../models/defaultModels";
import { LlamaEmbedder } from "../models/embedder";
import type { Backend } from "../models/llamaRuntime";
import { progressBar } from "./progressBar";

const USAGE = `Usage:
  hef index <dir> [--json] [--rebuild]                      build or refresh the cache of <dir>
  hef query <dir> --file <path> --line <n> [--k 32] [--json] nodes retrieved for a cursor at the start of line n

Options:
  --embedder <gguf>     embedding model (default: the embedded tiny model, which gives only lexical vectors)
  --cache-dir <dir>     where the cache lives (default: under ~/.cache/hef-code, or $HEF_CACHE_HOME)
  --backend auto|cpu    run models on the best GPU found, or on the CPU only (default auto)
  --exclude <glob>      gitignore-style pattern to leave out, in addition to .gitignore (repeatable)
  --b <n>               branching factor: children fused per parent (default 8)
  --rebuild             (index) rebuild the hierarchy and index from scratch; known chunk vectors are reused
`;

class UsageError extends Error {}

const OPTIONS = {
  json: { type: "boolean" },
  rebuild: { type: "boolean" },
  embedder: { type: "string" },
  "cache-dir": { type: "string" },
  backend: { type: "string" },
  exclude: { type: "string", multiple: true },
  b: { type: "string" },
  file: { type: "string" },
  line: { type: "string" },
  k: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

async function openCache(dir: string, values: ReturnType<typeof parse>["values"]): Promise<HefCache> {
  const root = resolve(dir);
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a directory`);
  const backend = (values.backend ?? "auto") as Backend;
  if (backend !== "auto" && backend !== "cpu") throw new UsageError(`--backend must be auto or cpu, got "${values.backend}"`);
  const modelPath = values.embedder ? resolve(values.embedder) : await ensureDefaultModel("tiny-embed");
  const embedder = await LlamaEmbedder.load(modelPath, { backend });
  return HefCache.open({
    root,
    cacheDir: values["cache-dir"] ? resolve(values["cache-dir"]) : defaultCacheDir(root),
    embedder,
    b: positiveInt(values.b, "b", 8),
    rebuild: values.rebuild ?? false,
    ...(values.exclude ? { discovery: { exclude: values.exclude } } : {}),
  });
}

async function syncWithProgress(cache: HefCache): Promise<RunReport> {
  const bar = progressBar();
  try {
    return await cache.sync(bar.update);
  } finally {
    bar.end();
  }
}

function formatReport(report: RunReport): string {
  const levels = report.nodesPerLevel;
  const skipped = report.skipped.length
    ? `\nskipped ${report.skipped.length}: ${report.skipped.map((s) => `${s.path} (${s.reason})`).join(", ")}`
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
        .map((s) => (s.startLine ? `${s.path}:${s.startLine}-${s.endLine}` : `${s.path}/`))
        .join(", ");
      const more = node.spans.length > 3 ? ` +${node.spans.length - 3}` : "";
      const level = node.partial ? `${node.level}*` : node.level;
      return `${String(i + 1).padStart(3)}  ${node.score.toFixed(4)}  ${level.padEnd(7)} ${where}${more}`;
    })
    .join("\n");
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, dir, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return;
  }
  if (!dir || extra.length > 0) throw new UsageError(`${command} takes one directory`);
  if (command === "index") {
    const cache = await openCache(dir, values);
    const report = await syncWithProgress(cache);
    await cache.save();
    const { changedFiles: _, ...json } = report;
    process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${formatReport(report)}\n`);
    return;
  }
  if (command === "query") {
    if (!values.file || !values.line) throw new UsageError("query needs --file <path> and --line <n>");
    const line = positiveInt(values.line, "line", 1);
    const k = positiveInt(values.k, "k", 32);
    const file = resolve(dir, values.file);
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    if (line > lines.length + 1) throw new UsageError(`${values.file} has ${lines.length} lines, --line ${line} is past its end`);
    const prefix = lines.slice(0, line - 1).map((l) => `${l}\n`).join("");
    const cache = await openCache(dir, values);
    await syncWithProgress(cache);
    await cache.save();
    const started = performance.now();
    const nodes = await cache.query(prefix, k);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(values.json ? `${JSON.stringify({ file: values.file, line, k, ms, nodes })}\n` : `${formatNodes(nodes)}\n`);
    return;
  }
  throw new UsageError(`unknown command "${command}"`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`hef: ${(error as Error).message}\n${usage ? `\n${USAGE}` : ""}`);
    process.exit(usage ? 2 : 1);
  },
);
