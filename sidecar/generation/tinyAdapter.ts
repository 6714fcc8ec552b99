// The tiny test models' adapter: untrained weights of the right shapes, so that tests run hef mode end to
// end in milliseconds. It fuses by the mean (no learned fuser):
// with random weights a learned fuser would scramble the parents that the tiny embedder's lexical
// vectors otherwise make meaningful.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensureTinyModel } from "../models/generatedModels";
import { fingerprintFile } from "../models/embedder";
import { modelSpec } from "../models/modelSpecs";
import { findPackageRoot } from "../models/packageRoot";
import { readAdapter, writeRandomAdapter } from "./adapter";

const PROJECTOR_HIDDEN = 512;

export function tinyAdapterPath(): string {
  return join(findPackageRoot(), "dist", "models", "tiny-adapter.gguf");
}

let pending: Promise<string> | undefined;

/** Absolute path of the tiny models' adapter, (re)written when missing or made for other tiny model files. */
export function ensureTinyAdapter(): Promise<string> {
  pending ??= (async () => {
    const embedderPath = await ensureTinyModel("tiny-embed");
    const generatorPath = await ensureTinyModel("tiny-generator");
    const embedder = { name: "tiny-embed", id: fingerprintFile(embedderPath), dim: modelSpec("tiny-embed").hidden };
    const generator = { name: "tiny-generator", id: fingerprintFile(generatorPath), dim: modelSpec("tiny-generator").hidden };
    const path = tinyAdapterPath();
    const current = existsSync(path) ? await readAdapter(path).catch(() => undefined) : undefined;
    if (current?.embedder.id !== embedder.id || current.generator.id !== generator.id || current.projectorHidden !== PROJECTOR_HIDDEN) {
      await writeRandomAdapter(path, { embedder, generator, projectorHidden: PROJECTOR_HIDDEN, seed: "hef-default-adapter" });
    }
    return path;
  })().finally(() => {
    pending = undefined;
  });
  return pending;
}
