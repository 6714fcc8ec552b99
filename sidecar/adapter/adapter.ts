// Reading and checking HEF adapter files (what training writes); see adapterFormat.ts.
import { dirname, isAbsolute, resolve } from "node:path";
import { GgmlType } from "../models/ggmlTypes";
import { inspectModelFile, ModelFileError } from "../models/modelFile";
import { isInside } from "../../common/paths";
import { ADAPTER_ARCHITECTURE, ADAPTER_VERSION, AdapterKey, AdapterTensor } from "./adapterFormat";

/** An adapter that cannot serve the loaded models; the message names the file and every mismatch. */
export class AdapterError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "AdapterError";
  }
}

export interface ModelIdentity {
  name: string;
  /** fingerprintFile of the model file; "" = any file of that name. */
  id: string;
  dim: number;
}

export interface AdapterInfo {
  path: string;
  embedder: ModelIdentity;
  generator: ModelIdentity;
  projectorHidden: number;
  k: number;
  b: number;
  /** The learned fuser, absent when the adapter fuses by the mean. modelPath is absolute. */
  fuser?: ModelIdentity & { modelPath: string };
}

function expectedShapes(info: Omit<AdapterInfo, "path">): Map<string, number[]> {
  const shapes = new Map<string, number[]>([
    [AdapterTensor.w1, [info.embedder.dim, info.projectorHidden]],
    [AdapterTensor.b1, [info.projectorHidden]],
    [AdapterTensor.w2, [info.projectorHidden, info.generator.dim]],
    [AdapterTensor.b2, [info.generator.dim]],
  ]);
  if (info.fuser) {
    shapes.set(AdapterTensor.fuserIn, [info.embedder.dim, info.fuser.dim]);
    shapes.set(AdapterTensor.fuserInBias, [info.fuser.dim]);
    shapes.set(AdapterTensor.fuserOut, [info.fuser.dim, info.embedder.dim]);
  }
  return shapes;
}

/**
 * Where the fuser transformer an adapter names lies: a file in the adapter's folder (or below it), as
 * the writers store it. An adapter is a file users pass around; the path inside it must not make the
 * sidecar open whatever it names (/etc/passwd, a device, another user's files).
 */
function fuserPath(adapterPath: string, named: string): string {
  const folder = resolve(dirname(adapterPath));
  const path = resolve(folder, named);
  if (isAbsolute(named) || path === folder || !isInside(folder, path)) {
    throw new AdapterError(
      adapterPath,
      `names its fuser transformer as ${JSON.stringify(named)}: it must be a file in the adapter's folder`,
    );
  }
  return path;
}

/** Reads an adapter's metadata and checks that its tensors have the shapes the metadata declares. */
export async function readAdapter(path: string): Promise<AdapterInfo> {
  const { architecture, info } = await inspectModelFile(path, "adapter").catch((error: unknown) => {
    if (error instanceof ModelFileError)
      throw new AdapterError(path, error.message.slice(path.length + 2).replace(/^adapter model/, "adapter"));
    throw error;
  });
  if (architecture !== ADAPTER_ARCHITECTURE) {
    throw new AdapterError(
      path,
      `not a HEF adapter (general.architecture is "${architecture}", expected "${ADAPTER_ARCHITECTURE}")`,
    );
  }
  const meta = info.metadata as unknown as Record<string, unknown>;
  const read = (key: string): unknown =>
    key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], meta);
  const num = (key: string): number => {
    const value = Number(read(key));
    if (!Number.isInteger(value) || value <= 0)
      throw new AdapterError(path, `metadata ${key} is missing or not a positive integer`);
    return value;
  };
  const str = (key: string): string => String(read(key) ?? "");
  const version = num(AdapterKey.version);
  if (version !== ADAPTER_VERSION)
    throw new AdapterError(path, `adapter format version ${version}; this build reads version ${ADAPTER_VERSION}`);
  const fuserModel = str(AdapterKey.fuserModel);
  const adapter: AdapterInfo = {
    path,
    embedder: { name: str(AdapterKey.embedderName), id: str(AdapterKey.embedderId), dim: num(AdapterKey.embedderDim) },
    generator: {
      name: str(AdapterKey.generatorName),
      id: str(AdapterKey.generatorId),
      dim: num(AdapterKey.generatorDim),
    },
    projectorHidden: num(AdapterKey.projectorHidden),
    k: num(AdapterKey.k),
    b: num(AdapterKey.b),
    ...(fuserModel
      ? {
          fuser: {
            name: fuserModel,
            id: str(AdapterKey.fuserId),
            dim: num(AdapterKey.fuserDim),
            modelPath: fuserPath(path, fuserModel),
          },
        }
      : {}),
  };
  const found = new Map((info.fullTensorInfo ?? []).map((tensor) => [tensor.name, tensor]));
  const problems: string[] = [];
  for (const [name, shape] of expectedShapes(adapter)) {
    const tensor = found.get(name);
    if (!tensor) {
      problems.push(`tensor ${name} is missing`);
      continue;
    }
    const actual = tensor.dimensions.map(Number);
    if (actual.join("x") !== shape.join("x"))
      problems.push(`tensor ${name} is ${actual.join("x")}, the metadata implies ${shape.join("x")}`);
    if (tensor.ggmlType !== GgmlType.F32 && tensor.ggmlType !== GgmlType.F16)
      problems.push(`tensor ${name} must be F32 or F16`);
  }
  if (problems.length > 0) throw new AdapterError(path, problems.join("; "));
  return adapter;
}

export interface LoadedModels {
  embedder: ModelIdentity;
  /** Absent where no generator is loaded (commands that only build caches). */
  generator?: ModelIdentity;
  /** The fuser transformer's hidden size, when a learned fuser is loaded. */
  fuserDim?: number;
  /** The cache's branching factor, when the caller chose one (the engine takes the adapter's). */
  b?: number;
}

/**
 * Checks every dimension against the loaded models; a mismatch is an AdapterError naming each one.
 * Different model files of the same dimensions load, with a warning: an adapter trained for other
 * weights gives poor pseudo-tokens, not wrong shapes.
 */
export function checkAdapter(adapter: AdapterInfo, models: LoadedModels): { warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const compare = (role: "embedder" | "generator", dimName: string): void => {
    const want = adapter[role];
    const have = models[role];
    if (!have) return;
    if (want.dim !== have.dim)
      problems.push(
        `${role} ${dimName} is ${have.dim} (${have.name}), the adapter was made for ${want.dim} (${want.name})`,
      );
    else if (want.id && want.id !== have.id)
      warnings.push(
        `${adapter.path}: made for ${role} ${want.name} (${want.id.slice(0, 12)}), loaded ${have.name} (${have.id.slice(0, 12)})`,
      );
  };
  compare("embedder", "d");
  compare("generator", "d_g");
  if (adapter.fuser && models.fuserDim !== undefined && adapter.fuser.dim !== models.fuserDim) {
    problems.push(
      `fuser d_f is ${models.fuserDim} (${adapter.fuser.modelPath}), the adapter was made for ${adapter.fuser.dim}`,
    );
  }
  if (models.b !== undefined && adapter.b !== models.b)
    problems.push(`branching factor b is ${models.b}, the adapter's fuser was trained with b=${adapter.b}`);
  if (problems.length > 0) throw new AdapterError(adapter.path, problems.join("; "));
  return { warnings };
}
