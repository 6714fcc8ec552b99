// Paper Algorithm 2, line 3: P = projector(Z), with the order and bit-exactness the generator's KV
// cache needs. Pseudo-tokens sit at the head of the prompt, so any change among them invalidates
// every position behind; the same retrieved set must therefore give the same vectors in the same
// order, whatever the scores did between two keystrokes.
import type { RetrievedNode } from "../cache/retrieval";

const LEVEL_ORDER = { repo: 0, module: 1, file: 2, chunk: 3 } as const;

/**
 * Coarse to fine (repo, module, file, chunk), then by path and first line: an order that depends on
 * which nodes were retrieved, not on their scores. Training must present pseudo-tokens in this order too.
 *
 * A "stable merge" (nodes that stay keep their slots, new ones take the freed slots) would not pay:
 * the prompt comes after the pseudo-tokens, so a changed slot invalidates the whole prompt behind it
 * whichever slot it is, and the most a merge keeps is the K pseudo-token positions before the first
 * change (at most 32 of the ~1,000 a request decodes); and the generator would then see orders that
 * depend on the history of the retrievals, which training (the same sort, hierarchy.py) never shows
 * it. Keystrokes avoid the change altogether instead: retrievalMemory.ts keeps the set within a line,
 * and across lines unless the new top K really moved.
 */
export function pseudoTokenOrder(nodes: readonly RetrievedNode[]): RetrievedNode[] {
  const firstLine = (node: RetrievedNode): number => node.spans[0]?.startLine ?? 0;
  return [...nodes].sort(
    (a, b) =>
      LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
      firstLine(a) - firstLine(b) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

export type Project = (vectors: Float32Array, rows: number) => Promise<Float32Array>;

/**
 * Projected pseudo-tokens by node id. A node id is a hash of the node's inputs, so a cached
 * projection stays valid until the node itself changes; only nodes not seen before are projected.
 */
export class PseudoTokenCache {
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    private readonly project: Project,
    /** The embedder's d and the generator's d_g. */
    private readonly inputDim: number,
    private readonly outputDim: number,
    private readonly capacity = 8192,
  ) {}

  /** K x d_g floats for these nodes, in the given order. */
  async pseudoTokens(ids: readonly string[], vectorOf: (id: string) => Float32Array): Promise<Float32Array> {
    const missing = [...new Set(ids.filter((id) => !this.cache.has(id)))];
    if (missing.length > 0) {
      const input = new Float32Array(missing.length * this.inputDim);
      missing.forEach((id, row) => input.set(vectorOf(id), row * this.inputDim));
      const output = await this.project(input, missing.length);
      missing.forEach((id, row) => this.remember(id, output.slice(row * this.outputDim, (row + 1) * this.outputDim)));
    }
    const out = new Float32Array(ids.length * this.outputDim);
    ids.forEach((id, row) => {
      const vector = this.cache.get(id)!;
      // Refresh recency: a Map iterates in insertion order, so the oldest entry is evicted first.
      this.cache.delete(id);
      this.cache.set(id, vector);
      out.set(vector, row * this.outputDim);
    });
    return out;
  }

  clear(): void {
    this.cache.clear();
  }

  private remember(id: string, vector: Float32Array): void {
    this.cache.set(id, vector);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
  }
}
