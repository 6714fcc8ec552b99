// The embedder loaded once on the addon (NativeEmbedder, sidecar/models/embedder.ts): its chunk
// vectors and token counts are those of node-llama-cpp's LlamaEmbedder, which built the caches
// before it (the reference here only), and embedding chunks leaves the query window's cache alone.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LlamaEmbedder, NativeEmbedder } from "../../sidecar/models/embedder";
import { writeModel } from "../../sidecar/syntheticModels/buildModel";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { modelSpec } from "../../sidecar/syntheticModels/modelSpecs";
import { NativeEncoder } from "../../sidecar/native/encoder";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { cosine, maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();
const dir = mkdtempSync(join(tmpdir(), "hef-encoder-embedder-test-"));

const CODE =
  "def add(a, b):\n    return a + b\n\nclass Cart:\n    def total(self):\n        return sum(item.price for item in self.items)\n";
/** Inputs of one token, a few lines, and close to the 512-token budget. */
const TEXTS = ["x", CODE, CODE.repeat(12)];

describe("the native embedder", { skip }, () => {
  const paths: Record<string, string> = {};

  before(async () => {
    paths["tiny-embed"] = await ensureTinyModel("tiny-embed");
    // Hidden states that depend on context (tiny-embed's are a bag of tokens).
    paths["random-mean"] = join(dir, "random-mean.gguf");
    await writeModel(
      { ...modelSpec("tiny-embed"), layers: 2, ffn: 64, weights: "random", weightStd: 0.05, quant: "f32" },
      paths["random-mean"],
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of ["tiny-embed", "random-mean"]) {
    test(`${name}: the same identity, token counts and vectors as LlamaEmbedder`, async (t) => {
      const reference = await LlamaEmbedder.load(paths[name]!, { backend: "cpu", threads: 1 });
      const embedder = await NativeEmbedder.load(paths[name]!, { backend: "cpu", threads: 1 });
      try {
        assert.deepEqual(
          [embedder.id, embedder.name, embedder.dim, embedder.maxTokens],
          [reference.id, reference.name, reference.dim, reference.maxTokens],
        );
        const counts = TEXTS.map((text) => embedder.countTokens(text));
        assert.deepEqual(
          counts,
          TEXTS.map((text) => reference.countTokens(text)),
        );
        assert.ok(counts[2]! > 400 && counts[2]! <= embedder.maxTokens, `the long input has ${counts[2]} tokens`);
        const expected = await reference.embed(TEXTS);
        const got = await embedder.embed(TEXTS);
        const worst = Math.max(...got.map((vector, i) => maxAbsDiff(vector, expected[i]!)));
        const lowestCosine = Math.min(...got.map((vector, i) => cosine(vector, expected[i]!)));
        t.diagnostic(
          `vs LlamaEmbedder over ${TEXTS.length} inputs: max |diff| ${worst.toExponential(2)}, min cosine ${lowestCosine}`,
        );
        assert.ok(worst < 1e-4 && lowestCosine > 0.9999);
      } finally {
        await embedder.dispose();
        await reference.dispose();
      }
    });
  }

  test("embedding chunks between two queries keeps the query window's cached positions", async () => {
    const embedder = await NativeEmbedder.load(paths["random-mean"]!, { backend: "cpu", threads: 1 });
    try {
      const window = embedder.encoder.tokenize(CODE, true);
      const first = await embedder.encoder.embedTokens(window);
      const [chunk] = await embedder.embed([CODE.repeat(3)]);
      const second = await embedder.encoder.embedTokens(window);
      assert.deepEqual([second.reused, second.decoded], [window.length, 0]);
      assert.deepEqual(second.vector, first.vector);
      // The chunk context starts empty for every input: the same chunk again gives the same vector.
      assert.deepEqual((await embedder.embed([CODE.repeat(3)]))[0], chunk);
    } finally {
      await embedder.dispose();
    }
  });

  test("refuses an input over the budget, an empty one, and chunks on an encoder without their context", async () => {
    const embedder = await NativeEmbedder.load(paths["tiny-embed"]!, { backend: "cpu", threads: 1, maxTokens: 16 });
    try {
      await assert.rejects(embedder.embed([CODE.repeat(4)]), /embedChunk: \d+ tokens do not fit the context of 24/);
      await assert.rejects(embedder.embed([""]), /cannot embed an empty input/);
    } finally {
      await embedder.dispose();
    }
    const encoder = await NativeEncoder.load(paths["tiny-embed"]!, { threads: 1 });
    try {
      assert.equal(encoder.info.chunkContext, 0);
      await assert.rejects(encoder.embedChunk(encoder.tokenize(CODE)), /loaded without a chunk context/);
    } finally {
      await encoder.dispose();
    }
  });
});
