import { posix } from "node:path";

/**
 * The order a large index run reads files in, and how many it takes before it commits: what the
 * user looks at first, so that completions in a big workspace have their neighbourhood within
 * seconds instead of after the whole tree (14 minutes for the Python standard library).
 */

/** 0: a focused file; 1: in a focused file's directory; 2: under the same top-level directory; 3: elsewhere. */
export function focusRank(path: string, focus: ReadonlySet<string>): number {
  if (focus.has(path)) return 0;
  const dir = posix.dirname(path);
  const top = path.split("/")[0];
  let rank = 3;
  for (const focused of focus) {
    if (posix.dirname(focused) === dir) return 1;
    if (focused.includes("/") && focused.split("/")[0] === top) rank = 2;
  }
  return rank;
}

/** The paths, focused ones and their neighbours first; otherwise in the order given (a stable sort). */
export function byFocus(paths: readonly string[], focus: ReadonlySet<string>): string[] {
  if (focus.size === 0) return [...paths];
  return paths
    .map((path, i) => ({ path, i, rank: focusRank(path, focus) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map(({ path }) => path);
}

export const FIRST_BATCH_FILES = 16;
const MIN_BATCH_FILES = 4;
const MAX_BATCH_FILES = 1024;

/**
 * How many files the next batch takes so that it lasts about `targetMs`: the last batch's pace
 * says how long a file takes here (cached vectors make files cheap, new ones cost embedding).
 */
export function nextBatchFiles(lastFiles: number, lastMs: number, targetMs: number): number {
  const perFile = Math.max(lastMs, 1) / Math.max(lastFiles, 1);
  return Math.min(MAX_BATCH_FILES, Math.max(MIN_BATCH_FILES, Math.round(targetMs / perFile)));
}
