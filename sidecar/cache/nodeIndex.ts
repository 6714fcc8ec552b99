import { Index, MetricKind, ScalarKind } from "usearch";

export type StorageType = "f16" | "f32" | "i8";

const SCALARS: Record<StorageType, ScalarKind> = { f16: ScalarKind.F16, f32: ScalarKind.F32, i8: ScalarKind.I8 };

export interface IndexHit {
  id: string;
  /** Cosine similarity. */
  score: number;
}

/**
 * All nodes of all levels in one usearch HNSW index under cosine distance. Node ids are 16 hex
 * digits, which is exactly a usearch 64-bit key.
 */
export class NodeIndex {
  private index: Index;

  constructor(
    readonly dim: number,
    readonly storage: StorageType = "f16",
  ) {
    this.index = NodeIndex.create(dim, storage);
  }

  private static create(dim: number, storage: StorageType): Index {
    return new Index({
      dimensions: dim,
      metric: MetricKind.Cos,
      quantization: SCALARS[storage],
      connectivity: 16,
      expansion_add: 128,
      expansion_search: 64,
      multi: false,
    });
  }

  get size(): number {
    return this.index.size();
  }

  add(entries: readonly { id: string; vector: Float32Array }[]): void {
    if (entries.length === 0) return;
    const keys = new BigUint64Array(entries.length);
    const matrix = new Float32Array(entries.length * this.dim);
    entries.forEach(({ id, vector }, i) => {
      if (vector.length !== this.dim)
        throw new Error(`node ${id}: vector dimension ${vector.length}, index holds ${this.dim}`);
      keys[i] = BigInt(`0x${id}`);
      matrix.set(vector, i * this.dim);
    });
    this.index.add(keys, matrix, 1);
  }

  remove(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.index.remove(BigUint64Array.from(ids, (id) => BigInt(`0x${id}`)));
  }

  search(vector: Float32Array, k: number): IndexHit[] {
    if (this.size === 0 || k <= 0) return [];
    const matches = this.index.search(vector, Math.min(k, this.size), 1);
    return Array.from(matches.keys, (key, i) => ({
      id: key.toString(16).padStart(16, "0"),
      score: 1 - matches.distances[i]!,
    }));
  }

  save(path: string): void {
    this.index.save(path);
  }

  /**
   * Loads a saved index and checks it holds what the metadata says; usearch itself accepts a file
   * of another dimension silently, so the check is ours. Throws with the reason when it does not.
   */
  static load(path: string, dim: number, storage: StorageType, expectedSize: number): NodeIndex {
    const loaded = new NodeIndex(dim, storage);
    loaded.index.load(path);
    if (loaded.index.dimensions() !== dim) {
      throw new Error(`index has dimension ${loaded.index.dimensions()}, expected ${dim}`);
    }
    if (loaded.size !== expectedSize) throw new Error(`index holds ${loaded.size} nodes, metadata has ${expectedSize}`);
    return loaded;
  }
}
