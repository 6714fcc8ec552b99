// The models this package writes itself, never trained: tiny test models under <package root>/dist/models/
// (fast fixtures for the tests, (re)written when missing or stale) and random-weight models with real
// shapes for benchmarks. What a user runs by default are the trained models of shippedModels.ts.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import {
  CONTENT_VERSION_KEY,
  DEFAULT_SEED,
  type WriteModelResult,
  modelContentVersion,
  specVocab,
  writeModel,
} from "./buildModel";
import { type ModelName, type ShapedModelName, type TinyModelName, modelSpec, parameterCount } from "./modelSpecs";
import { findPackageRoot } from "../util/packageRoot";

export type { TinyModelName };

/** <package root>/dist/models/<name>.gguf */
export function tinyModelPath(name: TinyModelName): string {
  return join(findPackageRoot(), "dist", "models", `${name}.gguf`);
}

/** The content-version stamp a GGUF made by this package carries, or undefined (absent, unreadable, foreign). */
export async function readContentVersion(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const info = await readGgufFileInfo(path, {
      sourceType: "filesystem",
      readTensorInfo: false,
      logWarnings: false,
      ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"],
    });
    const [group, key] = CONTENT_VERSION_KEY.split(".") as [string, string];
    const value = (info.metadata as unknown as Record<string, Record<string, unknown> | undefined>)[group]?.[key];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

const pending = new Map<string, Promise<string>>();

/**
 * Absolute path of the tiny test model `name`, written first if it is missing or its
 * content-version stamp differs from what this code would write. The write is atomic (temp file +
 * rename) and deterministic, so processes racing to create it all end with the same file.
 */
export function ensureTinyModel(name: TinyModelName): Promise<string> {
  const path = tinyModelPath(name);
  let job = pending.get(path);
  if (!job) {
    job = (async () => {
      const spec = modelSpec(name);
      if ((await readContentVersion(path)) !== modelContentVersion(spec, DEFAULT_SEED)) {
        await writeModel(spec, path, { seed: DEFAULT_SEED });
      }
      return path;
    })().finally(() => pending.delete(path));
    pending.set(path, job);
  }
  return job;
}

export interface ShapedModelResult extends WriteModelResult {
  /** True when an up-to-date file was already at outPath and nothing was written. */
  readonly reused: boolean;
}

/**
 * Writes the random-weight model `name` (e.g. "qwen3-embedding-0.6b") to `outPath`, unless a file
 * with the same content version is already there (pass force to rewrite). Streams tensor by tensor.
 */
export async function makeShapedModel(
  name: ShapedModelName | ModelName,
  outPath: string,
  options: { seed?: number; force?: boolean } = {},
): Promise<ShapedModelResult> {
  const spec = modelSpec(name);
  const seed = options.seed ?? DEFAULT_SEED;
  const contentVersion = modelContentVersion(spec, seed);
  if (!options.force && (await readContentVersion(outPath)) === contentVersion) {
    const parameters = parameterCount(spec, specVocab(spec).tokens.length);
    return { path: outPath, bytes: statSync(outPath).size, parameters, seconds: 0, contentVersion, reused: true };
  }
  return { ...(await writeModel(spec, outPath, { seed })), reused: false };
}
