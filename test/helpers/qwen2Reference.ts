// An independent float64 forward pass of a Qwen2 GGUF with F32 weights, read straight from the
// file: what the native encoder's lastHidden must reproduce. Written from the architecture, not
// from llama.cpp's graph: RMSNorm, q/k/v with biases, NEOX rotary embeddings, grouped-query causal
// attention, SwiGLU, final norm.
import { readFileSync } from "node:fs";
import { readGgufFileInfo } from "node-llama-cpp";
import { GgmlType } from "../../sidecar/models/ggmlTypes";
import { type ModelSpec, modelSpec } from "../../sidecar/syntheticModels/modelSpecs";

/** The fuser transformer of the tests: a tiny Qwen2 with F32 weights, so the float64 reference can read them. */
export const FUSER_SPEC: ModelSpec = {
  ...modelSpec("tiny-generator"),
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  ffn: 128,
  quant: "f32",
  weightStd: 0.1,
};

export interface Qwen2Reference {
  hidden: number;
  /** Final hidden state (after output_norm) at the last of `rows` (each `hidden` floats), fed as input embeddings at positions 0.. */
  lastHidden(rows: Float32Array): Float64Array;
}

interface Linear {
  weight: Float64Array;
  bias?: Float64Array;
  inDim: number;
  outDim: number;
}

function linear(l: Linear, x: Float64Array): Float64Array {
  const out = new Float64Array(l.outDim);
  for (let j = 0; j < l.outDim; j++) {
    let sum = l.bias ? l.bias[j]! : 0;
    const row = j * l.inDim;
    for (let i = 0; i < l.inDim; i++) sum += l.weight[row + i]! * x[i]!;
    out[j] = sum;
  }
  return out;
}

function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sq = 0;
  for (const v of x) sq += v * v;
  const scale = 1 / Math.sqrt(sq / x.length + eps);
  return x.map((v, i) => v * scale * weight[i]!);
}

/** NEOX layout: dimension i pairs with i + headDim/2, rotated by pos * theta^(-2i/headDim). */
function rope(x: Float64Array, heads: number, headDim: number, pos: number, theta: number): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(theta, (-2 * i) / headDim);
      const a = h * headDim + i;
      const b = a + half;
      const x0 = x[a]!;
      const x1 = x[b]!;
      x[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
      x[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
    }
  }
}

export async function loadQwen2Reference(path: string): Promise<Qwen2Reference> {
  const info = await readGgufFileInfo(path, { sourceType: "filesystem", readTensorInfo: true, logWarnings: false });
  const meta = info.architectureMetadata as {
    embedding_length: number;
    block_count: number;
    feed_forward_length: number;
    attention: { head_count: number; head_count_kv: number; layer_norm_rms_epsilon: number };
    rope?: { freq_base?: number };
  };
  const bytes = readFileSync(path);
  const tensors = new Map((info.fullTensorInfo ?? []).map((t) => [t.name, t]));
  const tensor = (name: string): Float64Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${path} has no ${name}`);
    if (t.ggmlType !== GgmlType.F32) throw new Error(`${name}: the reference reads F32 tensors only`);
    const count = t.dimensions.reduce<number>((a, b) => a * Number(b), 1);
    const start = Number(t.fileOffset);
    return Float64Array.from(
      new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * count)),
    );
  };
  const d = meta.embedding_length;
  const heads = meta.attention.head_count;
  const kvHeads = meta.attention.head_count_kv;
  const headDim = d / heads;
  const ffn = meta.feed_forward_length;
  const eps = meta.attention.layer_norm_rms_epsilon;
  const theta = meta.rope?.freq_base ?? 10000;
  const lin = (name: string, inDim: number, outDim: number, bias: boolean): Linear => ({
    weight: tensor(`${name}.weight`),
    ...(bias ? { bias: tensor(`${name}.bias`) } : {}),
    inDim,
    outDim,
  });
  const layers = Array.from({ length: meta.block_count }, (_, l) => ({
    attnNorm: tensor(`blk.${l}.attn_norm.weight`),
    q: lin(`blk.${l}.attn_q`, d, heads * headDim, true),
    k: lin(`blk.${l}.attn_k`, d, kvHeads * headDim, true),
    v: lin(`blk.${l}.attn_v`, d, kvHeads * headDim, true),
    o: lin(`blk.${l}.attn_output`, heads * headDim, d, false),
    ffnNorm: tensor(`blk.${l}.ffn_norm.weight`),
    gate: lin(`blk.${l}.ffn_gate`, d, ffn, false),
    up: lin(`blk.${l}.ffn_up`, d, ffn, false),
    down: lin(`blk.${l}.ffn_down`, ffn, d, false),
  }));
  const outputNorm = tensor("output_norm.weight");

  const lastHidden = (rows: Float32Array): Float64Array => {
    const n = rows.length / d;
    let xs = Array.from({ length: n }, (_, p) => Float64Array.from(rows.subarray(p * d, (p + 1) * d)));
    for (const layer of layers) {
      const normed = xs.map((x) => rmsNorm(x, layer.attnNorm, eps));
      const qs = normed.map((x, p) => {
        const q = linear(layer.q, x);
        rope(q, heads, headDim, p, theta);
        return q;
      });
      const ks = normed.map((x, p) => {
        const k = linear(layer.k, x);
        rope(k, kvHeads, headDim, p, theta);
        return k;
      });
      const vs = normed.map((x) => linear(layer.v, x));
      xs = xs.map((x, p) => {
        const attn = new Float64Array(heads * headDim);
        for (let h = 0; h < heads; h++) {
          const kvh = Math.floor(h / (heads / kvHeads));
          const scores = new Float64Array(p + 1);
          for (let s = 0; s <= p; s++) {
            let dot = 0;
            for (let i = 0; i < headDim; i++) dot += qs[p]![h * headDim + i]! * ks[s]![kvh * headDim + i]!;
            scores[s] = dot / Math.sqrt(headDim);
          }
          const max = Math.max(...scores);
          const weights = scores.map((v) => Math.exp(v - max));
          const total = weights.reduce((a, b) => a + b, 0);
          for (let s = 0; s <= p; s++) {
            for (let i = 0; i < headDim; i++)
              attn[h * headDim + i] = attn[h * headDim + i]! + (weights[s]! / total) * vs[s]![kvh * headDim + i]!;
          }
        }
        const afterAttn = linear(layer.o, attn).map((v, i) => v + x[i]!);
        const f = rmsNorm(afterAttn, layer.ffnNorm, eps);
        const gate = linear(layer.gate, f);
        const up = linear(layer.up, f);
        const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
        return linear(layer.down, act).map((v, i) => v + afterAttn[i]!);
      });
    }
    return rmsNorm(xs[n - 1]!, outputNorm, eps);
  };
  return { hidden: d, lastHidden };
}
