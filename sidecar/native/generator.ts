// TypeScript side of the addon's Generator (sidecar/native/generator.cpp): a llama.cpp code
// generator whose prompt may start with pseudo-tokens (vectors of n_embd floats fed in place of
// token embeddings), with a KV state per recent slot (document) kept between requests.
import { inspectModelFile } from "../models/modelFile";
import { contextDefaults, loadNativeAddon, presentTokens } from "./addon";
import type { RawGenerateResult, RawGenerator, RawGeneratorInfo, SpecialTokens } from "./addonTypes";
import { ModelHandle } from "./modelHandle";

export interface GeneratorLoadOptions {
  /** CPU threads for decoding (default: by model size, see defaultThreads). */
  threads?: number;
  /** Layers to offload to a GPU backend, -1 = all (default); irrelevant for a CPU-only build. */
  gpuLayers?: number;
  /** KV cache size in positions (pseudo-tokens + tokens + generated tokens); default 2048. */
  contextSize?: number;
  /** Positions per llama_decode call during prefill (default 512, at most contextSize). */
  batchSize?: number;
  /**
   * Shortest run of the previous request's tokens that is moved to where it reappears in the next
   * request instead of decoded again: earlier (a prefix window that slid) or later (characters typed
   * before it: the suffix of a prefix-suffix-middle prompt); 0 = never. Default 16, not llama.vscode's
   * 256: the suffix ([fim_suffix] and up to 256 tokens of whole lines) is 20-260 tokens, and near the end
   * of a file under 64, where decoding it again cost a keystroke 65 positions (`npm run bench:latency`);
   * 16 and 64 gave the same closeness to a cold decode (`npm run bench:complete -- --keystrokes --suffix`).
   * Forced to 0 where the model's cache cannot shift.
   */
  cacheReuse?: number;
  /**
   * KV states kept at once, one per slot (EvaluateRequest.slot), in the one pool of contextSize
   * positions: the least recently used slot gives way when a request needs its positions (default 4).
   */
  sequences?: number;
  /** Folder to load ggml backends from; default: the folder of the libllama the addon was linked to. */
  backendDir?: string;
}

export interface GeneratorModelInfo extends Omit<RawGeneratorInfo, "tokens"> {
  path: string;
  architecture: string;
  tokens: SpecialTokens;
  /**
   * The GGUF declares `hef.fim.spm = true`: the generator was trained with suffix-prefix-middle FIM
   * as well (training/hef_training/prompts.py), so the prompt may put the suffix before the prefix.
   * Models without the key (Qwen2.5-Coder) know prefix-suffix-middle only.
   */
  fimSpm: boolean;
}

export interface EvaluateRequest {
  /** K pseudo-tokens, K x nEmbdInp floats row-major; positions 0..K-1. */
  pseudo?: Float32Array;
  /** Token ids at positions K..K+T-1. */
  tokens?: Int32Array | readonly number[];
  /**
   * Whose KV state to reuse and keep, e.g. the document's path: switching between documents and
   * back reuses each one's own. Requests without one share one slot.
   */
  slot?: string;
  /** Caller-chosen id for cancel(); one is assigned when absent. */
  requestId?: number;
  signal?: AbortSignal;
}

export interface EvaluateResult {
  /** Logits of the last position (nVocab floats). */
  logits: Float32Array;
  /**
   * Positions taken from the KV cache of the previous request (those moved to an earlier position
   * included), and positions decoded now.
   */
  reused: number;
  decoded: number;
  prefillMs: number;
}

export interface GenerateRequest extends EvaluateRequest {
  /** Default 128. */
  maxTokens?: number;
  /**
   * Text-level stop strings; the first one found after the output's first non-blank character
   * ends the output and is cut from it (leading blank lines never stop it). Matched on the
   * output's bytes, so a stop character split over several tokens matches once its last byte comes.
   */
  stop?: readonly string[];
  /** Stop after the token that passes this many ms since the request started executing (prefill included); 0 = none. */
  timeLimitMs?: number;
  /** Keep going through end-of-generation tokens (fixed-length runs: benchmarks, random-weight models). */
  ignoreEog?: boolean;
  /**
   * An end-of-generation token among the first 4 tokens, before the output's first non-blank
   * character, is passed over for the most likely token that writes text (no end, no control token):
   * a line was asked for, and "nothing" is no answer to show.
   */
  eogAfterContent?: boolean;
}

export interface GenerateResult extends Omit<RawGenerateResult, "prefillMs" | "decodeMs"> {
  timings: { prefillMs: number; decodeMs: number; totalMs: number };
}

// --- the wrapper ----------------------------------------------------------------------------------

function abortError(): Error {
  const error = new Error("the request was cancelled");
  error.name = "AbortError";
  return error;
}

/** Copies of the request's arrays, taken when the request is made (it may run later). */
function snapshot(request: EvaluateRequest): { pseudo?: Float32Array; tokens?: Int32Array; slot?: string } {
  return {
    ...(request.slot !== undefined ? { slot: request.slot } : {}),
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
export class NativeGenerator extends ModelHandle<RawGenerator> {
  private readonly running = new Set<number>();
  private readonly pending = new Set<number>();
  private readonly cancelledBeforeStart = new Set<number>();

  private constructor(
    raw: RawGenerator,
    readonly info: GeneratorModelInfo,
  ) {
    super(raw, "generator");
  }

  /** Checks the file (ModelFileError for a missing, truncated or foreign file), then loads it. */
  static async load(modelPath: string, options: GeneratorLoadOptions = {}): Promise<NativeGenerator> {
    const file = await inspectModelFile(modelPath, "generator");
    const native = loadNativeAddon();
    const raw = await native.load(modelPath, {
      ...contextDefaults(modelPath, options),
      cacheReuse: options.cacheReuse ?? 16,
      sequences: options.sequences ?? 4,
    });
    const rawInfo = raw.info();
    const hef = (file.info.metadata as { hef?: { fim?: { spm?: unknown } } }).hef;
    return new NativeGenerator(raw, {
      ...rawInfo,
      path: modelPath,
      architecture: file.architecture,
      tokens: presentTokens(rawInfo.tokens),
      fimSpm: hef?.fim?.spm === true,
    });
  }

  /** Rows of token_embd.weight, dequantized to float32: ids.length x nEmbdInp. */
  tokenEmbeddingRows(ids: Int32Array | readonly number[]): Promise<Float32Array> {
    this.check();
    return this.raw.tokenEmbeddingRows(ids);
  }

  /**
   * Decodes [pseudo, tokens], reusing what it can of the KV state of the slot's previous request
   * (the longest common prefix, then moved chunks), and returns the logits of the last position. Rejects with an AbortError when
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
      eogAfterContent: request.eogAfterContent ?? false,
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

  /** Forgets every slot's KV state: the next request is decoded from scratch. */
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
    await this.queue.idle();
    await this.raw.dispose();
  }

  /** Runs `job` after every earlier request; `cancelled` is true when it was cancelled while queued. */
  private enqueue<T>(id: number, signal: AbortSignal | undefined, job: (cancelled: boolean) => Promise<T>): Promise<T> {
    if (this.pending.has(id) || this.running.has(id))
      return Promise.reject(new Error(`request id ${id} is already in use`));
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
    return this.queue.run(run);
  }
}
