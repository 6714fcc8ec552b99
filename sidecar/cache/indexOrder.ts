import { posix } from "node:path";

/**
 * The order a large index run reads files in, and how many it takes before it commits: what the
 * user looks at first, so that completions in a big workspace have their neighbourhood within
 * seconds instead of after the whole tree (14 minutes for the Python standard library).
 */

/** What the user looks at: the files in view, and those they probably import (imports.ts). Paths relative to the root. */
export interface Focus {
  inView: ReadonlySet<string>;
  imported: ReadonlySet<string>;
}

export const NO_FOCUS: Focus = { inView: new Set(), imported: new Set() };

/** 0: in view; 1: imported by a file in view; 2: in a viewed file's directory; 3: under the same top-level directory; 4: elsewhere. */
export function focusRank(path: string, focus: Focus): number {
  if (focus.inView.has(path)) return 0;
  if (focus.imported.has(path)) return 1;
  const dir = posix.dirname(path);
  const top = path.split("/")[0];
  let rank = 4;
  for (const viewed of focus.inView) {
    if (posix.dirname(viewed) === dir) return 2;
    if (viewed.includes("/") && viewed.split("/")[0] === top) rank = 3;
  }
  return rank;
}

/** The paths, those in view and their neighbours first; otherwise in the order given (a stable sort). */
export function byFocus(paths: readonly string[], focus: Focus): string[] {
  if (focus.inView.size === 0 && focus.imported.size === 0) return [...paths];
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
