// Loading the native addon (hef_native.node, built by `node scripts/build-native.mjs` against
// node-llama-cpp's own prebuilt llama.cpp libraries) once per process, for every wrapper over it.
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { defaultThreads } from "../models/llamaRuntime";
import { findPackageRoot } from "../util/packageRoot";
import type { ContextLoadOptions, NativeAddon, ResolvedContextOptions } from "./addonTypes";

export const NATIVE_BUILD_COMMAND = "node scripts/build-native.mjs";

/** The addon is not built (or cannot be loaded here); the message says how to build it. */
export class NativeAddonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NativeAddonError";
  }
}

/** Where the build script puts the addon; HEF_NATIVE_ADDON overrides. */
export function nativeAddonPath(): string {
  return (
    process.env.HEF_NATIVE_ADDON ?? join(findPackageRoot(), "sidecar", "native", "build", "Release", "hef_native.node")
  );
}

let addon: NativeAddon | undefined;

export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const path = nativeAddonPath();
  if (!existsSync(path))
    throw new NativeAddonError(`the native addon is not built (${path} is missing); run ${NATIVE_BUILD_COMMAND}`);
  try {
    addon = createRequire(join(findPackageRoot(), "package.json"))(path) as NativeAddon;
  } catch (error) {
    throw new NativeAddonError(
      `cannot load ${path}: ${(error as Error).message}; rebuild with ${NATIVE_BUILD_COMMAND}`,
    );
  }
  return addon;
}

/** Defaults shared by every handle: threads by model size, every layer on the GPU, 2,048 positions, batches of 512. */
export function contextDefaults(modelPath: string, options: ContextLoadOptions): ResolvedContextOptions {
  return {
    threads: options.threads ?? defaultThreads(statSync(modelPath).size),
    gpuLayers: options.gpuLayers ?? -1,
    contextSize: options.contextSize ?? 2048,
    batchSize: options.batchSize ?? 512,
    ...(options.backendDir ? { backendDir: options.backendDir } : {}),
  };
}

/** Special token ids as the addon reports them, -1 meaning none, without the absent ones. */
export function presentTokens<K extends string>(raw: Record<K, number>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [key, value] of Object.entries(raw) as [K, number][]) {
    if (value !== -1) out[key] = value;
  }
  return out;
}
