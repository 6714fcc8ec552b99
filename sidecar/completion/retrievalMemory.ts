// Stable pseudo-tokens across keystrokes (issue 16). Pseudo-tokens sit at the head of the prompt:
// when the retrieved set changes, every position behind them is decoded again (1,120 positions,
// 5.2 s on a 0.5B-shape generator, for three typed characters). The query window ends at the
// cursor, so a typed character moves the query vector a little and the top K can swap a node or
// two without the context having really changed. The rules here: keystrokes within one line keep
// the nodes retrieved for that line without a query; a request on another line, or after the text
// before the line changed (Enter, an edit above, a paste), retrieves again, but keeps the remembered
// nodes unless the new top K really moved (hysteresis): the next line of the same function should
// not pay for the pseudo-token block again. Pure: plain data in, a decision out.
import { createHash } from "node:crypto";
import type { HNode } from "../cache/hierarchy";
import type { RetrievedNode } from "../cache/retrieval";
import type { CompletionMode } from "./types";

/** What a retrieval was asked for; equal keys may share retrieved nodes. */
export interface RetrievalKey {
  path: string;
  mode: CompletionMode;
  k: number;
  /** Digest of the prefix up to the start of the cursor's line (the text the user is not typing in). */
  beforeLine: string;
}

/** The last retrieval of one cache: its key and the nodes it gave, best first. */
export interface RememberedRetrieval {
  key: RetrievalKey;
  nodes: readonly RetrievedNode[];
}

export type RetrievalDecision =
  | { reuse: true; nodes: RetrievedNode[] }
  | {
      reuse: false;
      /**
       * first: nothing remembered; query: another path, mode or k; moved: the text before the
       * cursor's line changed (a new line, an edit above it, another line); removed: a remembered
       * node is no longer in the cache (a refresh replaced it); short: it gave fewer than k nodes,
       * so the cache was smaller than k (a first index still adding files), and may have grown.
       */
      reason: "first" | "query" | "moved" | "removed" | "short";
      /** moved only: the remembered nodes, read again from the cache, to keep if the new top K overlaps them enough (keepRetrieved). */
      kept?: RetrievedNode[];
    };

/**
 * Share of the remembered nodes that must be in the new top K for them to be kept. The new line's
 * query swaps a few nodes (shop sample, k 6: 5 of 6 stay on Enter) where another file's text keeps
 * fewer than half (test/completion/engine.test.ts); each new line compares with the kept set, so a
 * cursor that drifts away replaces it once half of it has left the top K.
 */
export const MIN_OVERLAP = 0.5;

/** The prefix up to the start of the cursor's line: all of it but what is typed on the current line. */
export function textBeforeLine(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf("\n") + 1);
}

export function retrievalKey(request: { path: string; mode: CompletionMode; k: number; prefix: string }): RetrievalKey {
  return {
    path: request.path,
    mode: request.mode,
    k: request.k,
    beforeLine: createHash("sha256").update(textBeforeLine(request.prefix)).digest("base64"),
  };
}

/**
 * Reuse the remembered nodes when the key is the same (same path, mode and k, and the text before
 * the cursor's line unchanged: the user typed within the line), it gave all k nodes and every
 * node is still in the cache; when only the text before the line differs, offer them as kept, for
 * keepRetrieved to weigh against a fresh retrieval. Each node is read again from the cache (a node
 * keeps its id while its spans can move, e.g. a chunk whose file gained lines above it), keeping
 * its remembered score.
 */
export function decideRetrieval(
  memory: RememberedRetrieval | undefined,
  key: RetrievalKey,
  nodeOf: (id: string) => Pick<HNode, "level" | "partial" | "path" | "spans"> | undefined,
): RetrievalDecision {
  if (!memory) return { reuse: false, reason: "first" };
  const was = memory.key;
  if (was.path !== key.path || was.mode !== key.mode || was.k !== key.k) return { reuse: false, reason: "query" };
  if (memory.nodes.length < key.k) return { reuse: false, reason: "short" };
  const nodes: RetrievedNode[] = [];
  for (const remembered of memory.nodes) {
    const node = nodeOf(remembered.id);
    if (!node) return { reuse: false, reason: "removed" };
    nodes.push({
      id: remembered.id,
      level: node.level,
      partial: node.partial,
      path: node.path,
      spans: node.spans,
      score: remembered.score,
    });
  }
  if (was.beforeLine !== key.beforeLine) return { reuse: false, reason: "moved", kept: nodes };
  return { reuse: true, nodes };
}

/**
 * After a fresh retrieval on a moved line: keep the remembered nodes when at least minOverlap of
 * them are in the new top K (the query moved a little), else take the new ones (it really moved).
 * All or nothing: a partial swap would change pseudo-tokens, and after the first changed one the
 * generator decodes the whole prompt again (native/generator.cpp), so it would save at most the K
 * pseudo-token positions before it while showing the generator orders that training never does
 * (pseudoTokens.ts).
 */
export function keepRetrieved(
  kept: readonly RetrievedNode[],
  fresh: readonly RetrievedNode[],
  minOverlap = MIN_OVERLAP,
): boolean {
  if (kept.length === 0) return false;
  const freshIds = new Set(fresh.map((node) => node.id));
  return kept.filter((node) => freshIds.has(node.id)).length >= minOverlap * kept.length;
}
