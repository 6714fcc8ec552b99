import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BYTE_TO_UNICODE, pretokenize, textToTokenText, tokenTextToBytes } from "../../sidecar/syntheticModels/bpe";
import {
  QWEN2_5_SPECIAL_TOKENS,
  QWEN3_SPECIAL_TOKENS,
  TokenType,
  buildVocab,
  loadCodeMerges,
} from "../../sidecar/syntheticModels/vocab";

describe("byte-level BPE basics", () => {
  test("GPT-2 byte to unicode mapping", () => {
    assert.equal(new Set(BYTE_TO_UNICODE).size, 256);
    assert.equal(BYTE_TO_UNICODE[0x41], "A");
    assert.equal(BYTE_TO_UNICODE[0x20], "Ġ");
    assert.equal(BYTE_TO_UNICODE[0x0a], "Ċ");
    assert.equal(BYTE_TO_UNICODE[0x09], "ĉ");
    const text = "def f(x):\n\treturn 'ünï' + \"🦙\"";
    assert.equal(Buffer.from(tokenTextToBytes(textToTokenText(text))).toString("utf8"), text);
  });

  test("pre-tokenizer splits like llama.cpp's qwen2 regex", () => {
    assert.deepEqual(pretokenize("def foo(x):\n    return x's"), [
      "def",
      " foo",
      "(x",
      "):\n",
      "   ",
      " return",
      " x",
      "'s",
    ]);
    assert.deepEqual(pretokenize("x123 = a.b\n\n"), ["x", "1", "2", "3", " =", " a", ".b", "\n\n"]);
    assert.deepEqual(pretokenize("I'VE  done"), ["I", "'VE", " ", " done"]);
  });
});

describe("code vocabulary", () => {
  test("the committed merges are well formed and each builds on earlier tokens", () => {
    const merges = loadCodeMerges();
    assert.equal(merges.length, 8000);
    assert.equal(merges, loadCodeMerges(), "read once");
    assert.equal(new Set(merges).size, merges.length);
    const vocab = buildVocab({ merges, specials: [] });
    assert.equal(vocab.tokens.length, vocab.bpeTokenCount);
    assert.equal(new Set(vocab.tokens).size, vocab.tokens.length);
    // code-ish tokens were learned
    for (const token of ["ĠĠĠĠ", "Ġreturn", "Ġfunction", "Ġself", "const"])
      assert.ok(vocab.tokens.includes(token), token);
  });

  test("tokens, types and added tokens, padded with unique unused fillers", () => {
    const compact = buildVocab({ specials: QWEN2_5_SPECIAL_TOKENS, size: 8320 });
    assert.equal(compact.tokens.length, 8320);
    assert.equal(compact.special["<|endoftext|>"], compact.bpeTokenCount);
    assert.equal(compact.types[compact.special["<|fim_prefix|>"]!], TokenType.CONTROL);
    assert.equal(compact.types[compact.special["<tool_call>"]!], TokenType.USER_DEFINED);
    assert.equal(compact.types[0], TokenType.NORMAL);
    assert.equal(compact.types[8319], TokenType.UNUSED);
    assert.equal(compact.tokens[8319], "[PAD8319]");
    assert.equal(new Set(compact.tokens).size, compact.tokens.length);

    const qwen3 = buildVocab({ specials: QWEN3_SPECIAL_TOKENS, specialsAt: 151643, size: 151669 });
    assert.equal(qwen3.tokens.length, 151669);
    assert.equal(qwen3.special["<|endoftext|>"], 151643);
    assert.equal(qwen3.special["<|fim_prefix|>"], 151659);
    assert.equal(qwen3.special["<|file_sep|>"], 151664);
    assert.equal(qwen3.special["</think>"], 151668);
    assert.equal(qwen3.types[151642], TokenType.UNUSED);
    assert.equal(new Set(qwen3.tokens).size, qwen3.tokens.length);

    assert.throws(() => buildVocab({ size: 100 }), /exceeds size/);
    assert.throws(() => buildVocab({ specialsAt: 10 }), /overlap/);
    assert.throws(() => buildVocab({ merges: ["a b", "ab c", "x yz"] }), /not made before/);
  });
});
