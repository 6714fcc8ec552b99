// Generated text is made of whole UTF-8 characters: byte-level BPE tokens can end inside a
// multi-byte character, and the generator must not turn a character cut by the token limit or by
// a stop string into U+FFFD (issue 18). A "successor model" built here makes generation
// deterministic byte by byte: its blocks add nothing (attention output and FFN down are zero), so
// the logits at a position depend only on that position's token, and its embedding and output
// rows are one-hot so that each listed token is followed by the token the chain names. The tiny
// vocabulary's ids 0-255 are the single-byte tokens, byte b being token b.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { modelMetadata, modelTensors, specVocab } from "../../sidecar/syntheticModels/buildModel";
import { isFloatEncodedType } from "../../sidecar/syntheticModels/gguf/quantize";
import { floatRows } from "../../sidecar/syntheticModels/gguf/tensorData";
import { writeGguf } from "../../sidecar/syntheticModels/gguf/writer";
import { type ModelSpec, modelSpec } from "../../sidecar/syntheticModels/modelSpecs";
import { NativeGenerator } from "../../sidecar/native/generator";
import { buildNativeAddon } from "../helpers/nativeBuild";

const skip = buildNativeAddon();

const b = (c: string): number => c.charCodeAt(0);

/**
 * token -> the token generated after it. Disjoint chains (a token has one successor), started by
 * giving the chain's previous token as the prompt:
 *   0xAC: € € € ...            (E2 82 AC)
 *   "y":  = € € ...
 *   0x80: 😀 😀 ...            (F0 9F 98 80)
 *   0xA9: é é ...              (C3 A9)
 *   "\n": ( D0 \n ( D0 \n ...  (D0 starts a two-byte character that "\n" never finishes)
 *   0xBF: a BF a BF ...        (BF is a continuation byte with nothing to continue)
 *   "p":  E0 85 p E0 85 p ...  (E0 85 is no character's start: E0 needs A0-BF next)
 *   "q":  ED A0 q ...          (ED A0 would be a surrogate: ED needs 80-9F next)
 *   "r":  F4 90 r ...          (F4 90 would be above U+10FFFF: F4 needs 80-8F next)
 *   "c":  C0 c C0 c ...        (C0 starts no character at all)
 */
const NEXT = new Map<number, number>([
  [0xac, 0xe2],
  [0xe2, 0x82],
  [0x82, 0xac],
  [b("y"), b("=")],
  [b("="), 0xe2],
  [0x80, 0xf0],
  [0xf0, 0x9f],
  [0x9f, 0x98],
  [0x98, 0x80],
  [0xa9, 0xc3],
  [0xc3, 0xa9],
  [b("\n"), b("(")],
  [b("("), 0xd0],
  [0xd0, b("\n")],
  [0xbf, b("a")],
  [b("a"), 0xbf],
  [b("p"), 0xe0],
  [0xe0, 0x85],
  [0x85, b("p")],
  [b("q"), 0xed],
  [0xed, 0xa0],
  [0xa0, b("q")],
  [b("r"), 0xf4],
  [0xf4, 0x90],
  [0x90, b("r")],
  [b("c"), 0xc0],
  [0xc0, b("c")],
]);

/** The bytes greedy generation from `start` produces: maxTokens single-byte tokens along NEXT. */
function chainBytes(start: number, maxTokens: number): Uint8Array {
  const out = new Uint8Array(maxTokens);
  for (let i = 0, t = start; i < maxTokens; i++) out[i] = t = NEXT.get(t)!;
  return out;
}

/**
 * The reference: WHATWG's UTF-8 decoder in streaming mode, which emits whole characters, one
 * U+FFFD per invalid byte sequence (as V8 does), and holds back a trailing sequence that more
 * bytes could still complete.
 */
function wholeCharacters(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes, { stream: true });
}

async function writeSuccessorModel(path: string, next: ReadonlyMap<number, number>): Promise<void> {
  const spec: ModelSpec = {
    ...modelSpec("tiny-generator"),
    hidden: 64,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    headDim: 32,
    ffn: 64,
    tiedEmbeddings: false,
    weights: "bag-of-tokens",
  };
  const vocab = specVocab(spec);
  const dim = new Map([...next.keys()].map((token, i) => [token, i]));
  assert.ok(dim.size <= spec.hidden);
  const tensors = modelTensors(spec, vocab).map((t) => {
    if (t.name !== "token_embd.weight" && t.name !== "output.weight") return t;
    if (!isFloatEncodedType(t.type)) throw new Error(`${t.name}: ${t.type}`);
    const embedding = t.name === "token_embd.weight";
    const data = floatRows(t.type, spec.hidden, vocab.tokens.length, (row, out) => {
      if (embedding) {
        const d = dim.get(row);
        if (d !== undefined) out[d] = 1;
      } else {
        for (const [token, successor] of next) if (successor === row) out[dim.get(token)!] = 1;
      }
    });
    return { ...t, data };
  });
  await writeGguf(path, { metadata: modelMetadata(spec, vocab), tensors });
}

describe("generated text holds whole UTF-8 characters", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "hef-utf8-test-"));
  let gen: NativeGenerator;

  before(async () => {
    const path = join(dir, "successor.gguf");
    await writeSuccessorModel(path, NEXT);
    gen = await NativeGenerator.load(path, { threads: 1, contextSize: 256 });
  });
  after(async () => {
    await gen?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (start: number, maxTokens: number, stop: string[] = []) =>
    gen.generate({ tokens: [start], maxTokens, stop, ignoreEog: true });

  test("the successor model generates its chains byte by byte", async () => {
    const r = await run(0xac, 6);
    assert.deepEqual([...r.tokens], [0xe2, 0x82, 0xac, 0xe2, 0x82, 0xac]);
    assert.equal(r.text, "€€");
    assert.equal(gen.detokenize([0xe2, 0x82, 0xac]), "€");
  });

  test("the token limit cutting inside a character drops the unfinished character (2-, 3- and 4-byte characters)", async () => {
    const golden: [number, number, string][] = [
      [0xac, 1, ""],
      [0xac, 2, ""],
      [0xac, 3, "€"],
      [0xac, 4, "€"],
      [0xac, 5, "€"],
      [0xac, 6, "€€"],
      [0x80, 1, ""],
      [0x80, 3, ""],
      [0x80, 4, "😀"],
      [0x80, 7, "😀"],
      [0x80, 8, "😀😀"],
      [0xa9, 1, ""],
      [0xa9, 2, "é"],
      [0xa9, 3, "é"],
    ];
    for (const [start, maxTokens, text] of golden) {
      const r = await run(start, maxTokens);
      assert.equal(r.stopReason, "maxTokens");
      assert.equal(r.tokenCount, maxTokens, "every generated token is reported, even one whose bytes were dropped");
      assert.equal(r.text, text, `start 0x${start.toString(16)}, ${maxTokens} tokens`);
    }
  });

  test("text before a stop string never ends in an unfinished character", async () => {
    // ( D0 \n: the stop "\n" comes right after a two-byte character's first byte.
    const r = await run(b("\n"), 20, ["\n"]);
    assert.equal(r.stopReason, "stop");
    assert.deepEqual([...r.tokens], [b("("), 0xd0, b("\n")]);
    assert.equal(r.text, "(");
    // A stop string whose character is split over three tokens matches once its last byte comes.
    const euro = await run(b("y"), 20, ["€"]);
    assert.equal(euro.stopReason, "stop");
    assert.equal(euro.tokenCount, 4);
    assert.equal(euro.text, "=");
    // A stop string of two characters over six tokens.
    const two = await run(b("y"), 20, ["€€"]);
    assert.equal(two.stopReason, "stop");
    assert.equal(two.tokenCount, 7);
    assert.equal(two.text, "=");
  });

  test("invalid bytes inside the text stay U+FFFD; only an unfinished end is dropped", async () => {
    // D0 followed by "\n" inside the text: the model's own invalid output, kept visible.
    assert.equal((await run(b("\n"), 5)).text, "(\uFFFD\n(");
    // A continuation byte with nothing to continue can never become a character, even at the end.
    assert.equal((await run(0xbf, 2)).text, "a\uFFFD");
    // E0 85 cannot start a character (E0 needs A0-BF next): invalid, not unfinished.
    assert.equal((await run(b("p"), 1)).text, "");
    assert.equal((await run(b("p"), 2)).text, "\uFFFD\uFFFD");
    assert.equal((await run(b("p"), 4)).text, "\uFFFD\uFFFDp");
    assert.equal((await run(b("q"), 2)).text, "\uFFFD\uFFFD");
    assert.equal((await run(b("r"), 2)).text, "\uFFFD\uFFFD");
    assert.equal((await run(0xc0, 2)).text, "c\uFFFD");
  });

  test("every cut of every chain equals the streaming UTF-8 decoder's whole characters", async () => {
    for (const start of [0xac, b("y"), 0x80, 0xa9, b("\n"), 0xbf, b("p"), b("q"), b("r"), b("c")]) {
      for (let maxTokens = 0; maxTokens <= 9; maxTokens++) {
        const r = await run(start, maxTokens);
        assert.equal(
          r.text,
          wholeCharacters(chainBytes(start, maxTokens)),
          `start 0x${start.toString(16)}, ${maxTokens} tokens`,
        );
      }
    }
    // With a stop string: the bytes before its first match after the first non-blank byte, as whole characters.
    for (const [start, stop] of [
      [b("\n"), "\n"],
      [b("y"), "€"],
      [0xac, "€€"],
      [0xbf, "\u00BF"],
      [b("p"), "p"],
    ] as const) {
      const r = await run(start, 9, [stop]);
      const bytes = Buffer.from(chainBytes(start, 9));
      const content = bytes.findIndex((byte) => !" \t\r\n".includes(String.fromCharCode(byte)));
      const at = bytes.indexOf(Buffer.from(stop), content);
      // (The stray byte BF never matches "¿", whose bytes are C2 BF.)
      const what = `start 0x${start.toString(16)}, stop ${JSON.stringify(stop)}`;
      assert.equal(r.stopReason, at >= 0 ? "stop" : "maxTokens", what);
      assert.equal(r.text, wholeCharacters(at >= 0 ? bytes.subarray(0, at) : bytes), what);
    }
  });
});
