// `hef eval`: RepoEval-style line completion over local repositories, every mode on the same tasks.
// Each task's repository is indexed once; per task only the target file changes in the index, to
// its content before the cursor (the target's future must not be retrievable).
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CompletionEngine, CompletionMode } from "../completion/types";
import { aggregateByMode, editSimilarity, exactMatch, type ModeSummary, type ScoredCompletion } from "./metrics";
import { futureExcluded, groupByRepo, type LineTask } from "./tasks";

export interface EvalOptions {
  engine: CompletionEngine;
  tasks: readonly LineTask[];
  /** Holds one directory per repository, named by the first segment of the tasks' paths. */
  reposDir: string;
  modes: readonly CompletionMode[];
  k?: number;
  /** A scratch directory: repositories are copied here, so the originals are never written. */
  workDir: string;
  entities?: boolean;
  progress?: (done: number, total: number) => void;
  log?: (message: string) => void;
}

export interface TaskResult extends ScoredCompletion {
  taskId: string;
  exactMatch: boolean;
  editSimilarity: number;
}

export async function runEval(options: EvalOptions): Promise<{ summaries: ModeSummary[]; results: TaskResult[] }> {
  const { engine, modes } = options;
  const results: TaskResult[] = [];
  const total = options.tasks.length * modes.length;
  for (const [repo, tasks] of groupByRepo(options.tasks)) {
    const source = join(options.reposDir, repo);
    const work = join(options.workDir, "repos", repo);
    cpSync(source, work, { recursive: true, filter: (path) => !path.split(/[\\/]/).includes(".git") });
    const cache = await engine.openRepository(work, {
      cacheDir: join(options.workDir, "caches", repo),
      ...(options.log ? { log: options.log } : {}),
    });
    await cache.sync();
    let previous: string | undefined;
    for (const task of tasks) {
      const original = readFileSync(join(source, task.path), "utf8");
      if (previous !== undefined && previous !== task.path) {
        writeFileSync(join(work, previous), readFileSync(join(source, previous)));
      }
      writeFileSync(join(work, task.path), futureExcluded(original, task.lineNo));
      await cache.refresh(previous !== undefined && previous !== task.path ? [previous, task.path] : [task.path]);
      previous = task.path;
      for (const mode of modes) {
        const result = await engine.complete(cache, {
          path: task.path,
          prefix: task.prompt,
          suffix: "",
          mode,
          ...(options.k !== undefined ? { k: options.k } : {}),
          singleLine: true,
          entities: options.entities ?? false,
        });
        results.push({
          taskId: task.taskId,
          mode,
          prediction: result.text,
          groundTruth: task.groundTruth,
          latencyMs: result.timings.total,
          exactMatch: exactMatch(result.text, task.groundTruth),
          editSimilarity: editSimilarity(result.text, task.groundTruth),
        });
        options.progress?.(results.length, total);
      }
    }
  }
  return { summaries: aggregateByMode(results), results };
}
