import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { type Backend, DEFAULT_BACKEND } from "../../common/settings";
import { NativeEncoder } from "../native/encoder";
import { defaultThreads, gpuLayersOf, llamaGpuLayers, llamaRuntime } from "./llamaRuntime";
import { inspectModelFile } from "./modelFile";

/** The frozen encoder E of the paper: text to one vector, and the tokenizer that budgets chunks. */
export interface Embedder {
  /** Fingerprint of the model file: caches built with another file are not reused. */
  readonly id: string;
  readonly name: string;
  readonly dim: number;
  /** The most tokens one input may have; chunks are cut to fit. */
  readonly maxTokens: number;
  countTokens(text: string): number;
  /** Embeds each text; onEmbedded reports how many are done so far. */
  embed(texts: readonly string[], onEmbedded?: (done: number) => void): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

const FINGERPRINT_WINDOW = 1 << 20;

/** Identifies a model file by its size and its first and last MiB: cheap on a 600 MB file, and random weights differ. */
export function fingerprintFile(path: string): string {
  const size = statSync(path).size;
  const hash = createHash("sha256").update(String(size));
  const fd = openSync(path, "r");
  try {
    for (const start of [0, Math.max(0, size - FINGERPRINT_WINDOW)]) {
      const buffer = Buffer.alloc(Math.min(FINGERPRINT_WINDOW, size));
      readSync(fd, buffer, 0, buffer.length, start);
      hash.update(buffer);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

export interface EmbedderOptions {
  backend?: Backend;
  /** Token budget of one input (chunks, and the query window of queryEncoder.ts); the paper uses 512. */
  maxTokens?: number;
  threads?: number;
}

/** Room for the BOS/EOS (CLS/SEP) tokens added around an input of maxTokens. */
const SPECIAL_ROOM = 8;

/**
 * Query windows kept, one per recent document, as the generator keeps KV states: switching files
 * and back finds the window there. Each has its own cells (a 0.6B-shape embedder: 114 KB a
 * position, about 260 MB for the four once llama.cpp pads the context).
 */
export const QUERY_SLOTS = 4;

/** Inputs one after another (each already one large batch), with progress after each. */
async function embedEach(
  texts: readonly string[],
  embedOne: (text: string) => Promise<Float32Array>,
  onEmbedded?: (done: number) => void,
): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (const text of texts) {
    vectors.push(await embedOne(text));
    onEmbedded?.(vectors.length);
  }
  return vectors;
}

function checkDimension(embedder: Pick<Embedder, "name" | "dim">, length: number): void {
  if (length !== embedder.dim)
    throw new Error(`${embedder.name}: embedding has ${length} values, the model declares ${embedder.dim}`);
}

/**
 * The embedder GGUF on the addon's encoder, loaded once for chunks and queries: embed() runs each
 * chunk on the encoder's chunk context, emptied for every input, and the query window
 * (queryEncoder.ts) runs on its other context, whose cache indexing leaves alone. Each input gets
 * the special tokens llama.cpp's tokenizer adds (node-llama-cpp's embedding context adds the same),
 * so the vectors are those of caches built through LlamaEmbedder (test/native/encoderEmbedder.test.ts).
 */
export class NativeEmbedder implements Embedder {
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly dim: number,
    readonly maxTokens: number,
    /** The query window's encoder (embedTokens); its context is one position when loaded without queries. */
    readonly encoder: NativeEncoder,
  ) {}

  /** queries: false sizes the query window's context to nothing (`hef index` embeds chunks only). */
  static async load(modelPath: string, options: EmbedderOptions & { queries?: boolean } = {}): Promise<NativeEmbedder> {
    const maxTokens = options.maxTokens ?? 512;
    const queries = options.queries ?? true;
    const encoder = await NativeEncoder.load(modelPath, {
      purpose: "embedder",
      gpuLayers: gpuLayersOf(options.backend ?? DEFAULT_BACKEND),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      contextSize: queries ? QUERY_SLOTS * (maxTokens + SPECIAL_ROOM) : 1,
      maxSequences: queries ? QUERY_SLOTS : 1,
      chunkContext: maxTokens + SPECIAL_ROOM,
    });
    return new NativeEmbedder(
      fingerprintFile(modelPath),
      encoder.info.name ?? basename(modelPath),
      encoder.info.nEmbd,
      maxTokens,
      encoder,
    );
  }

  countTokens(text: string): number {
    return this.encoder.tokenize(text).length;
  }

  embed(texts: readonly string[], onEmbedded?: (done: number) => void): Promise<Float32Array[]> {
    return embedEach(texts, (text) => this.embedInput(text), onEmbedded);
  }

  private async embedInput(input: string): Promise<Float32Array> {
    if (input.length === 0) throw new Error(`${this.name}: cannot embed an empty input`);
    const { vector } = await this.encoder.embedChunk(this.encoder.tokenize(input, true));
    checkDimension(this, vector.length);
    return vector;
  }

  dispose(): Promise<void> {
    return this.encoder.dispose();
  }
}

/**
 * A GGUF embedding model through node-llama-cpp's embedding context: the reference NativeEmbedder's
 * vectors are checked against (the caches built before it). Inputs are evaluated one after another: chunks are cut close to the token budget, so each evaluation is already one
 * large batch and the context never holds two inputs that could attend to each other.
 */
export class LlamaEmbedder implements Embedder {
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly dim: number,
    readonly maxTokens: number,
    private readonly model: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
  ) {}

  static async load(modelPath: string, options: EmbedderOptions = {}): Promise<LlamaEmbedder> {
    const maxTokens = options.maxTokens ?? 512;
    const file = await inspectModelFile(modelPath, "embedder");
    const backend = options.backend ?? DEFAULT_BACKEND;
    const llama = await llamaRuntime(backend);
    const model = await llama.loadModel({ modelPath, gpuLayers: llamaGpuLayers(backend) });
    // Room for the BOS/EOS tokens the context adds around an input of maxTokens.
    const contextSize = maxTokens + 8;
    const context = await model.createEmbeddingContext({
      contextSize,
      batchSize: contextSize,
      threads: options.threads ?? defaultThreads(statSync(modelPath).size),
    });
    return new LlamaEmbedder(
      fingerprintFile(modelPath),
      file.name ?? basename(modelPath),
      model.embeddingVectorSize,
      maxTokens,
      model,
      context,
    );
  }

  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  embed(texts: readonly string[], onEmbedded?: (done: number) => void): Promise<Float32Array[]> {
    return embedEach(texts, (text) => this.embedInput(text), onEmbedded);
  }

  private async embedInput(input: string): Promise<Float32Array> {
    const { vector } = await this.context.getEmbeddingFor(input);
    checkDimension(this, vector.length);
    return Float32Array.from(vector);
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
