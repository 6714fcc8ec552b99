// The native Encoder (sidecar/native/encoder.cpp): pooled embeddings of token arrays equal to
// node-llama-cpp's embedding context, with the KV-cache prefix reused between calls, and the last
// hidden states of packed input-vector sequences equal to a float64 Qwen2 forward pass.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import { writeModel } from "../../sidecar/syntheticModels/buildModel";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { llamaRuntime } from "../../sidecar/models/llamaRuntime";
import { ModelFileError } from "../../sidecar/models/modelFile";
import { type ModelSpec, PoolingType, modelSpec } from "../../sidecar/syntheticModels/modelSpecs";
import { Prng } from "../../sidecar/util/prng";
import { NativeEncoder } from "../../sidecar/native/encoder";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { FUSER_SPEC, loadQwen2Reference } from "../helpers/qwen2Reference";
import { cosine, maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();
const dir = mkdtempSync(join(tmpdir(), "hef-encoder-test-"));

const CODE =
  "def add(a, b):\n    return a + b\n\nclass Cart:\n    def total(self):\n        return sum(item.price for item in self.items)\n";
const MORE = "\n    def count(self):\n        return len(self.items)\n";

/** Embedders whose hidden states depend on context (the default tiny-embed's do not: it is a bag of tokens). */
const RANDOM_EMBEDDERS: Record<string, ModelSpec> = {
  "random-mean": { ...modelSpec("tiny-embed"), layers: 2, ffn: 64, weights: "random", weightStd: 0.05, quant: "f32" },
  "random-last": {
    ...modelSpec("tiny-embed"),
    layers: 2,
    ffn: 64,
    weights: "random",
    weightStd: 0.05,
    quant: "f32",
    pooling: PoolingType.LAST,
  },
};

function randomRows(rows: number, dim: number, seed: string): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: rows * dim }, () => prng.normal());
}

/** The model's special tokens around `text`, added by the caller as the API asks. */
function withSpecials(encoder: NativeEncoder, text: string): Int32Array {
  const { addBos, addEos, tokens } = encoder.info;
  return Int32Array.from([
    ...(addBos ? [tokens.bos!] : []),
    ...encoder.tokenize(text),
    ...(addEos ? [tokens.eos!] : []),
  ]);
}

describe("native encoder", { skip }, () => {
  const paths: Record<string, string> = {};
  let fuserPath = "";
  let llamaModels: LlamaModel[] = [];

  before(async () => {
    paths["tiny-embed"] = await ensureTinyModel("tiny-embed");
    for (const [name, spec] of Object.entries(RANDOM_EMBEDDERS)) {
      paths[name] = join(dir, `${name}.gguf`);
      await writeModel(spec, paths[name]!);
    }
    fuserPath = join(dir, "fuser.gguf");
    await writeModel(FUSER_SPEC, fuserPath);
  });
  after(async () => {
    for (const model of llamaModels) await model.dispose();
    llamaModels = [];
    rmSync(dir, { recursive: true, force: true });
  });

  async function llamaEmbeddingContext(path: string): Promise<LlamaEmbeddingContext> {
    const llama = await llamaRuntime("cpu");
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    llamaModels.push(model);
    return model.createEmbeddingContext({ contextSize: 1024, batchSize: 1024, threads: 1 });
  }

  test("reports the model's pooling and who adds special tokens", async () => {
    const encoder = await NativeEncoder.load(paths["random-last"]!, { threads: 1 });
    try {
      const info = encoder.info;
      assert.equal(info.architecture, "qwen3");
      assert.equal(info.pooling, "last");
      assert.equal(info.causal, true);
      assert.equal(info.nEmbdOut, 256);
      assert.equal(info.addBos, false);
      assert.equal(info.addEos, false);
      assert.equal(typeof info.tokens.eos, "number");
      assert.equal(encoder.detokenize(encoder.tokenize(CODE)), CODE);
    } finally {
      await encoder.dispose();
    }
  });

  for (const name of ["tiny-embed", ...Object.keys(RANDOM_EMBEDDERS)]) {
    test(`${name}: embedTokens equals node-llama-cpp's embedding context; a reused prefix gives the cold result`, async (t) => {
      const path = paths[name]!;
      const warm = await NativeEncoder.load(path, { threads: 1, contextSize: 1024 });
      const cold = await NativeEncoder.load(path, { threads: 1, contextSize: 1024 });
      const reference = await llamaEmbeddingContext(path);
      try {
        const base = withSpecials(warm, CODE);
        // Tokens appended to base (tokenizing the longer text could merge tokens across the seam).
        const longer = Int32Array.from([...base, ...warm.tokenize(MORE)]);
        const windows = [base, longer, longer.slice(5), longer.slice(5, -3), base];
        let worst = 0;
        let lowestCosine = 1;
        for (const tokens of windows) {
          const expected = (await reference.getEmbeddingFor(Array.from(tokens) as Token[])).vector;
          const got = await warm.embedTokens(tokens);
          worst = Math.max(worst, maxAbsDiff(got.vector, expected));
          lowestCosine = Math.min(lowestCosine, cosine(got.vector, expected));
          // A first token unlike the window's makes the cold encoder decode everything.
          await cold.embedTokens(Int32Array.of(tokens[0] === 1 ? 2 : 1));
          const fresh = await cold.embedTokens(tokens);
          assert.equal(fresh.reused, 0);
          assert.ok(
            maxAbsDiff(got.vector, fresh.vector) < 1e-5,
            `warm vs cold ${maxAbsDiff(got.vector, fresh.vector)}`,
          );
        }
        t.diagnostic(
          `vs node-llama-cpp over ${windows.length} windows: max |diff| ${worst.toExponential(2)}, min cosine ${lowestCosine}`,
        );
        assert.ok(lowestCosine > 0.9999 && worst < 1e-4);

        const again = await warm.embedTokens(base);
        assert.deepEqual([again.reused, again.decoded], [base.length, 0]);
        const extended = await warm.embedTokens(longer);
        assert.deepEqual([extended.reused, extended.decoded], [base.length, longer.length - base.length]);
        const same = await warm.embedTokens(longer);
        assert.deepEqual([same.reused, same.decoded], [longer.length, 0]);
        const slid = await warm.embedTokens(longer.slice(1));
        assert.equal(slid.reused, 0);
      } finally {
        await warm.dispose();
        await cold.dispose();
      }
    });
  }

  test("each slot keeps its own window: coming back to a document reuses it, the least recently used gives way", async () => {
    const encoder = await NativeEncoder.load(paths["random-last"]!, { threads: 1, contextSize: 512, maxSequences: 2 });
    try {
      const a = withSpecials(encoder, CODE);
      const b = withSpecials(encoder, MORE + CODE);
      const c = withSpecials(encoder, CODE + MORE);
      const first = await encoder.embedTokens(a, "a.py");
      await encoder.embedTokens(b, "b.py");
      const back = await encoder.embedTokens(a, "a.py");
      assert.deepEqual([back.reused, back.decoded], [a.length, 0], "a.py's window was kept while b.py's was embedded");
      assert.deepEqual(back.vector, first.vector);
      const bAgain = await encoder.embedTokens(b, "b.py");
      assert.deepEqual([bAgain.reused, bAgain.decoded], [b.length, 0]);
      // Typing on in a.py: only the new tokens decoded, over a.py's own positions alone.
      const typed = Int32Array.from([...a, ...encoder.tokenize(MORE)]);
      const extended = await encoder.embedTokens(typed, "a.py");
      assert.deepEqual([extended.reused, extended.decoded], [a.length, typed.length - a.length]);
      await encoder.resetCache("scratch.py");
      const cold = await encoder.embedTokens(typed, "scratch.py");
      assert.equal(cold.reused, 0);
      assert.ok(
        maxAbsDiff(extended.vector, cold.vector) < 1e-5,
        `extended vs cold ${maxAbsDiff(extended.vector, cold.vector)}`,
      );
      // resetCache(slot) forgets that slot alone.
      await encoder.resetCache("scratch.py");
      assert.equal((await encoder.embedTokens(typed, "a.py")).reused, typed.length);
      // Two slots: c.py takes the least recently used one (b.py's), then b.py takes a.py's.
      await encoder.embedTokens(c, "c.py");
      const bEvicted = await encoder.embedTokens(b, "b.py");
      assert.deepEqual([bEvicted.reused, bEvicted.decoded], [0, b.length]);
      const aEvicted = await encoder.embedTokens(a, "a.py");
      assert.deepEqual([aEvicted.reused, aEvicted.decoded], [0, a.length]);
      assert.ok(maxAbsDiff(aEvicted.vector, first.vector) < 1e-5, "decoded again, the same vector");
      await assert.rejects(
        encoder.embedTokens(new Int32Array(257).fill(a[0]!), "big.py"),
        /do not fit the context of 256/,
      );
    } finally {
      await encoder.dispose();
    }
  });

  test("lastHidden equals a float64 Qwen2 forward pass; packed sequences equal one at a time", async (t) => {
    const reference = await loadQwen2Reference(fuserPath);
    const encoder = await NativeEncoder.load(fuserPath, {
      purpose: "hidden",
      threads: 2,
      contextSize: 512,
      maxSequences: 32,
      f32Cache: true,
    });
    try {
      const d = encoder.info.nEmbdInp;
      assert.equal(d, 64);
      assert.equal(encoder.info.pooling, "none");
      const lengths = [1, 3, 8, 5, 2, 8, 7];
      const total = lengths.reduce((a, b) => a + b, 0);
      const inputs = randomRows(total, d, "fuser-inputs");
      const packed = await encoder.lastHidden(inputs, lengths);
      assert.equal(packed.length, lengths.length * d);
      let offset = 0;
      let worstReference = 0;
      let worstSingle = 0;
      for (const [i, len] of lengths.entries()) {
        const rows = inputs.subarray(offset * d, (offset + len) * d);
        const expected = reference.lastHidden(rows);
        const got = packed.subarray(i * d, (i + 1) * d);
        worstReference = Math.max(worstReference, maxAbsDiff(got, expected));
        worstSingle = Math.max(worstSingle, maxAbsDiff(got, await encoder.lastHidden(rows.slice(), [len])));
        offset += len;
      }
      t.diagnostic(
        `max |diff| vs float64 reference ${worstReference.toExponential(2)}, packed vs one at a time ${worstSingle.toExponential(2)}`,
      );
      assert.ok(worstReference < 1e-4, `vs reference ${worstReference}`);
      assert.ok(worstSingle < 1e-5, `packed vs single ${worstSingle}`);

      // 40 sequences with at most 32 per llama_decode: two packs, the same answers.
      const many = Array.from({ length: 40 }, (_, i) => lengths[i % lengths.length]!);
      const manyInputs = randomRows(
        many.reduce((a, b) => a + b, 0),
        d,
        "many",
      );
      const all = await encoder.lastHidden(manyInputs, many);
      const first = many.slice(0, 7).reduce((a, b) => a + b, 0);
      const head = await encoder.lastHidden(manyInputs.slice(0, first * d), many.slice(0, 7));
      assert.ok(maxAbsDiff(all.subarray(0, 7 * d), head) < 1e-5);

      const timing = Array.from({ length: 32 }, () => 8);
      const timingInputs = randomRows(32 * 8, d, "timing");
      await encoder.lastHidden(timingInputs, timing);
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) await encoder.lastHidden(timingInputs, timing);
      t.diagnostic(`lastHidden of 32 sequences x 8 rows: ${((performance.now() - t0) / 5).toFixed(2)} ms`);
    } finally {
      await encoder.dispose();
    }
  });

  test("refuses what it cannot do, with a clear error", async () => {
    await assert.rejects(NativeEncoder.load(fuserPath), ModelFileError);
    await assert.rejects(NativeEncoder.load(join(dir, "missing.gguf"), { purpose: "hidden" }), ModelFileError);
    const encoder = await NativeEncoder.load(fuserPath, {
      purpose: "hidden",
      threads: 1,
      contextSize: 64,
      maxSequences: 4,
    });
    try {
      await assert.rejects(
        encoder.embedTokens([1, 2, 3]),
        /embedTokens needs a model pooled by mean, cls or last; this one's pooling is none/,
      );
      await assert.rejects(
        encoder.lastHidden(new Float32Array(64 * 3), [2]),
        /lengths add up to 2 rows of 64 floats, inputs holds 192/,
      );
      await assert.rejects(
        encoder.lastHidden(new Float32Array(64 * 65), [65]),
        /a sequence of 65 rows \(each needs 1\.\.64/,
      );
      await encoder.dispose();
      assert.throws(() => encoder.tokenize("x"), /disposed/);
    } finally {
      await encoder.dispose();
    }
  });
});
