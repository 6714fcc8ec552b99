// TypeScript side of the addon's Generator (sidecar/native/generator.cpp): a llama.cpp code
// generator whose prompt may start with pseudo-tokens (vectors of n_embd floats fed in place of
// token embeddings), with the KV cache kept between requests.
import { inspectModelFile } from "../models/modelFile";
import { contextDefaults, loadNativeAddon, presentTokens } from "./addon";

export { NATIVE_BUILD_COMMAND, NativeAddonError, type NativeAddon, loadNativeAddon, nativeAddonPath } from "./addon";

export interface GeneratorLoadOptions {
  /** CPU threads for decoding (default: by model size, see defaultThreads). */
  threads?: number;
  /** Layers to offload to a GPU backend, -1 = all (default); irrelevant for a CPU-only build. */
  gpuLayers?: number;
  /** KV cache size in positions (pseudo-tokens + tokens + generated tokens); default 2048. */
  contextSize?: number;
  /** Positions per llama_decode call during prefill (default 512, at most contextSize). */
  batchSize?: number;
  /** Folder to load ggml backends from; default: the folder of the libllama the addon was linked to. */
  backendDir?: string;
}

export interface SpecialTokens {
  bos?: number;
  eos?: number;
  eot?: number;
  sep?: number;
  pad?: number;
  fimPre?: number;
  fimSuf?: number;
  fimMid?: number;
  fimPad?: number;
  fimRep?: number;
  fimSep?: number;
}

export interface GeneratorModelInfo {
  path: string;
  architecture: string;
  /** Hidden size; a pseudo-token has nEmbdInp floats (equal to nEmbd for Qwen2-style models). */
  nEmbd: number;
  nEmbdInp: number;
  nVocab: number;
  nCtx: number;
  nCtxTrain: number;
  nLayer: number;
  nBatch: number;
  threads: number;
  /** Whether the model's tokenizer adds BOS / EOS around a text (tokenize's addSpecial). */
  addBos: boolean;
  addEos: boolean;
  description: string;
  /** Folder the ggml backends were loaded from, and the devices they offer. */
  backendDir: string;
  devices: string[];
  tokens: SpecialTokens;
}

export interface EvaluateRequest {
  /** K pseudo-tokens, K x nEmbdInp floats row-major; positions 0..K-1. */
  pseudo?: Float32Array;
  /** Token ids at positions K..K+T-1. */
  tokens?: Int32Array | readonly number[];
  /** Caller-chosen id for cancel(); one is assigned when absent. */
  requestId?: number;
  signal?: AbortSignal;
}

export interface EvaluateResult {
  /** Logits of the last position (nVocab floats). */
  logits: Float32Array;
  /** Positions taken from the KV cache of the previous request, and positions decoded now. */
  reused: number;
  decoded: number;
  prefillMs: number;
}

export interface GenerateRequest extends EvaluateRequest {
  /** Default 128. */
  maxTokens?: number;
  /**
   * Text-level stop strings; the first one found after the output's first non-blank character
   * ends the output and is cut from it (leading blank lines never stop it).
   */
  stop?: readonly string[];
  /** Stop after the token that passes this many ms since the request started executing (prefill included); 0 = none. */
  timeLimitMs?: number;
  /** Keep going through end-of-generation tokens (fixed-length runs: benchmarks, random-weight models). */
  ignoreEog?: boolean;
}

/**
 * eog: the model produced an end-of-generation token; stop: a stop string; maxTokens; time: the
 * time limit; cancelled: cancel() or the AbortSignal; context: the KV cache is full.
 */
export type StopReason = "eog" | "stop" | "maxTokens" | "time" | "cancelled" | "context";

export interface GenerateResult {
  text: string;
  /** Generated token ids (the end-of-generation token excluded). */
  tokens: Int32Array;
  tokenCount: number;
  reused: number;
  decoded: number;
  stopReason: StopReason;
  timings: { prefillMs: number; decodeMs: number; totalMs: number };
}

// --- the raw addon --------------------------------------------------------------------------------

/** The addon's Generator object, as NativeGenerator drives it. */
export interface RawGenerator {
  info(): Omit<GeneratorModelInfo, "path" | "architecture" | "tokens"> & { tokens: Record<keyof SpecialTokens, number> };
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array | readonly number[], removeSpecial: boolean, unparseSpecial: boolean): string;
  tokenEmbeddingRows(ids: Int32Array | readonly number[]): Promise<Float32Array>;
  evaluate(
    request: { pseudo?: Float32Array; tokens?: Int32Array | readonly number[] },
    requestId: number,
  ): Promise<{ logits: Float32Array; reused: number; decoded: number; prefillMs: number; cancelled: boolean }>;
  generate(
    request: {
      pseudo?: Float32Array;
      tokens?: Int32Array | readonly number[];
      maxTokens: number;
      stop: readonly string[];
      timeLimitMs: number;
      ignoreEog: boolean;
    },
    requestId: number,
  ): Promise<Omit<GenerateResult, "timings"> & { prefillMs: number; decodeMs: number }>;
  cancel(requestId: number): boolean;
  resetCache(): Promise<void>;
  dispose(): Promise<void>;
}

// --- the wrapper ----------------------------------------------------------------------------------

function abortError(): Error {
  const error = new Error("the request was cancelled");
  error.name = "AbortError";
  return error;
}

/** Copies of the request's arrays, taken when the request is made (it may run later). */
function snapshot(request: EvaluateRequest): { pseudo?: Float32Array; tokens?: Int32Array } {
  return {
    ...(request.pseudo ? { pseudo: request.pseudo.slice() } : {}),
    ...(request.tokens ? { tokens: Int32Array.from(request.tokens) } : {}),
  };
}

let nextRequestId = 1;

/**
 * One generator model with one context. Requests run one at a time in call order (evaluate,
 * generate and resetCache are queued; the native side also holds a lock per handle); decoding
 * runs on libuv's thread pool, off the event loop.
 */
export class NativeGenerator {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly running = new Set<number>();
  private readonly pending = new Set<number>();
  private readonly cancelledBeforeStart = new Set<number>();
  private disposed = false;

  private constructor(
    private readonly raw: RawGenerator,
    readonly info: GeneratorModelInfo,
  ) {}

  /** Checks the file (ModelFileError for a missing, truncated or foreign file), then loads it. */
  static async load(modelPath: string, options: GeneratorLoadOptions = {}): Promise<NativeGenerator> {
    const file = await inspectModelFile(modelPath, "generator");
    const native = loadNativeAddon();
    const raw = await native.load(modelPath, contextDefaults(modelPath, options));
    const rawInfo = raw.info();
    return new NativeGenerator(raw, { ...rawInfo, path: modelPath, architecture: file.architecture, tokens: presentTokens(rawInfo.tokens) });
  }

  tokenize(text: string, addSpecial = false, parseSpecial = false): Int32Array {
    this.check();
    return this.raw.tokenize(text, addSpecial, parseSpecial);
  }

  detokenize(tokens: Int32Array | readonly number[], options: { removeSpecial?: boolean; unparseSpecial?: boolean } = {}): string {
    this.check();
    return this.raw.detokenize(tokens, options.removeSpecial ?? false, options.unparseSpecial ?? false);
  }

  /** Rows of token_embd.weight, dequantized to float32: ids.length x nEmbdInp. */
  tokenEmbeddingRows(ids: Int32Array | readonly number[]): Promise<Float32Array> {
    this.check();
    return this.raw.tokenEmbeddingRows(ids);
  }

  /**
   * Decodes [pseudo, tokens], reusing the KV cache of the previous request up to the longest
   * common prefix, and returns the logits of the last position. Rejects with an AbortError when
   * cancelled.
   */
  evaluate(request: EvaluateRequest): Promise<EvaluateResult> {
    this.check();
    const id = request.requestId ?? nextRequestId++;
    const payload = snapshot(request);
    return this.enqueue(id, request.signal, async (cancelled) => {
      if (cancelled) throw abortError();
      const result = await this.raw.evaluate(payload, id);
      if (result.cancelled) throw abortError();
      return { logits: result.logits, reused: result.reused, decoded: result.decoded, prefillMs: result.prefillMs };
    });
  }

  /**
   * Greedy generation after [pseudo, tokens]. Never rejects on cancellation: a cancelled request
   * resolves with what it generated so far and stopReason "cancelled".
   */
  generate(request: GenerateRequest): Promise<GenerateResult> {
    this.check();
    const id = request.requestId ?? nextRequestId++;
    const payload = {
      ...snapshot(request),
      maxTokens: request.maxTokens ?? 128,
      stop: request.stop ?? [],
      timeLimitMs: request.timeLimitMs ?? 0,
      ignoreEog: request.ignoreEog ?? false,
    };
    const queued = performance.now();
    return this.enqueue(id, request.signal, async (cancelled) => {
      if (cancelled) {
        return {
          text: "",
          tokens: new Int32Array(0),
          tokenCount: 0,
          reused: 0,
          decoded: 0,
          stopReason: "cancelled" as const,
          timings: { prefillMs: 0, decodeMs: 0, totalMs: performance.now() - queued },
        };
      }
      const started = performance.now();
      const r = await this.raw.generate(payload, id);
      return {
        text: r.text,
        tokens: r.tokens,
        tokenCount: r.tokenCount,
        reused: r.reused,
        decoded: r.decoded,
        stopReason: r.stopReason,
        timings: { prefillMs: r.prefillMs, decodeMs: r.decodeMs, totalMs: performance.now() - started },
      };
    });
  }

  /** Stops the request with this id within one token (or before it starts); false if unknown or finished. */
  cancel(requestId: number): boolean {
    if (this.pending.has(requestId)) {
      this.cancelledBeforeStart.add(requestId);
      return true;
    }
    return this.running.has(requestId) && this.raw.cancel(requestId);
  }

  /** Forgets the KV cache: the next request is decoded from scratch. */
  resetCache(): Promise<void> {
    this.check();
    return this.enqueue(nextRequestId++, undefined, () => this.raw.resetCache());
  }

  /** Cancels running requests and frees the model and context. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of this.pending) this.cancelledBeforeStart.add(id);
    for (const id of this.running) this.raw.cancel(id);
    await this.queue.catch(() => undefined);
    await this.raw.dispose();
  }

  private check(): void {
    if (this.disposed) throw new Error("the generator has been disposed");
  }

  /** Runs `job` after every earlier request; `cancelled` is true when it was cancelled while queued. */
  private enqueue<T>(id: number, signal: AbortSignal | undefined, job: (cancelled: boolean) => Promise<T>): Promise<T> {
    if (this.pending.has(id) || this.running.has(id)) return Promise.reject(new Error(`request id ${id} is already in use`));
    const onAbort = (): void => {
      this.cancel(id);
    };
    this.pending.add(id);
    signal?.addEventListener("abort", onAbort, { once: true });
    const run = async (): Promise<T> => {
      this.pending.delete(id);
      const cancelled = this.cancelledBeforeStart.delete(id) || (signal?.aborted ?? false) || this.disposed;
      this.running.add(id);
      try {
        return await job(cancelled);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.running.delete(id);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
