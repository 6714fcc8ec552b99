// What training exports is what the sidecar runs: a generator, an embedder, a fuser transformer and
// an adapter written by the training package (training/hef_training/gguf_files.py), loaded by the
// sidecar's own loaders, against what PyTorch computed for the same inputs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkAdapter, readAdapter } from "../../sidecar/adapter/adapter";
import { LearnedFuser } from "../../sidecar/adapter/learnedFuser";
import { fingerprintFile } from "../../sidecar/models/embedder";
import { inspectModelFile } from "../../sidecar/models/modelFile";
import { AdapterOps } from "../../sidecar/native/adapterOps";
import { NativeEncoder } from "../../sidecar/native/encoder";
import { NativeGenerator } from "../../sidecar/native/generator";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { runPython } from "../helpers/python";
import { tempDir } from "../helpers/repos";
import { cosine, maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();
const dir = tempDir("hef-parity-");
// Real code the tokenizer is trained on and must then split exactly as llama.cpp does.
const FILES = [
  "samples/shop/shop/cart.py",
  "samples/shop/shop/pricing/discounts.py",
  "sidecar/completion/window.ts",
  "media/panel.js",
].map((f) => resolve(f));

interface Reference {
  tokens: number[][];
  generator: { prompt: number[]; pseudo: number[][]; logitsPlain: number[]; logitsPseudo: number[] };
  embedder: { inputs: number[][]; vectors: number[][] };
  projector: { z: number[][]; out: number[][] };
  fuser: { children: number[][][]; parents: number[][] };
}
let ref: Reference;

describe("training exports load in the sidecar and compute what PyTorch computes", { skip }, () => {
  before(() => {
    runPython(["training/tests/parity_fixture.py", dir, ...FILES]);
    ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
  });

  describe("generator", () => {
    let generator: NativeGenerator;
    before(async () => {
      generator = await NativeGenerator.load(join(dir, "generator.gguf"), { threads: 1, contextSize: 1024 });
    });
    after(() => generator?.dispose());

    test("llama.cpp tokenizes real files into the ids training used", () => {
      FILES.forEach((file, i) => {
        const ids = Array.from(generator.tokenize(readFileSync(file, "utf8")));
        assert.deepEqual(ids, ref.tokens[i], file);
      });
    });

    test("next-token logits within 1e-3, with and without pseudo-tokens first", async () => {
      await generator.resetCache();
      const plain = await generator.evaluate({ tokens: ref.generator.prompt });
      assert.ok(
        maxAbsDiff(plain.logits, ref.generator.logitsPlain) < 1e-3,
        `plain: ${maxAbsDiff(plain.logits, ref.generator.logitsPlain)}`,
      );
      const pseudo = Float32Array.from(ref.generator.pseudo.flat());
      const withPseudo = await generator.evaluate({ pseudo, tokens: ref.generator.prompt });
      const diff = maxAbsDiff(withPseudo.logits, ref.generator.logitsPseudo);
      assert.ok(diff < 1e-3, `with pseudo-tokens: ${diff}`);
      assert.ok(maxAbsDiff(withPseudo.logits, plain.logits) > 1e-2, "pseudo-tokens change the logits");
    });

    test("declares the FIM layouts it was trained on", async () => {
      const { info } = await inspectModelFile(join(dir, "generator.gguf"), "generator");
      assert.deepEqual((info.metadata as unknown as { hef: { fim: unknown } }).hef.fim, { psm: true, spm: true });
    });
  });

  test("embedder vectors at cosine >= 0.9999", async () => {
    const encoder = await NativeEncoder.load(join(dir, "embedder.gguf"), { purpose: "embedder", threads: 1 });
    try {
      assert.equal(encoder.info.pooling, "mean");
      for (const [i, ids] of ref.embedder.inputs.entries()) {
        await encoder.resetCache();
        const { vector } = await encoder.embedTokens(ids);
        const similarity = cosine(vector, ref.embedder.vectors[i]!);
        assert.ok(similarity >= 0.9999, `input ${i}: cosine ${similarity}`);
      }
    } finally {
      await encoder.dispose();
    }
  });

  describe("adapter", () => {
    let ops: AdapterOps;
    let fuser: LearnedFuser;
    before(async () => {
      const adapter = await readAdapter(join(dir, "adapter.gguf"));
      ops = await AdapterOps.load(adapter.path, { backend: "cpu" });
      fuser = await LearnedFuser.load(adapter, ops, { gpuLayers: 0 });
    });
    after(async () => {
      await fuser?.dispose();
      ops?.dispose();
    });

    test("names the exported models by the sidecar's own fingerprint", async () => {
      const adapter = await readAdapter(join(dir, "adapter.gguf"));
      const embedder = join(dir, "embedder.gguf");
      assert.equal(adapter.embedder.id, fingerprintFile(embedder));
      assert.equal(adapter.generator.id, fingerprintFile(join(dir, "generator.gguf")));
      assert.equal(adapter.fuser?.modelPath, join(dir, "fuser.gguf"));
      assert.deepEqual(
        checkAdapter(adapter, {
          embedder: { name: "embedder.gguf", id: fingerprintFile(embedder), dim: 48 },
          fuserDim: 32,
          b: 3,
        }).warnings,
        [],
      );
    });

    test("projector outputs within 1e-4", () => {
      const rows = ref.projector.z.length;
      const out = ops.project(Float32Array.from(ref.projector.z.flat()), rows);
      assert.ok(
        maxAbsDiff(out, ref.projector.out.flat()) < 1e-4,
        `projector: ${maxAbsDiff(out, ref.projector.out.flat())}`,
      );
    });

    test("fuser parents within 1e-4, groups of 3, 1 and 2 children in one call", async () => {
      const parents = await fuser.fuse(
        ref.fuser.children.map((group) => group.map((child) => Float32Array.from(child))),
      );
      const diff = maxAbsDiff(
        parents.flatMap((p) => Array.from(p)),
        ref.fuser.parents.flat(),
      );
      assert.ok(diff < 1e-4, `fuser: ${diff}`);
    });
  });
});
