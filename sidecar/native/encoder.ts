// TypeScript side of the addon's Encoder (sidecar/native/encoder.cpp): a llama.cpp model run for
// its final hidden states. Three uses:
//  - the incremental query embedder: consecutive query windows share most of their tokens, and
//    embedTokens decodes only what follows the prefix the previous call left in the KV cache;
//  - the chunk embedder (models/embedder.ts): embedChunk embeds one input on a second context of
//    the same model, so that indexing leaves the query window's cache alone;
//  - the learned fuser's transformer (paper 3.3): lastHidden runs many short sequences of input
//    vectors at once and returns each one's state at its last position.
import { inspectModelFile } from "../models/modelFile";
import { contextDefaults, loadNativeAddon, presentTokens } from "./addon";
import type { EmbedResult, RawEncoder, RawEncoderInfo, SpecialTokens } from "./addonTypes";
import { ModelHandle } from "./modelHandle";

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
  /**
   * KV cache positions (default 2048): for hidden, shared by all sequences of a lastHidden pack; for
   * an embedder, nCtx / maxSequences for each slot's query window.
   */
  contextSize?: number;
  /** Rows per llama_decode (default 512, at most contextSize): the longest input and the largest lastHidden pack. */
  batchSize?: number;
  /** Sequences one lastHidden pack may hold, or an embedder's slots (default 1 for an embedder, 64 for hidden; llama.cpp allows 256). */
  maxSequences?: number;
  /** K/V in F32 and no flash attention (its CPU kernel rounds through F16): slower, but within 1e-6 of a float64 reference instead of 1e-3. */
  f32Cache?: boolean;
  /** Positions of a second context on the same model for embedChunk (its longest input); default 0: none. */
  chunkContext?: number;
  backendDir?: string;
}

/**
 * embedTokens takes token ids as they are: whoever builds them adds tokens.bos first when addBos
 * and tokens.eos last when addEos, as node-llama-cpp and tokenize(text, true) do for a text.
 */
export interface EncoderModelInfo extends Omit<RawEncoderInfo, "tokens"> {
  path: string;
  architecture: string;
  /** general.name of the GGUF, when it has one. */
  name?: string;
  tokens: SpecialTokens;
}

/**
 * One model with one context (two with chunkContext). Calls run one at a time in call order on
 * libuv's thread pool; the arrays passed in are copied when the call is made. embedTokens and lastHidden share the context:
 * a lastHidden call empties the cache embedTokens would reuse, so give each use its own encoder.
 */
export class NativeEncoder extends ModelHandle<RawEncoder> {
  private constructor(
    raw: RawEncoder,
    readonly info: EncoderModelInfo,
  ) {
    super(raw, "encoder");
  }

  /** Checks the file (ModelFileError for a missing, truncated or foreign file), then loads it. */
  static async load(modelPath: string, options: EncoderLoadOptions = {}): Promise<NativeEncoder> {
    const purpose = options.purpose ?? "embedder";
    const file = await inspectModelFile(modelPath, purpose === "embedder" ? "embedder" : "fuser");
    const raw = await loadNativeAddon().loadEncoder(modelPath, {
      ...contextDefaults(modelPath, options),
      maxSequences: options.maxSequences ?? (purpose === "embedder" ? 1 : 64),
      f32Cache: options.f32Cache ?? false,
      chunkContext: options.chunkContext ?? 0,
      unifiedCache: purpose !== "embedder",
    });
    const rawInfo = raw.info();
    return new NativeEncoder(raw, {
      ...rawInfo,
      path: modelPath,
      architecture: file.architecture,
      ...(file.name !== undefined ? { name: file.name } : {}),
      tokens: presentTokens(rawInfo.tokens),
    });
  }

  /**
   * The model's pooled embedding of exactly these tokens (special tokens included only if the caller
   * added them), reusing what the slot's previous call cached (one slot per document: up to
   * maxSequences kept, the least recently used giving way; each has contextSize / maxSequences positions).
   */
  async embedTokens(tokens: Int32Array | readonly number[], slot = ""): Promise<EmbedResult> {
    this.check();
    const copy = Int32Array.from(tokens);
    return this.queue.run(() => this.raw.embedTokens(copy, slot));
  }

  /**
   * The pooled embedding of exactly these tokens on the chunk context (chunkContext at load),
   * decoded whole: embedTokens' cache stays as it was.
   */
  async embedChunk(tokens: Int32Array | readonly number[]): Promise<EmbedResult> {
    this.check();
    const copy = Int32Array.from(tokens);
    return this.queue.run(() => this.raw.embedChunk(copy));
  }

  /**
   * Sequence i is the next lengths[i] rows of `inputs` (nEmbdInp floats each), at positions
   * 0..lengths[i]-1 with causal attention inside the sequence only. Returns lengths.length x
   * nEmbdOut floats: each sequence's final hidden state (after the output norm) at its last row.
   */
  async lastHidden(inputs: Float32Array, lengths: Int32Array | readonly number[]): Promise<Float32Array> {
    this.check();
    const rows = inputs.slice();
    const counts = Int32Array.from(lengths);
    return this.queue.run(() => this.raw.lastHidden(rows, counts));
  }

  /** Forgets the slot's cached positions, or every slot's: the next embedTokens there decodes its whole input. */
  resetCache(slot?: string): Promise<void> {
    this.check();
    return this.queue.run(() => (slot === undefined ? this.raw.resetCache() : this.raw.resetCache(slot)));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.run(() => this.raw.dispose());
  }
}
