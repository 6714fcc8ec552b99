// TypeScript side of the addon's Adapter (sidecar/native/adapter.cpp): the trained HEF adapter's
// maps run with ggml on the generator's device, so the K pseudo-tokens of a completion are
// computed where they are consumed, without a float64 detour through JavaScript. The file format
// is sidecar/adapter/adapterFormat.ts.
import { statSync } from "node:fs";
import { defaultThreads } from "../models/llamaRuntime";
import { loadNativeAddon } from "./addon";
import type { RawAdapter, RawAdapterInfo } from "./addonTypes";

export interface AdapterOpsOptions {
  /** gpu (default): the first GPU device when one is loaded, else the CPU; cpu: always the CPU. */
  backend?: "gpu" | "cpu";
  /** CPU threads for the CPU backend (default: by file size, see defaultThreads; ggml's own 4 oversubscribe small machines badly). */
  threads?: number;
  backendDir?: string;
}

export interface AdapterOpsInfo extends RawAdapterInfo {
  path: string;
}

/** All inputs and outputs are row-major, `rows` rows; every call is one ggml graph, synchronous. */
export class AdapterOps {
  private constructor(
    private readonly raw: RawAdapter,
    readonly info: AdapterOpsInfo,
  ) {}

  /**
   * Rejects with "<path>: <problem>" for a missing, truncated or foreign file, a missing tensor,
   * or a tensor whose shape does not fit the others.
   */
  static async load(path: string, options: AdapterOpsOptions = {}): Promise<AdapterOps> {
    const raw = await loadNativeAddon().loadAdapter(path, {
      gpu: (options.backend ?? "gpu") === "gpu",
      // A missing file is reported by the addon, with the others.
      threads: options.threads ?? defaultThreads(statSync(path, { throwIfNoEntry: false })?.size ?? 0),
      ...(options.backendDir ? { backendDir: options.backendDir } : {}),
    });
    return new AdapterOps(raw, { ...raw.info(), path });
  }

  /** The projector (paper 3.5): rows x d in, rows x dG out: W2 · GELU(W1 · z + b1) + b2. */
  project(z: Float32Array, rows: number): Float32Array {
    return this.raw.project(z, rows);
  }

  /** The fuser's input map (paper 3.3): rows x d in, rows x dF out: W_in · x + b_in. */
  fuserIn(x: Float32Array, rows: number): Float32Array {
    return this.raw.fuserIn(x, rows);
  }

  /** The fuser's output map: rows x dF in, rows x d out: W_out · h. */
  fuserOut(h: Float32Array, rows: number): Float32Array {
    return this.raw.fuserOut(h, rows);
  }

  dispose(): void {
    this.raw.dispose();
  }
}
