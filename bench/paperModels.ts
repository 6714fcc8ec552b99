// Random-weight models with exactly the shapes of the paper's pipeline (generator Qwen2.5-Coder-1.5B
// Q4_K_M, fuser Qwen2.5-Coder-0.5B Q4_K_M, embedder Qwen3-Embedding-0.6B Q8_0) and a random adapter
// between them, made once under bench/out/models: what bench:complete and bench:latency measure
// latency on without the paper's trained weights. The generator may instead have Qwen2.5-Coder-0.5B's
// shapes, the one issue 16's goals are set on.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fingerprintFile } from "../sidecar/models/embedder";
import { makeShapedModel } from "../sidecar/syntheticModels/generatedModels";
import { modelSpec } from "../sidecar/syntheticModels/modelSpecs";
import { writeRandomAdapter } from "../sidecar/syntheticModels/randomAdapter";

const OUT = resolve("bench/out");

export const PAPER_GENERATORS = ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] as const;
export type PaperGenerator = (typeof PAPER_GENERATORS)[number];

export async function preparePaperModels(generator: PaperGenerator = "qwen2.5-coder-1.5b"): Promise<{
  embedderPath: string;
  generatorPath: string;
  adapterPath: string;
}> {
  const dir = join(OUT, "models");
  mkdirSync(dir, { recursive: true });
  const embedderPath = join(dir, "qwen3-embedding-0.6b-q8_0.gguf");
  const fuserPath = join(dir, "qwen2.5-coder-0.5b-q4_k_m.gguf");
  // The 0.5B generator is the fuser's file: the same shapes, and one file fewer to write.
  const generatorPath = generator === "qwen2.5-coder-0.5b" ? fuserPath : join(dir, "qwen2.5-coder-1.5b-q4_k_m.gguf");
  await makeShapedModel("qwen3-embedding-0.6b", embedderPath);
  await makeShapedModel(generator, generatorPath);
  await makeShapedModel("qwen2.5-coder-0.5b", fuserPath);
  const adapterPath = join(
    dir,
    generator === "qwen2.5-coder-1.5b" ? "hef-random-adapter.gguf" : `hef-random-adapter-${generator}.gguf`,
  );
  if (!existsSync(adapterPath)) {
    await writeRandomAdapter(adapterPath, {
      embedder: {
        name: "qwen3-embedding-0.6b",
        id: fingerprintFile(embedderPath),
        dim: modelSpec("qwen3-embedding-0.6b").hidden,
      },
      generator: {
        name: generator,
        id: fingerprintFile(generatorPath),
        dim: modelSpec(generator).hidden,
      },
      // Table 3 of the paper: a 2-layer MLP with hidden size 2048.
      projectorHidden: 2048,
      fuser: {
        name: "qwen2.5-coder-0.5b",
        id: fingerprintFile(fuserPath),
        dim: modelSpec("qwen2.5-coder-0.5b").hidden,
        modelPath: fuserPath,
      },
    });
  }
  return { embedderPath, generatorPath, adapterPath };
}
