// Named model specs with exact shapes: two tiny test models the project embeds, and random-weight
// models with the exact tensor shapes of the real models the paper's setup uses (for benchmarks).

export type TinyModelName = "tiny-embed" | "tiny-generator";
export type ShapedModelName = "qwen3-embedding-0.6b" | "qwen2.5-coder-0.5b" | "qwen2.5-coder-1.5b";
export type ModelName = TinyModelName | ShapedModelName;

/** llama_pooling_type values ({arch}.pooling_type). */
export const PoolingType = { NONE: 0, MEAN: 1, CLS: 2, LAST: 3, RANK: 4 } as const;
export type PoolingType = (typeof PoolingType)[keyof typeof PoolingType];

/** f32 / f16 / q8_0: every 2-D weight of that type; q4_k_m: llama.cpp's Q4_K_M choice per tensor. 1-D tensors stay F32. */
export type QuantMix = "f32" | "f16" | "q8_0" | "q4_k_m";

export interface ModelSpec {
  readonly name: ModelName;
  readonly arch: "qwen2" | "qwen3";
  readonly role: "embedder" | "generator";
  /** general.name */
  readonly displayName: string;
  /** general.description */
  readonly description: string;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly contextLength: number;
  readonly ropeTheta: number;
  readonly rmsEps: number;
  /** q/k/v projections have biases (Qwen2). */
  readonly qkvBias: boolean;
  /** Per-head RMS norms on q and k (Qwen3). */
  readonly qkNorm: boolean;
  /** Output projection shares token_embd (no output.weight tensor). */
  readonly tiedEmbeddings: boolean;
  /** Write attention.key_length / value_length (the converter does when config.json has head_dim). */
  readonly writeHeadDim: boolean;
  readonly pooling?: PoolingType;
  readonly addEosToken: boolean;
  readonly vocab: {
    /** Added tokens: Qwen2.5's 22 or Qwen3's 26. */
    readonly specials: "qwen2.5" | "qwen3";
    /** Id of <|endoftext|>: Qwen's real 151643, or right after the BPE tokens. */
    readonly specialsAt: number | "after-bpe";
    /** Exact vocabulary size, or the next multiple of this many tokens. */
    readonly size: number | { readonly roundUpTo: number };
  };
  readonly quant: QuantMix;
  /**
   * random: every matrix random. bag-of-tokens: attn_output and ffn_down are zero, so each token's
   * final hidden state is its normed token embedding (a lexical, bag-of-subwords embedder).
   */
  readonly weights: "random" | "bag-of-tokens";
  /** Standard deviation of random weights. */
  readonly weightStd: number;
}

const QWEN_SHARED = {
  contextLength: 32768,
  ropeTheta: 1_000_000,
  rmsEps: 1e-6,
  tiedEmbeddings: true,
  weights: "random",
  weightStd: 0.02,
} as const;

const RANDOM_NOTE = "Random weights: exact tensor shapes for benchmarks, meaningless outputs. Written by HEF Code.";

/** What the Qwen2.5-Coder generators share; each spec adds its own sizes. */
const QWEN2_5_CODER = {
  ...QWEN_SHARED,
  arch: "qwen2",
  role: "generator",
  qkvBias: true,
  qkNorm: false,
  writeHeadDim: false,
  addEosToken: false,
  vocab: { specials: "qwen2.5", specialsAt: 151643, size: 151936 },
  quant: "q4_k_m",
} as const;

export const MODEL_SPECS: Readonly<Record<ModelName, ModelSpec>> = {
  "tiny-embed": {
    name: "tiny-embed",
    arch: "qwen3",
    role: "embedder",
    displayName: "HEF tiny test embedder (bag of code tokens)",
    description:
      "Tiny test embedding model written by HEF Code, not a trained model: random token embeddings over a code BPE " +
      "vocabulary, attention output and FFN down weights zero, mean pooling, so a text's vector is the mean of its " +
      "normed subword token embeddings (lexical similarity only).",
    hidden: 256,
    // One small layer: its outputs are zeroed, so depth would only cost time (measured 2x).
    layers: 1,
    heads: 2,
    kvHeads: 1,
    headDim: 64,
    ffn: 32, // its output is zeroed (ffn_down = 0), so keep the wasted compute small
    contextLength: 8192,
    ropeTheta: 1_000_000,
    rmsEps: 1e-6,
    qkvBias: false,
    qkNorm: true,
    tiedEmbeddings: true,
    writeHeadDim: true,
    pooling: PoolingType.MEAN,
    addEosToken: false,
    vocab: { specials: "qwen3", specialsAt: "after-bpe", size: { roundUpTo: 128 } },
    quant: "q8_0", // 2.3x faster than f16 on the CPU: the default embedder indexes whole repositories
    weights: "bag-of-tokens",
    weightStd: 0.02,
  },
  "tiny-generator": {
    name: "tiny-generator",
    arch: "qwen2",
    role: "generator",
    displayName: "HEF tiny test generator (random weights)",
    description:
      "Tiny test code generator written by HEF Code, not a trained model: Qwen2 layout with random weights over a " +
      "code BPE vocabulary with Qwen2.5-Coder's FIM tokens; it loads, tokenizes and generates, but its text is noise.",
    hidden: 256,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 64,
    ffn: 768,
    contextLength: 8192,
    ropeTheta: 1_000_000,
    rmsEps: 1e-6,
    qkvBias: true,
    qkNorm: false,
    tiedEmbeddings: true,
    writeHeadDim: false,
    addEosToken: false,
    vocab: { specials: "qwen2.5", specialsAt: "after-bpe", size: { roundUpTo: 128 } },
    quant: "f16",
    weights: "random",
    weightStd: 0.05,
  },
  "qwen3-embedding-0.6b": {
    ...QWEN_SHARED,
    name: "qwen3-embedding-0.6b",
    arch: "qwen3",
    role: "embedder",
    displayName: "Qwen3-Embedding-0.6B shape (random weights)",
    description: `Random-weight stand-in with the shapes and metadata of Qwen3-Embedding-0.6B (last-token pooling). ${RANDOM_NOTE}`,
    hidden: 1024,
    layers: 28,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    ffn: 3072,
    qkvBias: false,
    qkNorm: true,
    writeHeadDim: true,
    pooling: PoolingType.LAST,
    addEosToken: true,
    vocab: { specials: "qwen3", specialsAt: 151643, size: 151669 },
    quant: "q8_0",
  },
  "qwen2.5-coder-0.5b": {
    ...QWEN2_5_CODER,
    name: "qwen2.5-coder-0.5b",
    displayName: "Qwen2.5-Coder-0.5B shape (random weights)",
    description: `Random-weight stand-in with the shapes of Qwen2.5-Coder-0.5B, Q4_K_M-like mix. ${RANDOM_NOTE}`,
    hidden: 896,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    headDim: 64,
    ffn: 4864,
  },
  "qwen2.5-coder-1.5b": {
    ...QWEN2_5_CODER,
    name: "qwen2.5-coder-1.5b",
    displayName: "Qwen2.5-Coder-1.5B shape (random weights)",
    description: `Random-weight stand-in with the shapes of Qwen2.5-Coder-1.5B, Q4_K_M-like mix. ${RANDOM_NOTE}`,
    hidden: 1536,
    layers: 28,
    heads: 12,
    kvHeads: 2,
    headDim: 128,
    ffn: 8960,
  },
};

export const SHAPED_MODEL_NAMES: readonly ShapedModelName[] = [
  "qwen3-embedding-0.6b",
  "qwen2.5-coder-0.5b",
  "qwen2.5-coder-1.5b",
];

export function modelSpec(name: ModelName): ModelSpec {
  const spec = MODEL_SPECS[name];
  if (!spec) throw new Error(`unknown model "${name}" (known: ${Object.keys(MODEL_SPECS).join(", ")})`);
  return spec;
}

/** What a tensor is, independent of its layer. */
export type TensorRole =
  | "token_embd"
  | "output_norm"
  | "output"
  | "attn_norm"
  | "attn_q"
  | "attn_k"
  | "attn_v"
  | "attn_output"
  | "attn_q_norm"
  | "attn_k_norm"
  | "attn_q_bias"
  | "attn_k_bias"
  | "attn_v_bias"
  | "ffn_norm"
  | "ffn_gate"
  | "ffn_up"
  | "ffn_down";

export interface TensorShape {
  readonly name: string;
  readonly role: TensorRole;
  readonly layer?: number;
  /** ggml order: shape[0] is the row length. */
  readonly shape: readonly number[];
}

/** Every tensor of `spec` with a vocabulary of `vocabSize` tokens, in file order. */
export function modelTensorShapes(spec: ModelSpec, vocabSize: number): TensorShape[] {
  const { hidden: d, ffn, headDim } = spec;
  const qDim = spec.heads * headDim;
  const kvDim = spec.kvHeads * headDim;
  const out: TensorShape[] = [
    { name: "token_embd.weight", role: "token_embd", shape: [d, vocabSize] },
    { name: "output_norm.weight", role: "output_norm", shape: [d] },
  ];
  if (!spec.tiedEmbeddings) out.push({ name: "output.weight", role: "output", shape: [d, vocabSize] });
  for (let layer = 0; layer < spec.layers; layer++) {
    const t = (suffix: string, role: TensorRole, shape: number[]): void => {
      out.push({ name: `blk.${layer}.${suffix}`, role, layer, shape });
    };
    t("attn_norm.weight", "attn_norm", [d]);
    t("attn_q.weight", "attn_q", [d, qDim]);
    if (spec.qkvBias) t("attn_q.bias", "attn_q_bias", [qDim]);
    t("attn_k.weight", "attn_k", [d, kvDim]);
    if (spec.qkvBias) t("attn_k.bias", "attn_k_bias", [kvDim]);
    t("attn_v.weight", "attn_v", [d, kvDim]);
    if (spec.qkvBias) t("attn_v.bias", "attn_v_bias", [kvDim]);
    t("attn_output.weight", "attn_output", [qDim, d]);
    if (spec.qkNorm) {
      t("attn_q_norm.weight", "attn_q_norm", [headDim]);
      t("attn_k_norm.weight", "attn_k_norm", [headDim]);
    }
    t("ffn_norm.weight", "ffn_norm", [d]);
    t("ffn_gate.weight", "ffn_gate", [d, ffn]);
    t("ffn_up.weight", "ffn_up", [d, ffn]);
    t("ffn_down.weight", "ffn_down", [ffn, d]);
  }
  return out;
}

/** Total parameters of `spec` with a vocabulary of `vocabSize` tokens. */
export function parameterCount(spec: ModelSpec, vocabSize: number): number {
  return modelTensorShapes(spec, vocabSize).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}
