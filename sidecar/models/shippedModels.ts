// The embedded default models: trained by the project itself (`hef train --preset cpu`, recipe in
// models/default/README.md) and shipped inside the package, so nothing is downloaded. Every command
// and the extension use them unless the user names other files.
import { join } from "node:path";
import { findPackageRoot } from "../util/packageRoot";

export interface ModelPaths {
  embedderPath: string;
  generatorPath: string;
  /** The adapter names its fuser transformer (fuser.gguf beside it). */
  adapterPath: string;
}

/** <package root>/models/default/{embedder,generator,adapter}.gguf */
export function shippedModels(root: string = findPackageRoot()): ModelPaths {
  const dir = join(root, "models", "default");
  return {
    embedderPath: join(dir, "embedder.gguf"),
    generatorPath: join(dir, "generator.gguf"),
    adapterPath: join(dir, "adapter.gguf"),
  };
}
