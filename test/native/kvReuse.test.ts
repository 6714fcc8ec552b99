// What the generator keeps of its KV cache between requests beyond the longest common prefix
// (issue 16): chunks of the previous tokens moved to an earlier position when the prefix window
// slid, or to a later one when characters were typed before them (the suffix of a
// prefix-suffix-middle prompt), and one KV state per recent document (slot), so that switching
// files and back stays warm.
// Counted in positions; correctness is checked on a one-layer model, where moving a chunk is exact
// up to float error (its keys and values depend only on token and position), against the same
// request from scratch.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { NativeGenerator } from "../../sidecar/native/generator";
import { writeModel } from "../../sidecar/syntheticModels/buildModel";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { modelSpec } from "../../sidecar/syntheticModels/modelSpecs";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();

const LINES = Array.from({ length: 48 }, (_, i) => `    total_${i} = price_${i} * quantity_${i} + shipping(${i})\n`);
const CHUNK = 16;

function concat(parts: readonly ArrayLike<number>[]): Int32Array {
  return Int32Array.from(parts.flatMap((p) => Array.from(p)));
}

function commonPrefix(a: Int32Array, b: Int32Array): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

describe("KV cache reuse beyond the common prefix", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "hef-kv-reuse-"));
  const handles: NativeGenerator[] = [];
  const load = async (
    path: string,
    cacheReuse: number,
    more: { sequences?: number; contextSize?: number } = {},
  ): Promise<NativeGenerator> => {
    const gen = await NativeGenerator.load(path, { threads: 1, contextSize: 2048, cacheReuse, ...more });
    handles.push(gen);
    return gen;
  };
  let tinyPath = "";
  let oneLayerPath = "";

  before(async () => {
    tinyPath = await ensureTinyModel("tiny-generator");
    oneLayerPath = join(dir, "one-layer.gguf");
    await writeModel({ ...modelSpec("tiny-generator"), layers: 1 }, oneLayerPath);
  });
  after(async () => {
    for (const gen of handles) await gen.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** [fim_prefix] lines [from, to): the layout a sliding prefix window gives, tokenized line by line. */
  const window = (gen: NativeGenerator, from: number, to: number): Int32Array =>
    concat([[gen.info.tokens.fimPre!], ...LINES.slice(from, to).map((line) => gen.tokenize(line))]);

  test("a window that slid by its first lines decodes only its new tail", async (t) => {
    const gen = await load(tinyPath, CHUNK);
    const off = await load(tinyPath, 0);
    const pseudo = await gen.tokenEmbeddingRows(gen.tokenize("class Cart:\n"));
    const K = pseudo.length / gen.info.nEmbdInp;
    const first = window(gen, 0, 40);
    const slid = window(gen, 6, 43);
    const tail = window(gen, 40, 43).length - 1;
    for (const handle of [gen, off]) await handle.evaluate({ pseudo, tokens: first });
    const moved = await gen.evaluate({ pseudo, tokens: slid });
    const decodedAgain = await off.evaluate({ pseudo, tokens: slid });
    t.diagnostic(
      `slid by 6 lines: reused ${moved.reused}, decoded ${moved.decoded} (without moving chunks: decoded ${decodedAgain.decoded})`,
    );
    assert.equal(moved.decoded, tail);
    assert.equal(moved.reused, K + slid.length - tail);
    assert.equal(decodedAgain.reused, K + commonPrefix(first, slid));

    // The window slid again while the last line was being typed: the moved positions are kept.
    const again = window(gen, 12, 44);
    const next = await gen.evaluate({ pseudo, tokens: again });
    assert.equal(next.decoded, gen.tokenize(LINES[43]!).length);

    // A run shorter than the minimum chunk is decoded again.
    const short = concat([again.subarray(0, 1), again.subarray(100, 100 + CHUNK - 1), gen.tokenize("pass\n")]);
    const r = await gen.evaluate({ pseudo, tokens: short });
    assert.equal(r.reused, K + commonPrefix(again, short));
  });

  test("moved chunks give the logits and output of the same request decoded from scratch (one layer: exact)", async (t) => {
    const gen = await load(oneLayerPath, CHUNK);
    const cold = await load(oneLayerPath, 0);
    const pseudo = await gen.tokenEmbeddingRows(gen.tokenize("def shipping(n):\n"));
    await gen.evaluate({ pseudo, tokens: window(gen, 0, 40) });
    const slid = window(gen, 9, 42);
    const warm = await gen.evaluate({ pseudo, tokens: slid });
    assert.equal(warm.decoded, window(gen, 40, 42).length - 1);
    await cold.resetCache();
    const scratch = await cold.evaluate({ pseudo, tokens: slid });
    assert.equal(scratch.reused, 0);
    const diff = maxAbsDiff(warm.logits, scratch.logits);
    t.diagnostic(
      `moved vs from scratch: max |logit diff| ${diff} (logits up to ${Math.max(...scratch.logits.map(Math.abs))})`,
    );
    // Keys stored in F16 and rotated again: 0.02 here; a chunk moved one position too far gives 0.18.
    assert.ok(diff < 5e-2, `moved chunks give other logits (${diff})`);
    assert.equal(argmax(warm.logits), argmax(scratch.logits));
    const warmGen = await gen.generate({ pseudo, tokens: slid, maxTokens: 12, ignoreEog: true });
    await cold.resetCache();
    const coldGen = await cold.generate({ pseudo, tokens: slid, maxTokens: 12, ignoreEog: true });
    assert.deepEqual([...warmGen.tokens], [...coldGen.tokens]);
  });

  /** A prefix-suffix-middle prompt, each piece tokenized on its own as promptAssembly.ts does. */
  const psm = (gen: NativeGenerator, prefix: string, suffix: string): Int32Array => {
    const { fimPre, fimSuf, fimMid } = gen.info.tokens;
    return concat([[fimPre!], gen.tokenize(prefix), [fimSuf!], gen.tokenize(suffix), [fimMid!]]);
  };
  const PREFIX = `def checkout(cart):\n${LINES.slice(0, 8).join("")}    discount = `;
  const SUFFIX = `\n${LINES.slice(8, 16).join("")}    return total\n`;
  const TYPED = "car";

  test("characters typed at the end of a prefix-suffix-middle prefix decode only the prefix's new tail, not the suffix", async (t) => {
    const gen = await load(tinyPath, CHUNK);
    const off = await load(tinyPath, 0);
    const pseudo = await gen.tokenEmbeddingRows(gen.tokenize("class Cart:\n"));
    const K = pseudo.length / gen.info.nEmbdInp;
    const suffixLength = gen.tokenize(SUFFIX).length;
    assert.ok(suffixLength > 180, `suffix of ${suffixLength} tokens`);
    let previous = gen.tokenize(PREFIX);
    for (const handle of [gen, off])
      await handle.generate({ pseudo, tokens: psm(handle, PREFIX, SUFFIX), maxTokens: 4, ignoreEog: true });
    // One character per keystroke: each re-tokenizes the prefix's last token(s).
    for (let n = 1; n <= TYPED.length; n++) {
      const prefix = PREFIX + TYPED.slice(0, n);
      const typed = gen.tokenize(prefix);
      const tail = typed.length - commonPrefix(previous, typed);
      const r = await gen.evaluate({ pseudo, tokens: psm(gen, prefix, SUFFIX) });
      const decodedAgain = await off.evaluate({ pseudo, tokens: psm(off, prefix, SUFFIX) });
      t.diagnostic(
        `keystroke ${n}: decoded ${r.decoded}, reused ${r.reused} (without moving: decoded ${decodedAgain.decoded})`,
      );
      // The prefix's new tail, then <|fim_middle|>, the last position, decoded again for its logits.
      assert.equal(r.decoded, tail + 1);
      assert.equal(r.reused, K + 1 + typed.length - tail + 1 + suffixLength);
      assert.equal(decodedAgain.decoded, tail + 1 + suffixLength + 1);
      previous = typed;
    }
    // The cache holds exactly the last request: the same request again decodes its last position only.
    const last = psm(gen, PREFIX + TYPED, SUFFIX);
    assert.equal((await gen.evaluate({ pseudo, tokens: last })).decoded, 1);
    // A suffix shorter than the minimum run is decoded again; the default minimum (16) moves this one.
    const short = await load(tinyPath, suffixLength + 2);
    const byDefault = await NativeGenerator.load(tinyPath, { threads: 1, contextSize: 2048 });
    handles.push(byDefault);
    for (const handle of [short, byDefault]) await handle.evaluate({ pseudo, tokens: psm(handle, PREFIX, SUFFIX) });
    const typed = psm(gen, PREFIX + TYPED, SUFFIX);
    assert.ok((await short.evaluate({ pseudo, tokens: typed })).decoded > suffixLength);
    assert.ok((await byDefault.evaluate({ pseudo, tokens: typed })).decoded < 10);
    // Near the end of a file the suffix is short: a 2-line one (under llama.vscode's 256 and 64) moves too.
    const endOfFile = `\n${LINES[8]}    return total\n`;
    const endLength = byDefault.tokenize(endOfFile).length;
    assert.ok(endLength > 16 && endLength < 64, `suffix of ${endLength} tokens`);
    await byDefault.evaluate({ pseudo, tokens: psm(byDefault, PREFIX, endOfFile) });
    assert.ok((await byDefault.evaluate({ pseudo, tokens: psm(byDefault, PREFIX + TYPED, endOfFile) })).decoded < 10);
  });

  test("a suffix moved after typed characters gives the logits and output of the same request decoded from scratch (one layer: exact)", async (t) => {
    const gen = await load(oneLayerPath, CHUNK);
    const cold = await load(oneLayerPath, 0);
    const pseudo = await gen.tokenEmbeddingRows(gen.tokenize("def shipping(n):\n"));
    await gen.generate({ pseudo, tokens: psm(gen, PREFIX, SUFFIX), maxTokens: 4, ignoreEog: true });
    const tokens = psm(gen, PREFIX + TYPED, SUFFIX);
    const warm = await gen.evaluate({ pseudo, tokens });
    assert.ok(warm.decoded < 10, `decoded ${warm.decoded}`);
    const scratch = await cold.evaluate({ pseudo, tokens });
    assert.equal(scratch.reused, 0);
    const diff = maxAbsDiff(warm.logits, scratch.logits);
    t.diagnostic(
      `moved suffix vs from scratch: max |logit diff| ${diff} (logits up to ${Math.max(...scratch.logits.map(Math.abs))})`,
    );
    // Keys stored in F16 and rotated again: 0.015 here; the suffix moved one position too far gives 0.053.
    assert.ok(diff < 3e-2, `the moved suffix gives other logits (${diff})`);
    assert.equal(argmax(warm.logits), argmax(scratch.logits));
    const warmGen = await gen.generate({ pseudo, tokens, maxTokens: 12, ignoreEog: true });
    await cold.resetCache();
    const coldGen = await cold.generate({ pseudo, tokens, maxTokens: 12, ignoreEog: true });
    assert.deepEqual([...warmGen.tokens], [...coldGen.tokens]);
  });

  test("a request cancelled while it moves the suffix keeps it: the next keystroke moves it again", async (t) => {
    // provider.ts speculates on the suggestion shown (inserted before the suffix) in the same slot,
    // and the next keystroke cancels that speculation, often while it decodes the suggestion.
    const gen = await load(tinyPath, CHUNK);
    const pseudo = await gen.tokenEmbeddingRows(gen.tokenize("class Cart:\n"));
    const suggestion = LINES.slice(16, 48).join("").repeat(2);
    const inserted = gen.tokenize(PREFIX + suggestion).length - gen.tokenize(PREFIX).length;
    const suffixLength = gen.tokenize(SUFFIX).length;
    let landed = false;
    for (let attempt = 0; attempt < 20 && !landed; attempt++) {
      await gen.generate({ pseudo, tokens: psm(gen, PREFIX, SUFFIX), maxTokens: 4, ignoreEog: true });
      const controller = new AbortController();
      const tokens = psm(gen, PREFIX + suggestion, SUFFIX);
      const speculation = gen.generate({ pseudo, tokens, maxTokens: 4, ignoreEog: true, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, attempt));
      controller.abort();
      const s = await speculation;
      // Cancelled in the native prefill, before the suggestion's tokens were all decoded.
      if (s.stopReason !== "cancelled" || s.reused === 0 || s.decoded >= inserted) continue;
      landed = true;
      const next = await gen.evaluate({ pseudo, tokens: psm(gen, PREFIX + TYPED, SUFFIX) });
      t.diagnostic(
        `cancelled after ${s.decoded} of ${inserted} inserted positions (attempt ${attempt}); the keystroke after it decoded ${next.decoded} (suffix: ${suffixLength})`,
      );
      assert.ok(next.decoded < 10, `decoded ${next.decoded}`);
    }
    assert.ok(landed, "no cancellation landed while the suggestion was decoded");
  });

  test("each slot keeps its own KV state: file A, file B, file A again decodes only what changed in A", async () => {
    const gen = await load(tinyPath, CHUNK, { sequences: 2 });
    const single = await load(tinyPath, CHUNK, { sequences: 1 });
    const a = window(gen, 0, 20);
    const b = concat([[gen.info.tokens.fimPre!], gen.tokenize("import os\n\ndef main():\n    print(os.getcwd())\n")]);
    const typed = concat([a, gen.tokenize("    total = 0\n")]);
    for (const handle of [gen, single]) {
      await handle.evaluate({ tokens: a, slot: "a.py" });
      await handle.evaluate({ tokens: b, slot: "b.py" });
    }
    const back = await gen.evaluate({ tokens: typed, slot: "a.py" });
    assert.equal(back.reused, a.length);
    assert.equal(back.decoded, typed.length - a.length);
    // One sequence: B's request took it, A's starts cold.
    assert.equal((await single.evaluate({ tokens: typed, slot: "a.py" })).reused, 0);
    // B's sequence beside A's changes nothing: the logits are those of A then A typed on a handle of its own.
    const alone = await load(tinyPath, CHUNK, { sequences: 1 });
    await alone.evaluate({ tokens: a });
    assert.equal(maxAbsDiff(back.logits, (await alone.evaluate({ tokens: typed })).logits), 0);
    // B's state survived A's request.
    assert.equal((await gen.evaluate({ tokens: b, slot: "b.py" })).decoded, 1);
    // Requests without a slot share one of their own.
    await gen.evaluate({ tokens: a });
    assert.equal((await gen.evaluate({ tokens: a })).decoded, 1);
  });

  test("slots beyond the sequences or the context go cold, and stay correct", async () => {
    const gen = await load(tinyPath, CHUNK, { sequences: 3, contextSize: 512 });
    const fresh = await load(tinyPath, CHUNK, { sequences: 1, contextSize: 512 });
    const file = (i: number) => window(gen, i * 8, i * 8 + 8);
    const sizes = [0, 1, 2].map((i) => file(i).length);
    assert.ok(sizes[0]! + sizes[1]! < 512 && sizes[0]! + sizes[1]! + sizes[2]! > 512, `sizes ${sizes.join(", ")}`);
    for (const i of [0, 1, 2]) await gen.evaluate({ tokens: file(i), slot: `f${i}` });
    // f2 needed the cells f0 held: f0 is cold, f1 warm.
    const f0 = await gen.evaluate({ tokens: file(0), slot: "f0" });
    assert.equal(f0.reused, 0);
    await fresh.resetCache();
    assert.ok(maxAbsDiff(f0.logits, (await fresh.evaluate({ tokens: file(0) })).logits) < 1e-3);
    // f0 took the cells back from the least recently used, f1.
    assert.equal((await gen.evaluate({ tokens: file(1), slot: "f1" })).reused, 0);
    // Three slots in three sequences: a fourth takes the least recently used one (f2, then f0).
    const small = (text: string) => concat([[gen.info.tokens.fimPre!], gen.tokenize(text)]);
    await gen.evaluate({ tokens: small("x = 1\n"), slot: "g" });
    assert.equal((await gen.evaluate({ tokens: file(1), slot: "f1" })).decoded, 1);
    const g = await gen.evaluate({ tokens: small("x = 1\ny = 2\n"), slot: "g" });
    assert.equal(g.reused, small("x = 1\n").length);
    assert.equal((await gen.evaluate({ tokens: file(2), slot: "f2" })).reused, 0);
  });
});
