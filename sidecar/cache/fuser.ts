/**
 * Fuses groups of child vectors into parent vectors (paper section 3.3). The cache only sees this
 * interface: the training-free mean fuser here, the learned transformer fuser behind it later.
 * Batched and async because a learned fuser runs a model over many groups at once.
 */
export interface Fuser {
  /** Names the fuser and its weights: a cache built with another id must be rebuilt. */
  readonly id: string;
  fuse(groups: readonly (readonly Float32Array[])[]): Promise<Float32Array[]>;
}

export function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm === 0) return vector;
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
  return out;
}

/** The normalised mean of the (normalised) children: the baseline the paper's learned fuser improves on. */
export class MeanFuser implements Fuser {
  readonly id = "mean-v1";

  async fuse(groups: readonly (readonly Float32Array[])[]): Promise<Float32Array[]> {
    return groups.map((children) => {
      const first = children[0];
      if (!first) throw new Error("cannot fuse an empty group");
      const sum = new Float64Array(first.length);
      for (const child of children) {
        if (child.length !== sum.length) {
          throw new Error(`cannot fuse vectors of dimension ${child.length} and ${sum.length}`);
        }
        const unit = l2Normalize(child);
        for (let i = 0; i < sum.length; i++) sum[i]! += unit[i]!;
      }
      return l2Normalize(Float32Array.from(sum));
    });
  }
}
