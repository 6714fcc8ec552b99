// The learned fuser of paper section 3.3 behind the cache's Fuser interface:
// parent = W_out · Transformer([W_in h_1 + b_in, ..., W_in h_b + b_in])_last.
import { createHash } from "node:crypto";
import type { Fuser } from "../cache/fuser";
import { fingerprintFile } from "../models/embedder";
import type { AdapterOps } from "../native/adapterOps";
import { NativeEncoder } from "../native/encoder";
import type { AdapterInfo } from "./adapter";

/** Groups per native call: enough to fill llama.cpp batches, few enough to bound the buffers. */
const GROUPS_PER_CALL = 64;

/** The fuser borrows the adapter's maps (AdapterOps) from its owner (completion/retriever.ts) and owns its transformer. */
export class LearnedFuser implements Fuser {
  private constructor(
    readonly id: string,
    private readonly ops: AdapterOps,
    private readonly transformer: NativeEncoder,
    private readonly dim: number,
    /** d_f: the transformer's hidden size. */
    readonly hiddenDim: number,
  ) {}

  /** The fuser transformer named by the adapter; the id changes with the adapter's weights or the transformer's. */
  static async load(
    adapter: AdapterInfo,
    ops: AdapterOps,
    options: { gpuLayers?: number } = {},
  ): Promise<LearnedFuser> {
    const fuser = adapter.fuser;
    if (!fuser) throw new Error(`${adapter.path}: the adapter has no learned fuser`);
    // F32 keys and values: a group is at most b positions, and parents then match a float64 reference to 1e-4.
    const transformer = await NativeEncoder.load(fuser.modelPath, {
      purpose: "hidden",
      f32Cache: true,
      ...(options.gpuLayers !== undefined ? { gpuLayers: options.gpuLayers } : {}),
    });
    if (transformer.info.nEmbd !== fuser.dim) {
      await transformer.dispose();
      throw new Error(
        `${adapter.path}: fuser transformer ${fuser.modelPath} has d_f ${transformer.info.nEmbd}, the adapter expects ${fuser.dim}`,
      );
    }
    const id = createHash("sha256")
      .update(fingerprintFile(adapter.path))
      .update(fingerprintFile(fuser.modelPath))
      .digest("hex")
      .slice(0, 16);
    return new LearnedFuser(`learned-${id}`, ops, transformer, adapter.embedder.dim, fuser.dim);
  }

  async fuse(groups: readonly (readonly Float32Array[])[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < groups.length; start += GROUPS_PER_CALL) {
      out.push(...(await this.fuseSome(groups.slice(start, start + GROUPS_PER_CALL))));
    }
    return out;
  }

  private async fuseSome(groups: readonly (readonly Float32Array[])[]): Promise<Float32Array[]> {
    const lengths = Int32Array.from(groups, (children) => children.length);
    const rows = lengths.reduce((a, b) => a + b, 0);
    const input = new Float32Array(rows * this.dim);
    let row = 0;
    for (const children of groups) {
      if (children.length === 0) throw new Error("cannot fuse an empty group");
      for (const child of children) {
        if (child.length !== this.dim)
          throw new Error(`cannot fuse a vector of dimension ${child.length} with a fuser for ${this.dim}`);
        input.set(child, row++ * this.dim);
      }
    }
    const projected = this.ops.fuserIn(input, rows);
    const last = await this.transformer.lastHidden(projected, lengths);
    const parents = this.ops.fuserOut(last, groups.length);
    return groups.map((_, i) => parents.slice(i * this.dim, (i + 1) * this.dim));
  }

  dispose(): Promise<void> {
    return this.transformer.dispose();
  }
}
