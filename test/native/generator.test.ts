// The native generator addon (sidecar/native/): pseudo-tokens through llama.cpp's batch.embd, KV
// cache reuse between requests, greedy generation, cancellation and model-file errors.
// Builds the addon first (scripts/build-native.mjs; a no-op when it is up to date).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { llamaRuntime } from "../../sidecar/models/llamaRuntime";
import { ModelFileError } from "../../sidecar/models/modelFile";
import { shippedModels } from "../../sidecar/models/shippedModels";
import { Prng } from "../../sidecar/util/prng";
import { type EvaluateRequest, NativeGenerator } from "../../sidecar/native/generator";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();

const dir = mkdtempSync(join(tmpdir(), "hef-native-test-"));
let modelPath = "";
/** The generator most tests share (its KV cache carries over between requests). */
let gen: NativeGenerator;
/** A second handle on the same model: a fresh context for cold runs. */
let cold: NativeGenerator;

const CODE =
  "def add(a, b):\n    return a + b\n\nclass Cart:\n    def total(self):\n        return sum(item.price for item in self.items)\n";
const MORE = "\n    def count(self):\n        return len(self.items)\n";

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** K pseudo-tokens with the scale of the model's own embedding rows (seeded, reproducible). */
function randomPseudo(k: number, nEmbd: number, seed: string, scale: number): Float32Array {
  const prng = new Prng(seed);
  const out = new Float32Array(k * nEmbd);
  for (let i = 0; i < out.length; i++) out[i] = prng.normal() * scale;
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A request decoded from scratch in a fresh cache. */
async function coldEvaluate(request: EvaluateRequest): Promise<Float32Array> {
  await cold.resetCache();
  const result = await cold.evaluate(request);
  assert.equal(result.reused, 0);
  return result.logits;
}

let rowScale = 0.05;

describe("native generator addon", { skip }, () => {
  before(async () => {
    modelPath = await ensureTinyModel("tiny-generator");
    // One thread: on a machine whose cores are busy, ggml's threads wait on each other for up to 200 ms a token.
    // No moved runs (kvReuse.test.ts): on this many-layer model they are close to, not equal to, a cold decode.
    gen = await NativeGenerator.load(modelPath, { threads: 1, contextSize: 4096, cacheReuse: 0 });
    cold = await NativeGenerator.load(modelPath, { threads: 1, contextSize: 4096 });
    const rows = await gen.tokenEmbeddingRows(gen.tokenize(CODE));
    rowScale = Math.sqrt(rows.reduce((s, v) => s + v * v, 0) / rows.length);
  });
  after(async () => {
    await gen?.dispose();
    await cold?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("reports model info with FIM tokens, tokenizes and detokenizes", (t) => {
    const info = gen.info;
    t.diagnostic(
      `${info.description}; n_embd ${info.nEmbd}, vocab ${info.nVocab}, ctx ${info.nCtx}, backends ${info.devices.join(", ")} from ${info.backendDir}`,
    );
    assert.equal(info.architecture, "qwen2");
    assert.equal(info.nEmbd, 256);
    assert.equal(info.nEmbdInp, 256);
    assert.ok(info.nVocab > 1000);
    assert.equal(info.nCtx, 4096);
    for (const key of ["fimPre", "fimSuf", "fimMid", "eos"] as const)
      assert.equal(typeof info.tokens[key], "number", key);
    assert.match(info.backendDir, /@node-llama-cpp/);
    const tokens = gen.tokenize(CODE);
    assert.ok(tokens instanceof Int32Array && tokens.length > 10);
    assert.equal(gen.detokenize(tokens), CODE);
    const fim = gen.tokenize("<|fim_prefix|>x", false, true);
    assert.equal(fim[0], info.tokens.fimPre);
    assert.notEqual(gen.tokenize("<|fim_prefix|>x", false, false)[0], info.tokens.fimPre);
  });

  test("the model's own token-embedding rows as pseudo-tokens give the tokens' logits", async (t) => {
    const tokens = gen.tokenize(CODE);
    const rows = await gen.tokenEmbeddingRows(tokens);
    assert.equal(rows.length, tokens.length * gen.info.nEmbdInp);
    await gen.resetCache();
    const byTokens = await gen.evaluate({ tokens });
    await gen.resetCache();
    const byRows = await gen.evaluate({ pseudo: rows });
    assert.equal(byRows.decoded, tokens.length);
    const diff = maxAbsDiff(byTokens.logits, byRows.logits);
    t.diagnostic(`${tokens.length} positions, max |logit diff| = ${diff}`);
    assert.ok(diff < 1e-4, `max |diff| ${diff}`);
    assert.ok(byTokens.logits.some((v) => v !== 0));
  });

  test("K pseudo-tokens change the logits and the tokens are positioned after them", async (t) => {
    const D = gen.info.nEmbdInp;
    const tokens = gen.tokenize(CODE);
    const pseudo = randomPseudo(4, D, "pseudo-a", rowScale);
    const plain = await coldEvaluate({ tokens });
    await gen.resetCache();
    const mixed = await gen.evaluate({ pseudo, tokens });
    assert.equal(mixed.reused, 0);
    assert.equal(mixed.decoded, 4 + tokens.length);
    const changed = maxAbsDiff(plain, mixed.logits);
    t.diagnostic(`4 pseudo-tokens move the logits by up to ${changed}`);
    assert.ok(changed > 1e-3, `pseudo-tokens changed nothing (${changed})`);
    // Same positions 0..K+T-1 when the tokens are given as their embedding rows after the pseudo-tokens.
    const allEmbd = await coldEvaluate({ pseudo: concat(pseudo, await gen.tokenEmbeddingRows(tokens)) });
    const positioned = maxAbsDiff(allEmbd, mixed.logits);
    t.diagnostic(`[pseudo, tokens] vs [pseudo, token rows] as embeddings: ${positioned}`);
    assert.ok(positioned < 1e-4, `tokens not at positions K.. (${positioned})`);
    // A cold run of the same request in another context gives the same logits.
    assert.ok(maxAbsDiff(await coldEvaluate({ pseudo, tokens }), mixed.logits) < 1e-4);
    // A different K changes the answer again.
    const five = await coldEvaluate({ pseudo: randomPseudo(5, D, "pseudo-a", rowScale), tokens });
    assert.ok(maxAbsDiff(five, mixed.logits) > 1e-3);
  });

  test("rejects malformed requests", async () => {
    await assert.rejects(gen.evaluate({ pseudo: new Float32Array(gen.info.nEmbdInp + 1) }), /multiple of n_embd/);
    await assert.rejects(gen.evaluate({}), /empty request/);
    await assert.rejects(gen.evaluate({ tokens: [gen.info.nVocab + 5] }), /outside the vocabulary/);
    await assert.rejects(gen.evaluate({ tokens: new Int32Array(gen.info.nCtx + 1) }), /does not fit the context/);
    // The handle still works afterwards.
    assert.equal((await gen.evaluate({ tokens: gen.tokenize("x = 1") })).logits.length, gen.info.nVocab);
  });

  test("KV reuse: a shared prefix is not decoded again and gives the cold run's logits and output", async (t) => {
    const D = gen.info.nEmbdInp;
    const pseudo = randomPseudo(8, D, "pseudo-kv", rowScale);
    const first = gen.tokenize(CODE);
    const second = gen.tokenize(CODE + MORE);
    assert.deepEqual([...second.subarray(0, first.length - 2)], [...first.subarray(0, first.length - 2)]);
    await gen.resetCache();
    const a = await gen.evaluate({ pseudo, tokens: first });
    assert.equal(a.reused, 0);
    const b = await gen.evaluate({ pseudo, tokens: second });
    const N = 8 + second.length;
    t.diagnostic(`second request: reused ${b.reused}, decoded ${b.decoded} of ${N}`);
    assert.ok(b.reused >= 8 + first.length - 2, `reused only ${b.reused}`);
    assert.equal(b.reused + b.decoded, N);
    const coldLogits = await coldEvaluate({ pseudo, tokens: second });
    const diff = maxAbsDiff(b.logits, coldLogits);
    t.diagnostic(`warm vs cold logits: max |diff| = ${diff}`);
    assert.ok(diff < 1e-3, `warm and cold logits differ by ${diff}`);
    assert.equal(argmax(b.logits), argmax(coldLogits));

    // The identical request again: everything but the last position comes from the cache.
    const again = await gen.evaluate({ pseudo, tokens: second });
    assert.equal(again.reused, N - 1);
    assert.equal(again.decoded, 1);
    assert.ok(maxAbsDiff(again.logits, b.logits) < 1e-3);

    // Generation on top of the warm cache equals generation from scratch.
    const warmGen = await gen.generate({ pseudo, tokens: second, maxTokens: 24, ignoreEog: true });
    assert.equal(warmGen.reused, N - 1);
    await cold.resetCache();
    const coldGen = await cold.generate({ pseudo, tokens: second, maxTokens: 24, ignoreEog: true });
    assert.equal(coldGen.reused, 0);
    assert.equal(coldGen.decoded, N);
    assert.deepEqual([...warmGen.tokens], [...coldGen.tokens]);
    assert.equal(warmGen.text, coldGen.text);
    assert.equal(warmGen.tokenCount, 24);

    // The generated tokens stay in the cache: continuing with them reuses the whole prompt + output
    // (the last generated token was never decoded).
    const continued = await gen.evaluate({ pseudo, tokens: Int32Array.from([...second, ...warmGen.tokens]) });
    assert.equal(continued.reused, N + 23);
    assert.equal(continued.decoded, 1);

    // One changed pseudo-token invalidates everything after it.
    const changed = pseudo.slice();
    changed[2 * D + 7] = changed[2 * D + 7]! + 0.5;
    const c = await gen.evaluate({ pseudo: changed, tokens: second });
    assert.equal(c.reused, 2);
    assert.equal(c.decoded, N - 2);
    assert.ok(maxAbsDiff(c.logits, await coldEvaluate({ pseudo: changed, tokens: second })) < 1e-3);
    assert.ok(maxAbsDiff(c.logits, b.logits) > 1e-4);

    // Fewer pseudo-tokens reuse the common ones.
    const fewer = await gen.evaluate({ pseudo: changed.subarray(0, 6 * D), tokens: second });
    assert.equal(fewer.reused, 6);
    // Pseudo-tokens are compared bit-exactly: -0 is not +0.
    const zeroed = pseudo.slice();
    zeroed[0] = 0;
    await gen.evaluate({ pseudo: zeroed, tokens: second });
    zeroed[0] = -0;
    assert.equal((await gen.evaluate({ pseudo: zeroed, tokens: second })).reused, 0);
    // Tokens without pseudo-tokens share nothing with a pseudo-prefixed cache.
    const none = await gen.evaluate({ tokens: second });
    assert.equal(none.reused, 0);
  });

  test("greedy generation stops on the token limit, a stop string and the time limit", async (t) => {
    const tokens = gen.tokenize(CODE);
    const free = await gen.generate({ tokens, maxTokens: 40, ignoreEog: true });
    assert.equal(free.stopReason, "maxTokens");
    assert.equal(free.tokenCount, 40);
    const detokenized = gen.detokenize(free.tokens);
    if (!detokenized.includes("\uFFFD")) assert.equal(free.text, detokenized);
    t.diagnostic(
      `40 tokens: prefill ${free.timings.prefillMs.toFixed(1)} ms, decode ${free.timings.decodeMs.toFixed(1)} ms`,
    );

    // A stop string taken from the middle of the unconstrained output cuts the text there.
    const cutAt = Math.floor(free.text.length / 2);
    const stop = free.text.slice(cutAt, cutAt + 3);
    assert.ok(stop.length > 0);
    const stopped = await gen.generate({ tokens, maxTokens: 40, ignoreEog: true, stop: ["\u0000never", stop] });
    assert.equal(stopped.stopReason, "stop");
    assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stop)));
    assert.ok(stopped.tokenCount <= 40);

    // Without ignoreEog the first end-of-generation token ends the output.
    const natural = await gen.generate({ tokens, maxTokens: 200 });
    assert.ok(["eog", "maxTokens"].includes(natural.stopReason));
    if (natural.stopReason === "eog") assert.ok(natural.tokenCount < 200);

    const timed = await gen.generate({ tokens, maxTokens: 100_000, ignoreEog: true, timeLimitMs: 150 });
    t.diagnostic(`time limit 150 ms: ${timed.tokenCount} tokens, total ${timed.timings.totalMs.toFixed(0)} ms`);
    assert.ok(["time", "context"].includes(timed.stopReason));
    if (timed.stopReason === "time") assert.ok(timed.timings.totalMs < 150 + 200);

    const zero = await gen.generate({ tokens, maxTokens: 0 });
    assert.equal(zero.tokenCount, 0);
    assert.equal(zero.stopReason, "maxTokens");
  });

  test("on request, an end before any text is passed over for the most likely token that writes text", async () => {
    // The shipped generator, in suffix-prefix-middle with no suffix, often ends at once after a finished line
    // (the tiny random one never ends at once); the first of these lines after which it does is the test's.
    const shipped = await NativeGenerator.load(shippedModels().generatorPath, { threads: 1, contextSize: 512 });
    try {
      const { fimPre, fimSuf, fimMid } = shipped.info.tokens;
      const probes = ["import os\n", "def add(a, b):\n    return a + b\n", "x = 1\n", "class A:\n    pass\n"];
      let tokens: number[] | undefined;
      for (const text of probes) {
        const candidate = [fimPre!, fimSuf!, fimMid!, ...shipped.tokenize(text)];
        if ((await shipped.generate({ tokens: candidate, maxTokens: 4 })).stopReason === "eog") tokens = candidate;
        if (tokens) break;
      }
      assert.ok(tokens, "the generator ends at once after none of the probes: the test needs another premise");
      assert.equal((await shipped.generate({ tokens, maxTokens: 4 })).text, "");

      const passed = await shipped.generate({ tokens, maxTokens: 1, eogAfterContent: true });
      assert.deepEqual([passed.stopReason, passed.tokenCount], ["maxTokens", 1]);
      const logits = (await shipped.evaluate({ tokens })).logits;
      const chosen = passed.tokens[0]!;
      assert.notEqual(shipped.detokenize([chosen]), "");
      // Every likelier token writes nothing: the ends, and control tokens such as the FIM markers.
      for (let t = 0; t < logits.length; t++)
        if (logits[t]! > logits[chosen]!) assert.equal(shipped.detokenize([t]), "", `token ${t} writes text`);

      // Once the output has text, an end ends it as always.
      const line = await shipped.generate({ tokens, maxTokens: 64, eogAfterContent: true });
      assert.equal(line.stopReason, "eog");
      assert.notEqual(line.text.trim(), "");
    } finally {
      await shipped.dispose();
    }
  });

  test("an AbortSignal or cancel(id) stops a long generation promptly, without blocking the event loop", async (t) => {
    const tokens = gen.tokenize(CODE);
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const pending = gen.generate({ tokens, maxTokens: 100_000, ignoreEog: true, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = performance.now();
    controller.abort();
    const result = await pending;
    const lag = performance.now() - abortedAt;
    clearInterval(timer);
    t.diagnostic(
      `cancelled after ${result.tokenCount} tokens, ${lag.toFixed(1)} ms after abort(); ${ticks} timer ticks in ${(abortedAt - started).toFixed(0)} ms`,
    );
    assert.equal(result.stopReason, "cancelled");
    assert.ok(result.tokenCount > 0 && result.tokenCount < 4000);
    assert.ok(lag < 250, `took ${lag} ms to stop`);
    assert.ok(ticks >= 10, `event loop blocked (${ticks} ticks)`);

    const byId = gen.generate({ tokens, maxTokens: 100_000, ignoreEog: true, requestId: 424242 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(gen.cancel(424242), true);
    assert.equal((await byId).stopReason, "cancelled");
    assert.equal(gen.cancel(424242), false);

    // Cancelled while still queued behind a running request: it never runs; an evaluate rejects with an AbortError.
    const blocker = gen.generate({ tokens, maxTokens: 100_000, ignoreEog: true, requestId: 515151 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const queuedController = new AbortController();
    const queuedGen = gen.generate({ tokens, maxTokens: 10, signal: queuedController.signal });
    const queuedEval = gen.evaluate({ tokens, requestId: 616161 });
    queuedController.abort();
    assert.equal(gen.cancel(616161), true);
    assert.equal(gen.cancel(515151), true);
    const blocked = await blocker;
    assert.equal(blocked.stopReason, "cancelled");
    const q = await queuedGen;
    assert.equal(q.stopReason, "cancelled");
    assert.equal(q.tokenCount, 0);
    await assert.rejects(queuedEval, { name: "AbortError" });

    // A cancelled request leaves a consistent cache: the next request is still right.
    const next = await gen.evaluate({ tokens });
    assert.ok(maxAbsDiff(next.logits, await coldEvaluate({ tokens })) < 1e-3);
  });

  test("concurrent requests on one handle are serialised and both correct", async () => {
    const D = gen.info.nEmbdInp;
    const reqA = {
      pseudo: randomPseudo(3, D, "conc-a", rowScale),
      tokens: gen.tokenize(CODE),
      maxTokens: 20,
      ignoreEog: true,
    };
    const reqB = {
      pseudo: randomPseudo(5, D, "conc-b", rowScale),
      tokens: gen.tokenize(CODE + MORE),
      maxTokens: 20,
      ignoreEog: true,
    };
    const evalC = { tokens: gen.tokenize(MORE) };
    const [a, b, c] = await Promise.all([gen.generate(reqA), gen.generate(reqB), gen.evaluate(evalC)]);
    await cold.resetCache();
    const coldA = await cold.generate(reqA);
    await cold.resetCache();
    const coldB = await cold.generate(reqB);
    assert.deepEqual([...a.tokens], [...coldA.tokens]);
    assert.deepEqual([...b.tokens], [...coldB.tokens]);
    assert.equal(a.text, coldA.text);
    assert.equal(b.text, coldB.text);
    assert.ok(maxAbsDiff(c.logits, await coldEvaluate(evalC)) < 1e-3);
  });

  test("the native lock serialises requests issued on the raw addon too", async () => {
    // Two handles' worth of work in flight on one handle's native object, bypassing the TS queue.
    const raw = (
      gen as unknown as {
        raw: { evaluate: (r: object, id: number) => Promise<{ logits: Float32Array; cancelled: boolean }> };
      }
    ).raw;
    const x = { tokens: gen.tokenize(CODE) };
    const y = { tokens: gen.tokenize(MORE + CODE) };
    const [rx, ry] = await Promise.all([raw.evaluate(x, 9001), raw.evaluate(y, 9002)]);
    assert.ok(maxAbsDiff(rx.logits, await coldEvaluate(x)) < 1e-3);
    assert.ok(maxAbsDiff(ry.logits, await coldEvaluate(y)) < 1e-3);
  });

  test("a missing or truncated model file gives a clear error", async () => {
    await assert.rejects(NativeGenerator.load(join(dir, "absent.gguf")), (error: unknown) => {
      assert.ok(error instanceof ModelFileError);
      assert.match(error.message, /absent\.gguf: generator model file not found/);
      return true;
    });
    const truncated = join(dir, "truncated.gguf");
    const bytes = readFileSync(modelPath);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(NativeGenerator.load(truncated), (error: unknown) => {
      assert.ok(error instanceof ModelFileError);
      assert.match(error.message, /truncated/);
      return true;
    });
    const empty = join(dir, "empty.gguf");
    writeFileSync(empty, "");
    await assert.rejects(NativeGenerator.load(empty), ModelFileError);
  });

  test("runs in one process with node-llama-cpp, on the same llama.cpp libraries", async () => {
    const llama = await llamaRuntime("cpu");
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
    try {
      assert.deepEqual([...model.tokenize(CODE)], [...gen.tokenize(CODE)]);
      const context = await model.createContext({ contextSize: 256 });
      const sequence = context.getSequence();
      await sequence.evaluateWithoutGeneratingNewTokens(model.tokenize(CODE));
      await context.dispose();
      // The addon still works after node-llama-cpp has used the shared libraries.
      const tokens = gen.tokenize(CODE);
      assert.ok(maxAbsDiff((await gen.evaluate({ tokens })).logits, await coldEvaluate({ tokens })) < 1e-3);
    } finally {
      await model.dispose();
    }
  });

  test("a disposed generator refuses work", async () => {
    const g = await NativeGenerator.load(modelPath, { threads: 1, contextSize: 256 });
    await g.dispose();
    assert.throws(() => g.tokenize("x"), /disposed/);
    assert.throws(() => g.evaluate({ tokens: [1] }), /disposed/);
    await g.dispose();
  });
});
