import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assemblePrompt,
  snippetCost,
  type PromptModel,
  type PromptRequest,
} from "../../sidecar/completion/promptAssembly";
import { lineComment } from "../../sidecar/languages";

/** One token per character (its code point); special tokens are negative so they cannot collide. */
const tokenize = (text: string) => Int32Array.from([...text], (c) => c.codePointAt(0)!);
const SEP = -10;
const PRE = -1;
const SUF = -2;
const MID = -3;
const BOS = -7;

/** Renders a token sequence with special tokens by name. */
function render(tokens: Int32Array): string {
  const names: Record<number, string> = {
    [SEP]: "<SEP>",
    [PRE]: "<PRE>",
    [SUF]: "<SUF>",
    [MID]: "<MID>",
    [BOS]: "<BOS>",
  };
  return [...tokens].map((t) => names[t] ?? String.fromCodePoint(t)).join("");
}

const qwen: PromptModel = { addBos: false, tokens: { fimPre: PRE, fimSuf: SUF, fimMid: MID, fimSep: SEP } };
const plain: PromptModel = { addBos: true, tokens: { bos: BOS } };
/** The project's generator: trained with both layouts, its GGUF declares hef.fim.spm. */
const spm: PromptModel = { ...qwen, fimLayout: "spm" };

function request(extra: Partial<PromptRequest> = {}): PromptRequest {
  return { path: "shop/cart.py", prefix: "def total(", suffix: ")\n", mode: "none", ...extra };
}

const snippets = [
  { path: "a.py", text: "AAA", startLine: 1, endLine: 1 },
  { path: "b.py", text: "BBBBBB\n", startLine: 3, endLine: 4 },
  { path: "c.py", text: "C", startLine: 9, endLine: 9 },
];

describe("assemblePrompt", () => {
  it("lays out FIM in Qwen2.5-Coder's order", () => {
    const prompt = assemblePrompt(tokenize, qwen, request());
    assert.equal(render(prompt.tokens), "<PRE>def total(<SUF>)\n<MID>");
    assert.equal(prompt.promptTokens, prompt.tokens.length);
    assert.deepEqual([prompt.contextTokens, prompt.entityTokens, prompt.contextSnippets], [0, 0, 0]);
  });

  it("lays out suffix-prefix-middle as training does (prompts.py): <PRE><SUF> suffix <MID> prefix", () => {
    const prompt = assemblePrompt(tokenize, spm, request());
    assert.equal(render(prompt.tokens), "<PRE><SUF>)\n<MID>def total(");
    assert.equal(
      prompt.promptTokens,
      assemblePrompt(tokenize, qwen, request()).promptTokens,
      "the same tokens, in another order",
    );
    assert.equal(
      render(assemblePrompt(tokenize, { ...spm, fimLayout: "psm" }, request()).tokens),
      "<PRE>def total(<SUF>)\n<MID>",
    );
    assert.equal(
      render(assemblePrompt(tokenize, spm, request({ suffix: "" })).tokens),
      "<PRE><SUF><MID>def total(",
      "no text after the cursor",
    );
  });

  it("SPM: BOS, rag context and the entity line come before the FIM pieces, as in PSM", () => {
    const bosSpm: PromptModel = {
      addBos: true,
      fimLayout: "spm",
      tokens: { bos: BOS, fimPre: PRE, fimSuf: SUF, fimMid: MID, fimSep: SEP },
    };
    const prompt = assemblePrompt(
      tokenize,
      bosSpm,
      request({ mode: "rag", snippets: snippets.slice(2), entities: ["Cart"] }),
    );
    assert.equal(
      render(prompt.tokens),
      "<BOS><SEP>c.py\nC\n<SEP>shop/cart.py\n# known names: Cart\n<PRE><SUF>)\n<MID>def total(",
    );
    assert.deepEqual([prompt.contextTokens, prompt.entityTokens], [8 + 14, "# known names: Cart\n".length]);
  });

  it("SPM: typing at the cursor only appends to the prompt; PSM changes everything after the prefix", () => {
    const prefix = Array.from({ length: 50 }, (_, i) => `value_${i} = ${i}\n`).join("");
    const suffix = Array.from({ length: 20 }, (_, i) => `after_${i}()\n`).join("");
    for (const [model, keeps] of [
      [spm, true],
      [qwen, false],
    ] as const) {
      const first = assemblePrompt(tokenize, model, request({ prefix, suffix })).tokens;
      const typed = assemblePrompt(tokenize, model, request({ prefix: `${prefix}pri`, suffix })).tokens;
      assert.equal(typed.length, first.length + 3);
      const common = first.findIndex((t, i) => typed[i] !== t);
      if (keeps) assert.equal(common, -1, "the earlier prompt is a prefix of the new one");
      else assert.equal(common, 1 + prefix.length, "PSM: the suffix after the prefix moves");
    }
  });

  it("uses the prefix alone without FIM tokens, or when FIM is off, and adds BOS when the model wants it", () => {
    assert.equal(render(assemblePrompt(tokenize, plain, request()).tokens), "<BOS>def total(");
    assert.equal(render(assemblePrompt(tokenize, qwen, request({ fim: false })).tokens), "def total(");
    const partial: PromptModel = { addBos: false, tokens: { fimPre: PRE, fimSuf: SUF } };
    assert.equal(render(assemblePrompt(tokenize, partial, request()).tokens), "def total(");
    assert.equal(render(assemblePrompt(tokenize, { ...partial, fimLayout: "spm" }, request()).tokens), "def total(");
    assert.equal(render(assemblePrompt(tokenize, spm, request({ fim: false })).tokens), "def total(");
  });

  it("puts repository context first, most relevant nearest the prefix, with <|file_sep|>", () => {
    const prompt = assemblePrompt(tokenize, qwen, request({ mode: "rag", snippets }));
    assert.equal(
      render(prompt.tokens),
      "<SEP>c.py\nC\n<SEP>b.py\nBBBBBB\n<SEP>a.py\nAAA\n<SEP>shop/cart.py\n<PRE>def total(<SUF>)\n<MID>",
    );
    assert.equal(prompt.contextSnippets, 3);
    assert.equal(prompt.contextTokens, 8 + 13 + 10 + 14); // each <SEP> is one token: c, b, a, the current file
  });

  it("keeps to the rag budget exactly, dropping snippets that do not fit whole", () => {
    // Costs with <|file_sep|>: a 1 + 9 = 10, b 1 + 12 = 13, c 1 + 7 = 8; the current file's header 1 + 13 = 14.
    const prompt = assemblePrompt(tokenize, qwen, request({ mode: "rag", snippets, ragBudget: 32 }));
    assert.equal(prompt.contextTokens, 32); // a and c and the header: 10 + 8 + 14; b did not fit after a
    assert.equal(prompt.contextSnippets, 2);
    assert.ok(render(prompt.tokens).startsWith("<SEP>c.py\nC\n<SEP>a.py\nAAA\n<SEP>shop/cart.py\n"));
    for (let budget = 0; budget <= 50; budget++) {
      const cost = assemblePrompt(tokenize, qwen, request({ mode: "rag", snippets, ragBudget: budget })).contextTokens;
      assert.ok(cost <= budget, `budget ${budget}: ${cost}`);
    }
    assert.equal(assemblePrompt(tokenize, qwen, request({ mode: "rag", snippets, ragBudget: 21 })).contextTokens, 0); // c + header = 22
  });

  it("writes comment headers in the file's language without <|file_sep|>", () => {
    const prompt = assemblePrompt(tokenize, plain, request({ mode: "rag", snippets: snippets.slice(0, 2) }));
    assert.equal(render(prompt.tokens), "<BOS># b.py:3-4\nBBBBBB\n# a.py:1\nAAA\ndef total(");
    const ts = assemblePrompt(
      tokenize,
      plain,
      request({ path: "src/x.ts", mode: "rag", snippets: snippets.slice(0, 1) }),
    );
    assert.equal(render(ts.tokens), "<BOS>// a.py:1\nAAA\ndef total(");
  });

  it("injects no snippets outside rag mode", () => {
    for (const mode of ["hef", "none"] as const) {
      assert.equal(assemblePrompt(tokenize, qwen, request({ mode, snippets })).contextTokens, 0);
    }
  });

  it("lists entity names in one comment line after the context, capped", () => {
    const prompt = assemblePrompt(
      tokenize,
      qwen,
      request({ mode: "rag", snippets: snippets.slice(2), entities: ["Cart", "Cart.add_item"] }),
    );
    assert.equal(
      render(prompt.tokens),
      "<SEP>c.py\nC\n<SEP>shop/cart.py\n# known names: Cart, Cart.add_item\n<PRE>def total(<SUF>)\n<MID>",
    );
    assert.equal(prompt.entityTokens, "# known names: Cart, Cart.add_item\n".length);

    const names = ["alpha", "a_very_long_entity_name_that_does_not_fit_at_all", "beta", "gamma"];
    const capped = assemblePrompt(tokenize, qwen, request({ entities: names, entityBudget: 34 }));
    // "# known names: alpha, beta, gamma\n" is 34 characters; the long name is skipped, the later ones kept.
    assert.equal(render(capped.tokens), "# known names: alpha, beta, gamma\n<PRE>def total(<SUF>)\n<MID>");
    assert.deepEqual(capped.entityNames, ["alpha", "beta", "gamma"]);
    const none = assemblePrompt(tokenize, qwen, request({ entities: names, entityBudget: 10 }));
    assert.deepEqual([none.entityTokens, none.entityNames], [0, []]);
    assert.ok(assemblePrompt(tokenize, qwen, request({ entities: Array(100).fill("n") })).entityTokens <= 64);
  });

  it("windows the prefix and suffix to their token budgets", () => {
    const prefix = Array.from({ length: 400 }, (_, i) => `line ${i}\n`).join("");
    const suffix = Array.from({ length: 400 }, (_, i) => `after ${i}\n`).join("");
    const prompt = assemblePrompt(tokenize, qwen, request({ prefix, suffix, prefixBudget: 100, suffixBudget: 20 }));
    const text = render(prompt.tokens);
    const [pre, suf] = text.slice("<PRE>".length, -"<MID>".length).split("<SUF>");
    assert.ok(pre!.length <= 100 && prefix.endsWith(pre!) && pre!.startsWith("line "));
    assert.equal(prompt.prefixChars, pre!.length, "how much of the prefix the prompt holds");
    assert.ok(suf!.length <= 20 && suffix.startsWith(suf!));
    assert.equal(assemblePrompt(tokenize, qwen, request()).prefixChars, "def total(".length);
    const swapped = render(
      assemblePrompt(tokenize, spm, request({ prefix, suffix, prefixBudget: 100, suffixBudget: 20 })).tokens,
    );
    assert.equal(swapped, `<PRE><SUF>${suf}<MID>${pre}`, "the same windows in SPM");
  });

  it("keeps the prefix window's start while typing within a step, so the prompt only grows at its end", () => {
    const base = Array.from({ length: 400 }, (_, i) => `value_${i} = ${i}\n`).join("");
    const first = assemblePrompt(
      tokenize,
      qwen,
      request({ prefix: base, suffix: "", fim: false, prefixBudget: 256 }),
    ).tokens;
    const typed = assemblePrompt(
      tokenize,
      qwen,
      request({ prefix: `${base}pri`, suffix: "", fim: false, prefixBudget: 256 }),
    ).tokens;
    assert.deepEqual([...typed.subarray(0, first.length)], [...first]);
  });
});

describe("snippetCost", () => {
  it("is what the same snippets cost as rag context", () => {
    const rag = assemblePrompt(tokenize, qwen, request({ mode: "rag", snippets }));
    assert.deepEqual(snippetCost(tokenize, qwen, "shop/cart.py", snippets), { tokens: rag.contextTokens, snippets: 3 });
    assert.deepEqual(snippetCost(tokenize, qwen, "shop/cart.py", []), { tokens: 0, snippets: 0 });
    assert.equal(snippetCost(tokenize, qwen, "shop/cart.py", snippets, 32).tokens, 32);
  });
});

describe("lineComment", () => {
  it("follows the extension", () => {
    assert.deepEqual(["a.py", "b.go", "c.TSX", "d.sql", "Makefile", "e.rb"].map(lineComment), [
      "#",
      "//",
      "//",
      "--",
      "//",
      "#",
    ]);
  });
});
