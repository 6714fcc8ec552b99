// `hef eval <tasks.jsonl> --repos <dir>`: exact match, edit similarity and latency per mode.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadEngine } from "../completion/engine";
import { COMPLETION_MODES } from "../completion/types";
import type { ModeSummary } from "../eval/metrics";
import { ABLATIONS, type Ablation, runEval } from "../eval/runEval";
import { parseTasks } from "../eval/tasks";
import { backendOf, directory, modelPaths, modesOf, optionalPositiveInt, UsageError, type Values } from "./args";
import { progressBar } from "./progressBar";

function formatSummaries(summaries: readonly ModeSummary[]): string {
  const rows = summaries.map((s) => [
    s.mode,
    String(s.count),
    (100 * s.exactMatch).toFixed(1),
    (100 * s.editSimilarity).toFixed(1),
    (100 * s.identifierMatch).toFixed(1),
    s.latency.p50.toFixed(0),
    s.latency.p95.toFixed(0),
    s.inputTokens.toFixed(0),
  ]);
  const header = ["mode", "n", "EM %", "ES %", "ID EM %", "p50 ms", "p95 ms", "tokens"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    .join("\n");
}

export async function runEvalCommand(tasksFile: string, values: Values): Promise<void> {
  if (!values.repos) throw new UsageError("eval needs --repos <dir>");
  const reposDir = directory(values.repos);
  const path = resolve(tasksFile);
  const tasks = parseTasks(readFileSync(path, "utf8"), tasksFile);
  if (tasks.length === 0) throw new UsageError(`${tasksFile}: no tasks`);
  const modes = modesOf(values, COMPLETION_MODES);
  const k = optionalPositiveInt(values.k, "k");
  const ablation = values.ablation as Ablation | undefined;
  if (ablation !== undefined && !ABLATIONS.includes(ablation))
    throw new UsageError(`--ablation must be one of ${ABLATIONS.join(", ")}, got "${ablation}"`);
  const engine = await loadEngine({ ...modelPaths(values), backend: backendOf(values) });
  const workDir = mkdtempSync(join(tmpdir(), "hef-eval-"));
  const bar = progressBar();
  try {
    const { summaries, results } = await runEval({
      engine,
      tasks,
      reposDir,
      modes,
      workDir,
      entities: values.entities ?? false,
      ...(k !== undefined ? { k } : {}),
      ...(ablation !== undefined ? { ablation } : {}),
      progress: (done, total) => bar.update("completing", done, total),
    });
    bar.end();
    process.stdout.write(
      values.json ? `${JSON.stringify({ summaries, results })}\n` : `${formatSummaries(summaries)}\n`,
    );
  } finally {
    bar.end();
    rmSync(workDir, { recursive: true, force: true });
    await engine.dispose();
  }
}
