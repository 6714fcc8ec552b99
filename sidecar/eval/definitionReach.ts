// Error analysis for cross-file line tasks: did retrieval bring the definitions of the names the gold
// line uses, and at which level of the hierarchy? A chunk holds a definition's text; a file or module
// node only a fused vector of many chunks; a repository node a vector of everything. When hef misses a
// line whose definitions it retrieved as chunks, the generator or the projector is at fault; when
// nothing retrieved covers them, retrieval is.
import type { Level, NodeSpan } from "../cache/hierarchy";

/** Where a repository defines a name: a path relative to its root and a 1-based line. */
export interface DefinitionSite {
  path: string;
  line: number;
}

/** Retrieved nodes as the completion result lists them (the fields this needs). */
export interface ReachedNode {
  level: Level;
  spans: readonly NodeSpan[];
}

/** The finest level at which every name is covered by a retrieved node; "none" when one is not covered at all. */
export type Reach = Level | "none";

const FINE_TO_COARSE: readonly Reach[] = ["chunk", "file", "module", "repo", "none"];

function covers(span: NodeSpan, site: DefinitionSite): boolean {
  const inPath = span.path === "." || span.path === site.path || site.path.startsWith(`${span.path}/`);
  if (!inPath) return false;
  if (span.startLine === undefined || span.endLine === undefined) return true;
  return span.path === site.path && span.startLine <= site.line && site.line <= span.endLine;
}

/**
 * How far down the hierarchy the retrieved nodes reached the definitions of `names` (a name with
 * several definitions is reached by any of them). Names the repository does not define (no sites) are
 * left out; with none left, undefined.
 */
export function definitionReach(
  names: readonly string[],
  sites: ReadonlyMap<string, readonly DefinitionSite[]>,
  nodes: readonly ReachedNode[],
): Reach | undefined {
  const defined = names.filter((name) => (sites.get(name)?.length ?? 0) > 0);
  if (defined.length === 0) return undefined;
  let coarsest = 0;
  for (const name of defined) {
    let finest = FINE_TO_COARSE.length - 1;
    for (const node of nodes) {
      const rank = FINE_TO_COARSE.indexOf(node.level);
      if (rank < finest && node.spans.some((span) => sites.get(name)!.some((site) => covers(span, site))))
        finest = rank;
    }
    coarsest = Math.max(coarsest, finest);
  }
  return FINE_TO_COARSE[coarsest];
}

/** At `level` or finer: "file" counts chunks and file nodes. */
export function reachedAt(reach: Reach, level: Level): boolean {
  return FINE_TO_COARSE.indexOf(reach) <= FINE_TO_COARSE.indexOf(level);
}
