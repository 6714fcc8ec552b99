// Which ggml type each tensor gets under a QuantMix, following llama.cpp's llama-quant.cpp for Q4_K_M.
import { GgmlType, LlamaFileType, ggmlTypeInfo } from "../models/ggmlTypes";
import type { ModelSpec, QuantMix, TensorShape } from "./modelSpecs";

export const FILE_TYPE: Readonly<Record<QuantMix, LlamaFileType>> = {
  f32: LlamaFileType.ALL_F32,
  f16: LlamaFileType.MOSTLY_F16,
  q8_0: LlamaFileType.MOSTLY_Q8_0,
  q4_k_m: LlamaFileType.MOSTLY_Q4_K_M,
};

/** llama-quant.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
export function useMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * Q4_K_M: Q4_K by default; Q6_K for the output projection (token_embd when tied), and for attn_v and
 * ffn_down where useMoreBits. A row length that is not a whole number of 256-blocks falls back to Q8_0
 * (llama.cpp uses Q8_0 for Q6_K and Q5_0 for Q4_K there; this project writes Q8_0 for both).
 */
function q4KMType(spec: ModelSpec, t: TensorShape): GgmlType {
  let type: GgmlType = GgmlType.Q4_K;
  const rowLength = t.shape[0]!;
  const isOutput = t.role === "output" || (t.role === "token_embd" && spec.tiedEmbeddings);
  if (isOutput) {
    type = rowLength % ggmlTypeInfo(GgmlType.Q6_K).blockSize === 0 ? GgmlType.Q6_K : GgmlType.Q8_0;
  } else if ((t.role === "attn_v" || t.role === "ffn_down") && useMoreBits(t.layer ?? 0, spec.layers)) {
    type = GgmlType.Q6_K;
  }
  if (rowLength % ggmlTypeInfo(type).blockSize !== 0) type = GgmlType.Q8_0;
  return type;
}

/** ggml type of tensor `t` of `spec`: 1-D tensors (norms, biases) are always F32. */
export function tensorType(spec: ModelSpec, t: TensorShape): GgmlType {
  if (t.shape.length === 1) return GgmlType.F32;
  switch (spec.quant) {
    case "f32":
      return GgmlType.F32;
    case "f16":
      return GgmlType.F16;
    case "q8_0":
      return GgmlType.Q8_0;
    case "q4_k_m":
      return q4KMType(spec, t);
  }
}
