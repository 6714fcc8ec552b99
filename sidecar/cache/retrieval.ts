import type { HNode, Level, NodeSpan } from "./hierarchy";
import type { IndexHit } from "./nodeIndex";

/** One node the query retrieved, as the CLI, the generator and the side panel see it. */
export interface RetrievedNode {
  id: string;
  level: Level;
  partial: boolean;
  path: string;
  spans: NodeSpan[];
  /** Cosine similarity to the query. */
  score: number;
}

/** Scores closer than this are the same vector stored twice (f16 storage rounds). */
const SAME_SCORE = 1e-4;

/**
 * Picks the top k hits. A parent with a single child (a one-chunk file, a directory holding one
 * file) can carry the very vector of that child; when both are retrieved with the same score the
 * parent adds nothing but a duplicate pseudo-token, so the more specific node is kept.
 */
export function selectHits(
  hits: readonly IndexHit[],
  nodeOf: (id: string) => HNode | undefined,
  k: number,
): RetrievedNode[] {
  const scores = new Map(hits.map((hit) => [hit.id, hit.score]));
  const selected: RetrievedNode[] = [];
  for (const hit of hits) {
    if (selected.length === k) break;
    const node = nodeOf(hit.id);
    if (!node || repeatsOnlyChild(node, hit.score, scores, nodeOf)) continue;
    selected.push({
      id: node.id,
      level: node.level,
      partial: node.partial,
      path: node.path,
      spans: node.spans,
      score: hit.score,
    });
  }
  return selected;
}

function repeatsOnlyChild(
  node: HNode,
  score: number,
  scores: ReadonlyMap<string, number>,
  nodeOf: (id: string) => HNode | undefined,
): boolean {
  let current: HNode | undefined = node;
  while (current && current.children.length === 1) {
    const childId: string = current.children[0]!;
    const childScore = scores.get(childId);
    if (childScore !== undefined && Math.abs(childScore - score) < SAME_SCORE) return true;
    current = nodeOf(childId);
  }
  return false;
}
