// Adapter files of the right shapes with untrained weights: for tests and benchmarks that need hef
// mode end to end without the trained models.
import { dirname, relative } from "node:path";
import { ADAPTER_ARCHITECTURE, ADAPTER_VERSION, AdapterKey, AdapterTensor } from "../adapter/adapterFormat";
import type { ModelIdentity } from "../adapter/adapter";
import { DEFAULT_K } from "../../common/settings";
import { DEFAULT_BRANCHING } from "../cache/hierarchy";
import { GgmlType } from "../models/ggmlTypes";
import { Prng } from "../util/prng";
import { gguf, type GgufValue } from "./gguf/metadata";
import { floatArray } from "./gguf/tensorData";
import { type GgufTensor, writeGguf } from "./gguf/writer";

export interface RandomAdapterSpec {
  embedder: ModelIdentity;
  generator: ModelIdentity;
  projectorHidden: number;
  k?: number;
  b?: number;
  /** A learned fuser over this transformer GGUF (absolute path) of hidden size dim. */
  fuser?: ModelIdentity & { modelPath: string };
  seed?: string;
}

/** Weights drawn as torch.nn.Linear initialises them: uniform in ±1/sqrt(fan_in). */
function linear(prng: Prng, fanIn: number, count: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = (2 * prng.uniform() - 1) * bound;
  return data;
}

/** Writes an adapter of the right shapes with untrained weights. */
export async function writeRandomAdapter(path: string, spec: RandomAdapterSpec): Promise<void> {
  const prng = new Prng(spec.seed ?? "hef-random-adapter");
  const d = spec.embedder.dim;
  const hidden = spec.projectorHidden;
  const dg = spec.generator.dim;
  const tensor = (name: string, shape: number[], fanIn: number): GgufTensor => ({
    name,
    shape,
    type: GgmlType.F32,
    data: floatArray(
      GgmlType.F32,
      shape[0]!,
      linear(
        prng,
        fanIn,
        shape.reduce((a, b) => a * b, 1),
      ),
    ),
  });
  const tensors = [
    tensor(AdapterTensor.w1, [d, hidden], d),
    tensor(AdapterTensor.b1, [hidden], d),
    tensor(AdapterTensor.w2, [hidden, dg], hidden),
    tensor(AdapterTensor.b2, [dg], hidden),
  ];
  if (spec.fuser) {
    tensors.push(
      tensor(AdapterTensor.fuserIn, [d, spec.fuser.dim], d),
      tensor(AdapterTensor.fuserInBias, [spec.fuser.dim], d),
      tensor(AdapterTensor.fuserOut, [spec.fuser.dim, d], spec.fuser.dim),
    );
  }
  const metadata: Record<string, GgufValue> = {
    "general.architecture": gguf.str(ADAPTER_ARCHITECTURE),
    "general.name": gguf.str("hef-random-adapter"),
    [AdapterKey.version]: gguf.u32(ADAPTER_VERSION),
    [AdapterKey.embedderName]: gguf.str(spec.embedder.name),
    [AdapterKey.embedderId]: gguf.str(spec.embedder.id),
    [AdapterKey.embedderDim]: gguf.u32(d),
    [AdapterKey.generatorName]: gguf.str(spec.generator.name),
    [AdapterKey.generatorId]: gguf.str(spec.generator.id),
    [AdapterKey.generatorDim]: gguf.u32(dg),
    [AdapterKey.projectorHidden]: gguf.u32(hidden),
    [AdapterKey.k]: gguf.u32(spec.k ?? DEFAULT_K),
    [AdapterKey.b]: gguf.u32(spec.b ?? DEFAULT_BRANCHING),
    [AdapterKey.fuserModel]: gguf.str(spec.fuser ? relative(dirname(path), spec.fuser.modelPath) : ""),
    [AdapterKey.fuserId]: gguf.str(spec.fuser?.id ?? ""),
    [AdapterKey.fuserDim]: gguf.u32(spec.fuser?.dim ?? 0),
  };
  await writeGguf(path, { metadata, tensors });
}
