// `hef export <repos-dir> --out <dir>`: each repository's index, and with --tasks each task's view of
// it and query vector, in the training export format (sidecar/training/exportFormat.ts).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_BRANCHING } from "../cache/hierarchy";
import { Retriever } from "../completion/retriever";
import { groupByRepo, parseTasks } from "../eval/tasks";
import { exportRepository, type ExportSummary } from "../training/export";
import { isInside } from "../../common/paths";
import {
  backendOf,
  directory,
  discoveryOf,
  modelPaths,
  positiveInt,
  repositories,
  UsageError,
  type Values,
  withShippedModels,
} from "./args";
import { progressBar } from "./progressBar";

function formatSummary(s: ExportSummary): string {
  return `${s.repo}: ${s.files} files, ${s.chunks} chunks (${s.baseChunks} indexed), ${s.nodes} nodes, ${s.tasks} tasks, ${s.ms} ms`;
}

export async function runExport(reposArg: string, values: Values): Promise<void> {
  if (!values.out) throw new UsageError("export needs --out <dir>");
  const reposDir = directory(reposArg);
  const out = resolve(values.out);
  // The export (and its default cache folder) inside a repository would be indexed with it.
  if (isInside(reposDir, out))
    throw new UsageError(`--out ${values.out} is inside ${reposArg}: it would be indexed as a repository`);
  const b = positiveInt(values.b, "b", DEFAULT_BRANCHING);
  const backend = backendOf(values);
  const tasks = values.tasks
    ? groupByRepo(parseTasks(readFileSync(resolve(values.tasks), "utf8"), values.tasks))
    : undefined;
  const repos = repositories(reposDir);
  const unknown = [...(tasks?.keys() ?? [])].filter((repo) => !repos.includes(repo));
  if (unknown.length > 0)
    process.stderr.write(`hef: tasks of ${unknown.join(", ")} skipped: no such repository under ${reposArg}\n`);

  // Chunk vectors, fused by the mean (training learns the fuser from them), and the editor's query windows.
  const { embedderPath } = withShippedModels(modelPaths(values));
  const retriever = await Retriever.load({ embedderPath, b, backend, queries: tasks !== undefined });
  const bar = progressBar();
  try {
    const summaries: ExportSummary[] = [];
    for (const repo of repos) {
      const summary = await exportRepository({
        repo,
        root: join(reposDir, repo),
        outDir: join(out, repo),
        cacheDir: values["cache-dir"] ? join(resolve(values["cache-dir"]), repo) : join(out, ".cache", repo),
        embedder: retriever.embedder,
        b,
        discovery: discoveryOf(values),
        ...(tasks ? { tasks: tasks.get(repo) ?? [] } : {}),
        ...(tasks ? { queryEncoder: retriever.queryWindowEncoder } : {}),
        progress: (phase, done, total) => bar.update(phase, done, total),
      });
      bar.end();
      summaries.push(summary);
      if (!values.json) process.stdout.write(`${formatSummary(summary)}\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ out, repos: summaries })}\n`);
  } finally {
    bar.end();
    await retriever.dispose();
  }
}
