import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { build } from "esbuild";
import { type Llama, type LlamaModel, getLlama, readGgufFileInfo } from "node-llama-cpp";
import { writeModel, specVocab } from "../../sidecar/syntheticModels/buildModel";
import {
  tinyModelPath,
  ensureTinyModel,
  makeShapedModel,
  readContentVersion,
} from "../../sidecar/syntheticModels/generatedModels";
import { GgmlType, ggmlTypeName } from "../../sidecar/models/ggmlTypes";
import {
  MODEL_SPECS,
  PoolingType,
  SHAPED_MODEL_NAMES,
  modelSpec,
  modelTensorShapes,
  parameterCount,
} from "../../sidecar/syntheticModels/modelSpecs";
import { findPackageRoot } from "../../sidecar/util/packageRoot";
import { tensorType, useMoreBits } from "../../sidecar/syntheticModels/quantMix";
import { cosine } from "../helpers/vectors";

const root = findPackageRoot();
const dir = mkdtempSync(join(tmpdir(), "hef-models-test-"));
let llama: Llama;
const models: LlamaModel[] = [];

before(async () => {
  llama = await getLlama({ gpu: false, build: "never", progressLogs: false });
});
after(async () => {
  for (const model of models) await model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");
type Metadata = Record<string, Record<string, unknown>>;

async function load(path: string): Promise<LlamaModel> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  models.push(model);
  return model;
}

describe("model specs", () => {
  test("random-weight specs have the real models' parameter counts", (t) => {
    const expected = {
      "qwen3-embedding-0.6b": 595_776_512,
      "qwen2.5-coder-0.5b": 494_032_768,
      "qwen2.5-coder-1.5b": 1_543_714_304,
    };
    for (const name of SHAPED_MODEL_NAMES) {
      const spec = modelSpec(name);
      const vocabSize = typeof spec.vocab.size === "number" ? spec.vocab.size : 0;
      const count = parameterCount(spec, vocabSize);
      t.diagnostic(`${name}: ${(count / 1e6).toFixed(1)}M parameters`);
      assert.equal(count, expected[name]);
    }
  });

  test("Q4_K_M mix follows llama.cpp, with Q8_0 where rows are not whole 256-blocks", () => {
    const types = (name: "qwen2.5-coder-0.5b" | "qwen2.5-coder-1.5b"): Map<string, string> => {
      const spec = modelSpec(name);
      return new Map(modelTensorShapes(spec, 151936).map((t) => [t.name, ggmlTypeName(tensorType(spec, t))]));
    };
    const small = types("qwen2.5-coder-0.5b");
    assert.equal(small.get("token_embd.weight"), "Q8_0"); // tied output, 896 % 256 != 0
    assert.equal(small.get("blk.0.attn_q.weight"), "Q8_0");
    assert.equal(small.get("blk.0.ffn_down.weight"), "Q6_K"); // 4864 = 19 * 256, more bits in layer 0
    assert.equal(small.get("blk.4.ffn_down.weight"), "Q4_K");
    assert.equal(small.get("blk.0.attn_q.bias"), "F32");
    const big = types("qwen2.5-coder-1.5b");
    assert.equal(big.get("token_embd.weight"), "Q6_K");
    assert.equal(big.get("blk.5.attn_q.weight"), "Q4_K");
    const moreBits = [...Array(28).keys()].filter((i) => useMoreBits(i, 28));
    assert.deepEqual(moreBits, [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]);
    for (let i = 0; i < 28; i++) {
      const expected = moreBits.includes(i) ? "Q6_K" : "Q4_K";
      assert.equal(big.get(`blk.${i}.attn_v.weight`), expected);
      assert.equal(big.get(`blk.${i}.ffn_down.weight`), expected);
    }
  });
});

describe("tiny embedder", () => {
  const path = join(dir, "tiny-embed.gguf");

  test("writes deterministically: same spec and seed give identical bytes", async () => {
    const first = await writeModel("tiny-embed", path);
    const again = await writeModel("tiny-embed", join(dir, "tiny-embed-again.gguf"));
    assert.equal(sha256(path), sha256(again.path));
    const otherSeed = await writeModel("tiny-embed", join(dir, "tiny-embed-seed2.gguf"), { seed: 2 });
    assert.notEqual(sha256(path), sha256(otherSeed.path));
    assert.ok(first.bytes < 12e6, `${first.bytes} bytes`);
  });

  test("declares mean pooling and says it is a test model", async () => {
    const info = await readGgufFileInfo(path, {
      sourceType: "filesystem",
      logWarnings: false,
      ignoreKeys: ["tokenizer.ggml.merges"],
    });
    const md = info.metadata as unknown as Metadata;
    assert.equal(md.qwen3!.pooling_type, PoolingType.MEAN);
    assert.match(String(md.general!.name), /test/i);
    assert.match(String(md.general!.description), /not a trained model/);
    const zeroed = info.tensorInfo!.filter((t) => /attn_output|ffn_down/.test(t.name));
    assert.equal(zeroed.length, 2 * Number(md.qwen3!.block_count), "attention output and FFN down of every layer");
  });

  test("loads in node-llama-cpp and embeds lexically: near-identical text is closer than unrelated code", async (t) => {
    const model = await load(path);
    const context = await model.createEmbeddingContext({ contextSize: 520, threads: llama.cpuMathCores });
    const embed = async (text: string): Promise<readonly number[]> => (await context.getEmbeddingFor(text)).vector;
    const a = await embed(
      "def total_price(cart):\n    return sum(item.price * item.quantity for item in cart.items)\n",
    );
    const b = await embed("def total_price(cart):\n    return sum(item.price * item.qty for item in cart.items)\n");
    const c = await embed(
      "export function debounce<T>(fn: (arg: T) => void, ms: number) {\n  let timer: NodeJS.Timeout;\n}\n",
    );
    assert.equal(a.length, MODEL_SPECS["tiny-embed"].hidden);
    assert.equal(model.embeddingVectorSize, 256);
    assert.ok(a.every(Number.isFinite));
    const near = cosine(a, b);
    const far = cosine(a, c);
    t.diagnostic(`cosine near-identical ${near.toFixed(3)}, unrelated ${far.toFixed(3)}`);
    assert.ok(near > 0.8 && near - far > 0.5, `near ${near.toFixed(3)}, far ${far.toFixed(3)}`);
    await context.dispose();
  });

  test("its tokenizer counts real source at 3+ bytes per token", async (t) => {
    const model = await load(path);
    const files = [
      "node_modules/typescript/lib/typescript.js", // held out: the corpus has only the .d.ts files
      "node_modules/chokidar/esm/index.js",
      "node_modules/ignore/index.js",
      "sidecar/syntheticModels/buildModel.ts",
      "sidecar/syntheticModels/gguf/writer.ts",
    ];
    let bytes = 0;
    let tokens = 0;
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8").slice(0, 100_000);
      const n = model.tokenize(text).length;
      const ratio = Buffer.byteLength(text) / n;
      t.diagnostic(`${file}: ${ratio.toFixed(2)} bytes/token`);
      assert.ok(ratio > 2.8, `${file}: ${ratio.toFixed(2)} bytes/token`);
      bytes += Buffer.byteLength(text);
      tokens += n;
    }
    assert.ok(bytes / tokens >= 3.2, `${(bytes / tokens).toFixed(2)} bytes/token overall`);
  });
});

describe("tiny generator", () => {
  test("loads, tokenizes FIM prompts and generates tokens", async () => {
    const path = join(dir, "tiny-generator.gguf");
    await writeModel("tiny-generator", path);
    const model = await load(path);
    const vocab = specVocab(MODEL_SPECS["tiny-generator"]);
    const fim = model.tokenize("<|fim_prefix|>def f(x):\n    return <|fim_suffix|>\n<|fim_middle|>", true);
    assert.equal(fim[0], vocab.special["<|fim_prefix|>"]);
    assert.ok(fim.includes(vocab.special["<|fim_suffix|>"]! as never));
    assert.equal(fim.at(-1), vocab.special["<|fim_middle|>"]);
    assert.equal(model.tokens.infill.prefix, vocab.special["<|fim_prefix|>"]);
    const context = await model.createContext({ contextSize: 256, threads: llama.cpuMathCores });
    const sequence = context.getSequence();
    const generated: number[] = [];
    for await (const token of sequence.evaluate(fim, { temperature: 0 })) {
      generated.push(token);
      if (generated.length === 5) break;
    }
    assert.equal(generated.length, 5);
    assert.ok(
      generated.every((id) => id < vocab.bpeTokenCount),
      "only real tokens win",
    );
    assert.ok(model.detokenize(generated as never).length > 0);
    await context.dispose();
  });
});

describe("tiny test models and shaped models", () => {
  test("ensureTinyModel puts a tiny test model under <package root>/dist/models, once", async () => {
    const [p1, p2] = await Promise.all([ensureTinyModel("tiny-embed"), ensureTinyModel("tiny-embed")]);
    assert.equal(p1, join(root, "dist", "models", "tiny-embed.gguf"));
    assert.equal(p2, p1);
    assert.equal(tinyModelPath("tiny-embed"), p1);
    assert.equal(sha256(p1), sha256(join(dir, "tiny-embed.gguf")));
    assert.equal(await ensureTinyModel("tiny-embed"), p1);
  });

  test("an existing file is reused only when its content-version stamp matches", async () => {
    const path = join(dir, "shaped-tiny.gguf");
    const first = await makeShapedModel("tiny-generator", path);
    assert.equal(first.reused, false);
    const stamp = await readContentVersion(path);
    assert.equal(stamp, first.contentVersion);
    const second = await makeShapedModel("tiny-generator", path);
    assert.equal(second.reused, true);
    assert.equal(second.parameters, first.parameters);
    writeFileSync(path, "not a gguf");
    assert.equal(await readContentVersion(path), undefined);
    assert.equal((await makeShapedModel("tiny-generator", path)).reused, false);
    assert.equal(await readContentVersion(path), stamp);
  });

  test("the model locator works from esbuild bundles (ESM and CJS) inside the package", async () => {
    const out = join(root, "test", "out", `bundle-${process.pid}`);
    mkdirSync(out, { recursive: true });
    try {
      const esmEntry = join(out, "esm-entry.ts");
      writeFileSync(
        esmEntry,
        `import { ensureTinyModel } from ${JSON.stringify(join(root, "sidecar/syntheticModels/generatedModels"))};\nconsole.log(await ensureTinyModel("tiny-embed"));\n`,
      );
      await build({
        entryPoints: [esmEntry],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: join(out, "esm.mjs"),
        external: ["node-llama-cpp"],
        logLevel: "silent",
      });
      const cjsEntry = join(out, "cjs-entry.ts");
      writeFileSync(
        cjsEntry,
        `import { findPackageRoot } from ${JSON.stringify(join(root, "sidecar/util/packageRoot"))};\nimport { buildVocab } from ${JSON.stringify(join(root, "sidecar/syntheticModels/vocab"))};\nconsole.log(findPackageRoot() + "\\n" + buildVocab().tokens.length);\n`,
      );
      await build({
        entryPoints: [cjsEntry],
        bundle: true,
        platform: "node",
        format: "cjs",
        outfile: join(out, "cjs.cjs"),
        logLevel: "silent",
      });
      const esm = execFileSync(process.execPath, [join(out, "esm.mjs")], { encoding: "utf8" }).trim();
      assert.equal(esm, join(root, "dist", "models", "tiny-embed.gguf"));
      const cjs = execFileSync(process.execPath, [join(out, "cjs.cjs")], { encoding: "utf8" })
        .trim()
        .split("\n");
      assert.deepEqual(cjs, [root, String(256 + 8000 + 22)]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("qwen3-embedding-0.6b shape: exact tensors, real parameter count, loads and embeds", async (t) => {
    const path = join(dir, "qwen3-embedding-0.6b.gguf");
    const spec = modelSpec("qwen3-embedding-0.6b");
    try {
      const written = await makeShapedModel("qwen3-embedding-0.6b", path);
      t.diagnostic(
        `wrote ${(written.bytes / 1e6).toFixed(0)} MB (${(written.parameters / 1e6).toFixed(1)}M parameters, Q8_0) in ${written.seconds.toFixed(1)} s`,
      );
      assert.equal(written.parameters, 595_776_512);
      const info = await readGgufFileInfo(path, {
        sourceType: "filesystem",
        logWarnings: false,
        ignoreKeys: ["tokenizer.ggml.merges", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type"],
      });
      const md = info.metadata as unknown as Metadata;
      assert.equal(md.general!.architecture, "qwen3");
      assert.match(String(md.general!.description), /Random weights/);
      const arch = md.qwen3 as Record<string, unknown> & {
        attention: Record<string, unknown>;
        rope: Record<string, unknown>;
      };
      assert.equal(arch.pooling_type, PoolingType.LAST);
      assert.equal(arch.embedding_length, 1024);
      assert.equal(arch.block_count, 28);
      assert.equal(arch.feed_forward_length, 3072);
      assert.equal(arch.attention.head_count, 16);
      assert.equal(arch.attention.head_count_kv, 8);
      assert.equal(arch.attention.key_length, 128);
      assert.equal(arch.rope.freq_base, 1e6);
      assert.equal((md.tokenizer as { ggml: Record<string, unknown> }).ggml.add_eos_token, true);
      const expected = modelTensorShapes(spec, 151669);
      const tensors = info.tensorInfo!;
      assert.equal(tensors.length, expected.length);
      let parameters = 0;
      for (const [i, e] of expected.entries()) {
        const actual = tensors[i]!;
        assert.equal(actual.name, e.name);
        assert.deepEqual(actual.dimensions.map(Number), [...e.shape]);
        assert.equal(Number(actual.ggmlType), e.shape.length === 1 ? GgmlType.F32 : GgmlType.Q8_0);
        parameters += actual.dimensions.map(Number).reduce((a, b) => a * b, 1);
      }
      assert.equal(parameters, 595_776_512);
      assert.deepEqual(tensors[0]!.dimensions.map(Number), [1024, 151669]);
      assert.ok(tensors.some((x) => x.name === "blk.27.attn_k_norm.weight"));
      assert.ok(!tensors.some((x) => x.name === "output.weight"));

      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      try {
        assert.equal(model.embeddingVectorSize, 1024);
        const context = await model.createEmbeddingContext({ contextSize: 64, threads: llama.cpuMathCores });
        const { vector } = await context.getEmbeddingFor("def add(a, b):\n    return a + b");
        assert.equal(vector.length, 1024);
        assert.ok(vector.every(Number.isFinite) && vector.some((v) => v !== 0));
        await context.dispose();
      } finally {
        await model.dispose();
      }
    } finally {
      rmSync(path, { force: true });
    }
  });
});
