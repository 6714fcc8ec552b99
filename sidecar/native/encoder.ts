// TypeScript side of the addon's Encoder (sidecar/native/encoder.cpp): a llama.cpp model run for
// its final hidden states. Two uses:
//  - the incremental query embedder: consecutive query windows share most of their tokens, and
//    embedTokens decodes only what follows the prefix the previous call left in the KV cache;
//  - the learned fuser's transformer (paper 3.3): lastHidden runs many short sequences of input
//    vectors at once and returns each one's state at its last position.
import { inspectModelFile } from "../models/modelFile";
import { contextDefaults, loadNativeAddon, presentTokens } from "./addon";
import type { SpecialTokens } from "./generator";

export interface EncoderLoadOptions {
  /**
   * embedder: an embedding GGUF (it must declare a pooling type; embedTokens pools by it).
   * hidden: any llama.cpp model, e.g. a Qwen2 generator GGUF as the fuser transformer (lastHidden).
   */
  purpose?: "embedder" | "hidden";
  /** CPU threads (default: by model size, see defaultThreads). */
  threads?: number;
  /** Layers to offload to a GPU backend, -1 = all (default). */
  gpuLayers?: number;
  /** KV cache positions, shared by all sequences of a lastHidden pack; default 2048. */
  contextSize?: number;
  /** Rows per llama_decode (default 512, at most contextSize): the longest input and the largest lastHidden pack. */
  batchSize?: number;
  /** Sequences one lastHidden pack may hold (default 1 for an embedder, 64 for hidden; llama.cpp allows 256). */
  maxSequences?: number;
  /** K/V in F32 and no flash attention (its CPU kernel rounds through F16): slower, but within 1e-6 of a float64 reference instead of 1e-3. */
  f32Cache?: boolean;
  backendDir?: string;
}

export type PoolingName = "none" | "mean" | "cls" | "last" | "rank";

export interface EncoderModelInfo {
  path: string;
  architecture: string;
  /** Hidden size, floats per input row of lastHidden (nEmbdInp) and per output vector (nEmbdOut). */
  nEmbd: number;
  nEmbdInp: number;
  nEmbdOut: number;
  nVocab: number;
  nCtx: number;
  nCtxTrain: number;
  nLayer: number;
  nBatch: number;
  maxSequences: number;
  threads: number;
  /** The model's own pooling (GGUF {arch}.pooling_type), which embedTokens applies. */
  pooling: PoolingName;
  /** False for bidirectional encoders: embedTokens then reuses nothing. */
  causal: boolean;
  /**
   * embedTokens takes token ids as they are: whoever builds them adds tokens.bos first when addBos
   * and tokens.eos last when addEos, as node-llama-cpp and tokenize(text, true) do for a text.
   */
  addBos: boolean;
  addEos: boolean;
  description: string;
  backendDir: string;
  devices: string[];
  tokens: SpecialTokens;
}

export interface EmbedResult {
  /** The pooled final hidden state, not normalized. */
  vector: Float32Array;
  /** Leading tokens whose KV cache and hidden states came from the previous call, and tokens decoded now. */
  reused: number;
  decoded: number;
  ms: number;
}

export type RawEncoderLoadOptions = Required<Omit<EncoderLoadOptions, "purpose" | "backendDir">> & { backendDir?: string };

/** The addon's Encoder object, as NativeEncoder drives it. */
export interface RawEncoder {
  info(): Omit<EncoderModelInfo, "path" | "architecture" | "tokens"> & { tokens: Record<keyof SpecialTokens, number> };
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array | readonly number[], removeSpecial: boolean, unparseSpecial: boolean): string;
  embedTokens(tokens: Int32Array): Promise<EmbedResult>;
  lastHidden(inputs: Float32Array, lengths: Int32Array): Promise<Float32Array>;
  resetCache(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * One model with one context. Calls run one at a time in call order on libuv's thread pool; the
 * arrays passed in are copied when the call is made. embedTokens and lastHidden share the context:
 * a lastHidden call empties the cache embedTokens would reuse, so give each use its own encoder.
 */
export class NativeEncoder {
  private disposed = false;

  private constructor(
    private readonly raw: RawEncoder,
    readonly info: EncoderModelInfo,
  ) {}

  /** Checks the file (ModelFileError for a missing, truncated or foreign file), then loads it. */
  static async load(modelPath: string, options: EncoderLoadOptions = {}): Promise<NativeEncoder> {
    const purpose = options.purpose ?? "embedder";
    const file = await inspectModelFile(modelPath, purpose === "embedder" ? "embedder" : "fuser");
    const raw = await loadNativeAddon().loadEncoder(modelPath, {
      ...contextDefaults(modelPath, options),
      maxSequences: options.maxSequences ?? (purpose === "embedder" ? 1 : 64),
      f32Cache: options.f32Cache ?? false,
    });
    const rawInfo = raw.info();
    return new NativeEncoder(raw, { ...rawInfo, path: modelPath, architecture: file.architecture, tokens: presentTokens(rawInfo.tokens) });
  }

  tokenize(text: string, addSpecial = false, parseSpecial = false): Int32Array {
    this.check();
    return this.raw.tokenize(text, addSpecial, parseSpecial);
  }

  detokenize(tokens: Int32Array | readonly number[], options: { removeSpecial?: boolean; unparseSpecial?: boolean } = {}): string {
    this.check();
    return this.raw.detokenize(tokens, options.removeSpecial ?? false, options.unparseSpecial ?? false);
  }

  /** The model's pooled embedding of exactly these tokens (special tokens included only if the caller added them). */
  async embedTokens(tokens: Int32Array | readonly number[]): Promise<EmbedResult> {
    this.check();
    return this.raw.embedTokens(Int32Array.from(tokens));
  }

  /**
   * Sequence i is the next lengths[i] rows of `inputs` (nEmbdInp floats each), at positions
   * 0..lengths[i]-1 with causal attention inside the sequence only. Returns lengths.length x
   * nEmbdOut floats: each sequence's final hidden state (after the output norm) at its last row.
   */
  async lastHidden(inputs: Float32Array, lengths: Int32Array | readonly number[]): Promise<Float32Array> {
    this.check();
    return this.raw.lastHidden(inputs.slice(), Int32Array.from(lengths));
  }

  /** Forgets the cached positions: the next embedTokens decodes its whole input. */
  resetCache(): Promise<void> {
    this.check();
    return this.raw.resetCache();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.raw.dispose();
  }

  private check(): void {
    if (this.disposed) throw new Error("the encoder has been disposed");
  }
}
