// `hef export <repos-dir> --out <dir>`: each repository's index, and with --tasks each task's view of
// it and query vector, in the training export format (sidecar/training/exportFormat.ts).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { asIncrementalEncoder } from "../completion/queryEncoder";
import { loadQueryEncoder } from "../completion/engine";
import { groupByRepo, parseTasks } from "../eval/tasks";
import { LlamaEmbedder } from "../models/embedder";
import type { NativeEncoder } from "../native/encoder";
import { exportRepository, type ExportSummary } from "../training/export";
import { isInside } from "../../common/paths";
import { backendOf, directory, discoveryOf, modelPaths, positiveInt, repositories, UsageError, type Values, withShippedModels } from "./args";
import { progressBar } from "./progressBar";

function formatSummary(s: ExportSummary): string {
  return `${s.repo}: ${s.files} files, ${s.chunks} chunks (${s.baseChunks} indexed), ${s.nodes} nodes, ${s.tasks} tasks, ${s.ms} ms`;
}

export async function runExport(reposArg: string, values: Values): Promise<void> {
  if (!values.out) throw new UsageError("export needs --out <dir>");
  const reposDir = directory(reposArg);
  const out = resolve(values.out);
  // The export (and its default cache folder) inside a repository would be indexed with it.
  if (isInside(reposDir, out)) throw new UsageError(`--out ${values.out} is inside ${reposArg}: it would be indexed as a repository`);
  const b = positiveInt(values.b, "b", 8);
  const backend = backendOf(values);
  const tasks = values.tasks ? groupByRepo(parseTasks(readFileSync(resolve(values.tasks), "utf8"), values.tasks)) : undefined;
  const repos = repositories(reposDir);
  const unknown = [...(tasks?.keys() ?? [])].filter((repo) => !repos.includes(repo));
  if (unknown.length > 0) process.stderr.write(`hef: tasks of ${unknown.join(", ")} skipped: no such repository under ${reposArg}\n`);

  const { embedderPath } = withShippedModels(modelPaths(values));
  const embedder = await LlamaEmbedder.load(embedderPath, { backend });
  let queryEncoder: NativeEncoder | undefined;
  const bar = progressBar();
  try {
    queryEncoder = tasks ? await loadQueryEncoder(embedderPath, backend) : undefined;
    const summaries: ExportSummary[] = [];
    for (const repo of repos) {
      const summary = await exportRepository({
        repo,
        root: join(reposDir, repo),
        outDir: join(out, repo),
        cacheDir: values["cache-dir"] ? join(resolve(values["cache-dir"]), repo) : join(out, ".cache", repo),
        embedder,
        b,
        discovery: discoveryOf(values),
        ...(tasks ? { tasks: tasks.get(repo) ?? [] } : {}),
        ...(queryEncoder ? { queryEncoder: asIncrementalEncoder(queryEncoder) } : {}),
        progress: (phase, done, total) => bar.update(phase, done, total),
      });
      bar.end();
      summaries.push(summary);
      if (!values.json) process.stdout.write(`${formatSummary(summary)}\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ out, repos: summaries })}\n`);
  } finally {
    bar.end();
    await queryEncoder?.dispose();
    await embedder.dispose();
  }
}
