// The embedded default adapter: untrained weights of the right shapes for the embedded tiny models,
// so that hef mode runs end to end on a fresh machine. It fuses by the mean (no learned fuser):
// with random weights a learned fuser would scramble the parents that the tiny embedder's lexical
// vectors otherwise make meaningful.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensureDefaultModel } from "../models/defaultModels";
import { fingerprintFile } from "../models/embedder";
import { modelSpec } from "../models/modelSpecs";
import { findPackageRoot } from "../models/packageRoot";
import { readAdapter, writeRandomAdapter } from "./adapter";

const PROJECTOR_HIDDEN = 512;

export function defaultAdapterPath(): string {
  return join(findPackageRoot(), "dist", "models", "tiny-adapter.gguf");
}

let pending: Promise<string> | undefined;

/** Absolute path of the default adapter, (re)written when missing or made for other default model files. */
export function ensureDefaultAdapter(): Promise<string> {
  pending ??= (async () => {
    const embedderPath = await ensureDefaultModel("tiny-embed");
    const generatorPath = await ensureDefaultModel("tiny-generator");
    const embedder = { name: "tiny-embed", id: fingerprintFile(embedderPath), dim: modelSpec("tiny-embed").hidden };
    const generator = { name: "tiny-generator", id: fingerprintFile(generatorPath), dim: modelSpec("tiny-generator").hidden };
    const path = defaultAdapterPath();
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
