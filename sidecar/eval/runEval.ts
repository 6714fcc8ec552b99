// `hef eval`: RepoEval-style line completion over local repositories, every mode on the same tasks.
// Each task's repository is indexed once; per task only the target file changes in the index, to
// its content before the cursor (the target's future must not be retrievable).
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HefCache } from "../cache/hefCache";
import type { CompletionEngine, CompletionMode, CompletionRequest } from "../completion/types";
import { aggregateByMode, editSimilarity, exactMatch, type ModeSummary, type ScoredCompletion } from "./metrics";
import type { ReachedNode } from "./definitionReach";
import { futureExcluded, groupByRepo, type LineTask } from "./tasks";

export interface EvalOptions {
  engine: CompletionEngine;
  tasks: readonly LineTask[];
  /** Holds one directory per repository, named by the first segment of the tasks' paths. */
  reposDir: string;
  modes: readonly CompletionMode[];
  k?: number;
  /** rag: raw-context token budget (the engine's default when absent). */
  ragBudget?: number;
  /** A scratch directory: repositories are copied here, so the originals are never written. */
  workDir: string;
  entities?: boolean;
  /**
   * What the context is replaced with, to see what it contributes: the retrieval of a task in another file of
   * the same repository (shuffled), pseudo-tokens of zeros (zeroed, hef only), or the nodes another repository gives for
   * the task's own query (foreign: the paper's harmful retrieval, Table 5).
   */
  ablation?: Ablation;
  /** Each request cold (engine.resetCaches() before it): latency as the first request at a cursor pays it. */
  cold?: boolean;
  progress?: (done: number, total: number) => void;
  log?: (message: string) => void;
}

export const ABLATIONS = ["shuffled", "zeroed", "foreign"] as const;
export type Ablation = (typeof ABLATIONS)[number];

export interface TaskResult extends ScoredCompletion {
  taskId: string;
  exactMatch: boolean;
  editSimilarity: number;
  /** What retrieval gave the generator (none mode: nothing): where the error analysis looks. */
  nodes: ReachedNode[];
  /** The names the entity line listed (empty without entities). */
  entityNames: string[];
  /** Characters at the end of the task's prompt that the generator's prompt held. */
  prefixChars: number;
}

/**
 * The prompt of the next task in another file (wrapping round): the next task of the same file would
 * hold the current target line in its prompt, and a query built from it would know the answer.
 */
function otherFilePrompt(tasks: readonly LineTask[], t: number): string {
  for (let step = 1; step < tasks.length; step++) {
    const other = tasks[(t + step) % tasks.length]!;
    if (other.path !== tasks[t]!.path) return other.prompt;
  }
  throw new Error(`the shuffled ablation needs tasks in at least 2 files of ${tasks[t]!.repo}`);
}

export async function runEval(options: EvalOptions): Promise<{ summaries: ModeSummary[]; results: TaskResult[] }> {
  const { engine, modes, ablation } = options;
  const results: TaskResult[] = [];
  const total = options.tasks.length * modes.length;
  const groups = [...groupByRepo(options.tasks)];
  if (ablation === "foreign" && groups.length < 2)
    throw new Error("the foreign ablation needs tasks from at least 2 repositories");
  // Every repository is indexed before the first task: the foreign ablation retrieves from another one.
  const caches = new Map<string, HefCache>();
  for (const [repo] of groups) {
    const work = join(options.workDir, "repos", repo);
    cpSync(join(options.reposDir, repo), work, {
      recursive: true,
      filter: (path) => !path.split(/[\\/]/).includes(".git"),
    });
    const cache = await engine.openRepository(work, {
      cacheDir: join(options.workDir, "caches", repo),
      ...(options.log ? { log: options.log } : {}),
    });
    await cache.sync();
    caches.set(repo, cache);
  }
  for (const [g, [repo, tasks]] of groups.entries()) {
    const source = join(options.reposDir, repo);
    const work = join(options.workDir, "repos", repo);
    const cache = caches.get(repo)!;
    let previous: string | undefined;
    for (const [t, task] of tasks.entries()) {
      const original = readFileSync(join(source, task.path), "utf8");
      if (previous !== undefined && previous !== task.path) {
        writeFileSync(join(work, previous), readFileSync(join(source, previous)));
      }
      writeFileSync(join(work, task.path), futureExcluded(original, task.lineNo));
      await cache.refresh(previous !== undefined && previous !== task.path ? [previous, task.path] : [task.path]);
      previous = task.path;
      const ablated: Pick<CompletionRequest, "retrieval" | "zeroPseudoTokens"> =
        ablation === "shuffled"
          ? { retrieval: { prefix: otherFilePrompt(tasks, t) } }
          : ablation === "foreign"
            ? { retrieval: { cache: caches.get(groups[(g + 1) % groups.length]![0])! } }
            : ablation === "zeroed"
              ? { zeroPseudoTokens: true }
              : {};
      for (const mode of modes) {
        if (options.cold) await engine.resetCaches();
        const result = await engine.complete(cache, {
          path: task.path,
          prefix: task.prompt,
          suffix: "",
          mode,
          ...(options.k !== undefined ? { k: options.k } : {}),
          ...(options.ragBudget !== undefined ? { ragBudget: options.ragBudget } : {}),
          singleLine: true,
          entities: options.entities ?? false,
          // Each task is a cold query for retrieval (the previous task's nodes must not be kept); the KV cache may stay warm.
          retrievalMemory: false,
          ...ablated,
        });
        results.push({
          taskId: task.taskId,
          mode,
          prediction: result.text,
          groundTruth: task.groundTruth,
          latencyMs: result.timings.total,
          inputTokens: result.promptTokens + result.pseudoTokens,
          exactMatch: exactMatch(result.text, task.groundTruth),
          editSimilarity: editSimilarity(result.text, task.groundTruth),
          nodes: result.nodes.map(({ level, spans }) => ({ level, spans })),
          entityNames: result.entityNames,
          prefixChars: result.prefixChars,
        });
        options.progress?.(results.length, total);
      }
    }
  }
  return { summaries: aggregateByMode(results), results };
}
