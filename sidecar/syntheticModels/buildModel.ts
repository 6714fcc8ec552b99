// Turns a ModelSpec into a GGUF file: metadata as llama.cpp's converter writes it for the architecture,
// the code BPE vocabulary, and deterministic weights streamed tensor by tensor.
import { createHash } from "node:crypto";
import { GgmlType, tensorByteSize } from "../models/ggmlTypes";
import { type GgufValue, gguf } from "./gguf/metadata";
import { isFloatEncodedType } from "./gguf/quantize";
import { isRandomQuantType, randomQuantBlocks } from "./gguf/randomQuant";
import { floatRows, zeroBytes, zeroRows } from "./gguf/tensorData";
import { type GgufTensor, type TensorData, writeGguf } from "./gguf/writer";
import { type ModelName, type ModelSpec, type TensorShape, modelSpec, modelTensorShapes } from "./modelSpecs";
import { Prng } from "../util/prng";
import { FILE_TYPE, tensorType } from "./quantMix";
import {
  QWEN2_5_SPECIAL_TOKENS,
  QWEN3_SPECIAL_TOKENS,
  TokenType,
  type Vocab,
  buildVocab,
  loadCodeMerges,
} from "./vocab";

/** Bump when the bytes this module writes for a given spec and seed change. */
export const MODEL_WRITER_VERSION = 1;
export const DEFAULT_SEED = 1;
/** Metadata key holding modelContentVersion(). */
export const CONTENT_VERSION_KEY = "hef.content_version";

const vocabCache = new Map<string, Vocab>();

/** The vocabulary of `spec`: code BPE tokens, then the added tokens, padded as the spec says. */
export function specVocab(spec: ModelSpec): Vocab {
  const key = JSON.stringify(spec.vocab);
  const cached = vocabCache.get(key);
  if (cached) return cached;
  const specials = spec.vocab.specials === "qwen3" ? QWEN3_SPECIAL_TOKENS : QWEN2_5_SPECIAL_TOKENS;
  const unpadded = buildVocab({
    specials,
    ...(spec.vocab.specialsAt === "after-bpe" ? {} : { specialsAt: spec.vocab.specialsAt }),
  });
  const size =
    typeof spec.vocab.size === "number"
      ? spec.vocab.size
      : Math.ceil(unpadded.tokens.length / spec.vocab.size.roundUpTo) * spec.vocab.size.roundUpTo;
  const vocab = buildVocab({
    specials,
    size,
    ...(spec.vocab.specialsAt === "after-bpe" ? {} : { specialsAt: spec.vocab.specialsAt }),
  });
  vocabCache.set(key, vocab);
  return vocab;
}

/** Fingerprint of everything that decides the file's bytes: spec, merges, seed, writer version. */
export function modelContentVersion(spec: ModelSpec, seed: number = DEFAULT_SEED): string {
  return createHash("sha256")
    .update(JSON.stringify({ spec, seed, writer: MODEL_WRITER_VERSION }))
    .update(loadCodeMerges().join("\n"))
    .digest("hex")
    .slice(0, 16);
}

function tokenId(vocab: Vocab, text: string): number {
  const id = vocab.special[text];
  if (id === undefined) throw new Error(`vocabulary has no ${text}`);
  return id;
}

/** Metadata keys and types as convert_hf_to_gguf.py writes them for Qwen2 / Qwen3 (GGUF v3). */
export function modelMetadata(spec: ModelSpec, vocab: Vocab, seed: number = DEFAULT_SEED): Record<string, GgufValue> {
  const a = spec.arch;
  const m: Record<string, GgufValue> = {
    "general.architecture": gguf.str(a),
    "general.type": gguf.str("model"),
    "general.name": gguf.str(spec.displayName),
    "general.description": gguf.str(spec.description),
    "general.file_type": gguf.u32(FILE_TYPE[spec.quant]),
    [`${a}.block_count`]: gguf.u32(spec.layers),
    [`${a}.context_length`]: gguf.u32(spec.contextLength),
    [`${a}.embedding_length`]: gguf.u32(spec.hidden),
    [`${a}.feed_forward_length`]: gguf.u32(spec.ffn),
    [`${a}.attention.head_count`]: gguf.u32(spec.heads),
    [`${a}.attention.head_count_kv`]: gguf.u32(spec.kvHeads),
    [`${a}.rope.freq_base`]: gguf.f32(spec.ropeTheta),
    [`${a}.attention.layer_norm_rms_epsilon`]: gguf.f32(spec.rmsEps),
  };
  if (spec.quant === "q8_0" || spec.quant === "q4_k_m") m["general.quantization_version"] = gguf.u32(2);
  if (spec.writeHeadDim) {
    m[`${a}.attention.key_length`] = gguf.u32(spec.headDim);
    m[`${a}.attention.value_length`] = gguf.u32(spec.headDim);
  }
  if (spec.pooling !== undefined) m[`${a}.pooling_type`] = gguf.u32(spec.pooling);
  const eos = tokenId(vocab, "<|endoftext|>");
  Object.assign(m, {
    "tokenizer.ggml.model": gguf.str("gpt2"),
    "tokenizer.ggml.pre": gguf.str("qwen2"),
    "tokenizer.ggml.tokens": gguf.array("string", vocab.tokens),
    "tokenizer.ggml.token_type": gguf.array("i32", vocab.types),
    "tokenizer.ggml.merges": gguf.array("string", vocab.merges),
    "tokenizer.ggml.eos_token_id": gguf.u32(eos),
    "tokenizer.ggml.padding_token_id": gguf.u32(eos),
    "tokenizer.ggml.bos_token_id": gguf.u32(eos),
    "tokenizer.ggml.add_bos_token": gguf.bool(false),
    "tokenizer.ggml.add_eos_token": gguf.bool(spec.addEosToken),
    "tokenizer.ggml.fim_pre_token_id": gguf.u32(tokenId(vocab, "<|fim_prefix|>")),
    "tokenizer.ggml.fim_suf_token_id": gguf.u32(tokenId(vocab, "<|fim_suffix|>")),
    "tokenizer.ggml.fim_mid_token_id": gguf.u32(tokenId(vocab, "<|fim_middle|>")),
    "tokenizer.ggml.fim_pad_token_id": gguf.u32(tokenId(vocab, "<|fim_pad|>")),
    "tokenizer.ggml.fim_rep_token_id": gguf.u32(tokenId(vocab, "<|repo_name|>")),
    "tokenizer.ggml.fim_sep_token_id": gguf.u32(tokenId(vocab, "<|file_sep|>")),
    [CONTENT_VERSION_KEY]: gguf.str(modelContentVersion(spec, seed)),
    "hef.seed": gguf.u32(seed >>> 0),
  });
  return m;
}

const NORM_ROLES = new Set(["output_norm", "attn_norm", "ffn_norm", "attn_q_norm", "attn_k_norm"]);

function weights(spec: ModelSpec, t: TensorShape, type: GgmlType, seed: number): TensorData {
  const rowLength = t.shape[0]!;
  const rows = t.shape.reduce((x, y) => x * y, 1) / rowLength;
  const seedText = `${seed}/${spec.name}/${t.name}`;
  if (NORM_ROLES.has(t.role)) {
    if (type !== GgmlType.F32) throw new Error(`${t.name}: norms are F32`);
    return floatRows(type, rowLength, rows, (_r, out) => out.fill(1));
  }
  if (spec.weights === "bag-of-tokens" && (t.role === "attn_output" || t.role === "ffn_down")) {
    return zeroBytes(tensorByteSize(type, t.shape));
  }
  if (isRandomQuantType(type)) return () => randomQuantBlocks(type, rowLength * rows, seedText, spec.weightStd);
  if (!isFloatEncodedType(type)) throw new Error(`${t.name}: cannot fill ${type}`);
  return () => {
    const prng = new Prng(seedText);
    return floatRows(type, rowLength, rows, (_r, out) => {
      for (let i = 0; i < out.length; i++) out[i] = prng.normal() * spec.weightStd;
    })();
  };
}

function tensorData(spec: ModelSpec, vocab: Vocab, t: TensorShape, type: GgmlType, seed: number): TensorData {
  const data = weights(spec, t, type, seed);
  if (t.role !== "token_embd" && t.role !== "output") return data;
  // Rows of tokens not typed NORMAL (added tokens, fillers) are zero: a random generator then never
  // prefers them (their logit is 0), and they add nothing to a mean-pooled embedding.
  return zeroRows(data, tensorByteSize(type, [t.shape[0]!]), (row) => vocab.types[row] !== TokenType.NORMAL);
}

/** The tensors of `spec`, each streaming its deterministic bytes. */
export function modelTensors(spec: ModelSpec, vocab: Vocab, seed: number = DEFAULT_SEED): GgufTensor[] {
  return modelTensorShapes(spec, vocab.tokens.length).map((t) => {
    const type = tensorType(spec, t);
    return { name: t.name, shape: t.shape, type, data: tensorData(spec, vocab, t, type, seed) };
  });
}

export interface WriteModelResult {
  readonly path: string;
  readonly bytes: number;
  readonly parameters: number;
  readonly seconds: number;
  readonly contentVersion: string;
}

/** Writes model `name` (or a spec) to `outPath` atomically; same spec and seed give identical bytes. */
export async function writeModel(
  nameOrSpec: ModelName | ModelSpec,
  outPath: string,
  options: { seed?: number } = {},
): Promise<WriteModelResult> {
  const started = performance.now();
  const spec = typeof nameOrSpec === "string" ? modelSpec(nameOrSpec) : nameOrSpec;
  const seed = options.seed ?? DEFAULT_SEED;
  const vocab = specVocab(spec);
  const tensors = modelTensors(spec, vocab, seed);
  const parameters = tensors.reduce((sum, t) => sum + t.shape.reduce((x, y) => x * y, 1), 0);
  const { bytes } = await writeGguf(outPath, { metadata: modelMetadata(spec, vocab, seed), tensors });
  return {
    path: outPath,
    bytes,
    parameters,
    seconds: (performance.now() - started) / 1000,
    contentVersion: modelContentVersion(spec, seed),
  };
}
