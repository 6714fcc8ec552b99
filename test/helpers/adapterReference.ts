// HEF adapter files for tests (random F32 weights, sidecar/adapter/adapterFormat.ts) and a
// float64 reference of the maps the native Adapter computes, with an exact erf-based GELU.
import { ADAPTER_ARCHITECTURE, ADAPTER_VERSION, AdapterKey, AdapterTensor } from "../../sidecar/adapter/adapterFormat";
import { GgmlType } from "../../sidecar/models/ggmlTypes";
import { gguf, type GgufValue } from "../../sidecar/syntheticModels/gguf/metadata";
import { floatArray } from "../../sidecar/syntheticModels/gguf/tensorData";
import { type GgufTensor, writeGguf } from "../../sidecar/syntheticModels/gguf/writer";
import { Prng } from "../../sidecar/util/prng";

/** erf to double precision: its Taylor series near 0, the continued fraction of erfc further out. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = ax;
  for (let k = 80; k >= 1; k--) fraction = ax + k / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - erfc);
}

/** torch.nn.GELU(): x · Φ(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** A weight in ggml order [inDim, outDim]: outDim rows of inDim floats (a PyTorch Linear's weight). */
export interface Matrix {
  data: Float32Array;
  inDim: number;
  outDim: number;
}

/** rows x inDim in, rows x outDim out, in float64: W · x (+ b) per row. */
export function linearRows(w: Matrix, x: ArrayLike<number>, rows: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(rows * w.outDim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < w.outDim; j++) {
      let sum = bias ? bias[j]! : 0;
      for (let i = 0; i < w.inDim; i++) sum += w.data[j * w.inDim + i]! * x[r * w.inDim + i]!;
      out[r * w.outDim + j] = sum;
    }
  }
  return out;
}

export interface AdapterWeights {
  d: number;
  hidden: number;
  dG: number;
  dF: number;
  w1: Matrix;
  b1: Float32Array;
  w2: Matrix;
  b2: Float32Array;
  fuserIn?: Matrix;
  fuserInBias?: Float32Array;
  fuserOut?: Matrix;
}

function randomFloats(prng: Prng, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = prng.normal() * std;
  return out;
}

/** Random weights of the given sizes (dF 0: no learned fuser), scaled like an initialised Linear. */
export function randomAdapterWeights(
  sizes: { d: number; hidden: number; dG: number; dF: number },
  seed: string,
): AdapterWeights {
  const prng = new Prng(seed);
  const matrix = (inDim: number, outDim: number): Matrix => ({
    data: randomFloats(prng, inDim * outDim, 1 / Math.sqrt(inDim)),
    inDim,
    outDim,
  });
  const { d, hidden, dG, dF } = sizes;
  return {
    ...sizes,
    w1: matrix(d, hidden),
    b1: randomFloats(prng, hidden, 0.5),
    w2: matrix(hidden, dG),
    b2: randomFloats(prng, dG, 0.5),
    ...(dF > 0 ? { fuserIn: matrix(d, dF), fuserInBias: randomFloats(prng, dF, 0.5), fuserOut: matrix(dF, d) } : {}),
  };
}

/** The tensors of an adapter file; tests drop or reshape some to make broken files. */
export function adapterTensors(w: AdapterWeights): GgufTensor[] {
  const t = (name: string, shape: number[], data: Float32Array): GgufTensor => ({
    name,
    shape,
    type: GgmlType.F32,
    data: floatArray(GgmlType.F32, shape[0]!, data),
  });
  const out = [
    t(AdapterTensor.w1, [w.d, w.hidden], w.w1.data),
    t(AdapterTensor.b1, [w.hidden], w.b1),
    t(AdapterTensor.w2, [w.hidden, w.dG], w.w2.data),
    t(AdapterTensor.b2, [w.dG], w.b2),
  ];
  if (w.fuserIn && w.fuserInBias && w.fuserOut) {
    out.push(
      t(AdapterTensor.fuserIn, [w.d, w.dF], w.fuserIn.data),
      t(AdapterTensor.fuserInBias, [w.dF], w.fuserInBias),
      t(AdapterTensor.fuserOut, [w.dF, w.d], w.fuserOut.data),
    );
  }
  return out;
}

export async function writeAdapterFile(
  path: string,
  w: AdapterWeights,
  tensors: GgufTensor[] = adapterTensors(w),
  extraMetadata: Record<string, GgufValue> = {},
): Promise<void> {
  const metadata = {
    "general.architecture": gguf.str(ADAPTER_ARCHITECTURE),
    [AdapterKey.version]: gguf.u32(ADAPTER_VERSION),
    [AdapterKey.embedderDim]: gguf.u32(w.d),
    [AdapterKey.generatorDim]: gguf.u32(w.dG),
    [AdapterKey.projectorHidden]: gguf.u32(w.hidden),
    [AdapterKey.fuserModel]: gguf.str(""),
    ...extraMetadata,
  };
  await writeGguf(path, { metadata, tensors }, { fsync: false });
}

/** p = W2 · GELU(W1 · z + b1) + b2 for each of `rows` rows. */
export function projectReference(w: AdapterWeights, z: Float32Array, rows: number): Float64Array {
  const h = linearRows(w.w1, z, rows, w.b1).map(gelu);
  return linearRows(w.w2, h, rows, w.b2);
}
