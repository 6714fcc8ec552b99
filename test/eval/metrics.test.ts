import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aggregateByMode,
  comparedLines,
  editSimilarity,
  exactMatch,
  identifierMatch,
  identifiers,
  levenshtein,
  summarize,
} from "../../sidecar/eval/metrics";

const lev = (a: string, b: string) => levenshtein([...a], [...b]);

describe("levenshtein", () => {
  it("matches hand-worked distances", () => {
    assert.equal(lev("", ""), 0);
    assert.equal(lev("abc", ""), 3); // three deletions
    assert.equal(lev("kitten", "sitting"), 3); // k->s, e->i, insert g
    assert.equal(lev("flaw", "lawn"), 2); // delete f, insert n
    assert.equal(lev("x = f(a)", "x = g(a, b)"), 4); // f->g, insert ",", " ", "b"
  });
});

describe("exact match", () => {
  it("compares stripped non-empty lines, the prediction cut to the ground truth's count", () => {
    assert.equal(exactMatch("  return x  ", "return x\n"), true);
    assert.equal(exactMatch("return x\nprint(1)", "return x"), true); // only the first line counts
    assert.equal(exactMatch("\n\nreturn x", "return x"), true); // blank lines are skipped
    assert.equal(exactMatch("return  x", "return x"), false); // inner whitespace counts
    assert.equal(exactMatch("a = 1", "a = 1\nb = 2"), false); // too few lines
    assert.equal(exactMatch("a = 1\n\n  b = 2", "a = 1\nb = 2\n"), true);
    assert.equal(exactMatch("", ""), true);
  });

  it("exposes the compared lines", () => {
    assert.deepEqual(comparedLines(" a\n\nb\nc", "x\n y \n"), { prediction: ["a", "b"], groundTruth: ["x", "y"] });
  });
});

describe("edit similarity", () => {
  it("is 1 - distance / longer length over the compared lines", () => {
    assert.equal(editSimilarity("x = f(a)", "x = f(a)"), 1);
    // "x = f(a)" (8) vs "x = g(a, b)" (11): distance 4 -> 1 - 4/11
    assert.equal(editSimilarity("x = f(a)", "  x = g(a, b)\n"), 1 - 4 / 11);
    // "kitten" vs "sitting": 1 - 3/7
    assert.equal(editSimilarity("kitten\nextra line", "sitting"), 1 - 3 / 7);
    // compared strings joined by "\n": "a\nb" vs "a\nc": one substitution of 3 -> 2/3
    assert.equal(editSimilarity("a\nb\nz", "a\nc"), 1 - 1 / 3);
    // empty prediction: distance = |"abcd"| = 4 -> 0
    assert.equal(editSimilarity("", "abcd"), 0);
    assert.equal(editSimilarity("\n  \n", ""), 1);
  });

  it("counts code points, not UTF-16 units", () => {
    // "a😀" vs "a": one deletion of 2 code points -> 1 - 1/2
    assert.equal(editSimilarity("a😀", "a"), 0.5);
  });
});

describe("summarize", () => {
  it("takes nearest-rank percentiles", () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // 1..20 shuffled order
    const s = summarize(values);
    // p50: rank ceil(0.5 * 20) = 10 -> 10; p95: rank ceil(0.95 * 20) = 19 -> 19
    assert.deepEqual(s, { count: 20, mean: 10.5, p50: 10, p95: 19 });
    assert.deepEqual(summarize([7]), { count: 1, mean: 7, p50: 7, p95: 7 });
    // 3 values: p50 rank ceil(1.5) = 2, p95 rank ceil(2.85) = 3
    assert.deepEqual(summarize([30, 10, 20]), { count: 3, mean: 20, p50: 20, p95: 30 });
    assert.ok(Number.isNaN(summarize([]).p50));
  });
});

describe("aggregateByMode", () => {
  it("averages EM, ES, ID EM and input tokens and summarizes latency per mode", () => {
    const rows = aggregateByMode([
      { mode: "hef", prediction: "a", groundTruth: "a", latencyMs: 10, inputTokens: 100 },
      { mode: "rag", prediction: "b", groundTruth: "a", latencyMs: 30, inputTokens: 4000 },
      { mode: "hef", prediction: "ab", groundTruth: "ac", latencyMs: 20, inputTokens: 140 },
    ]);
    assert.deepEqual(
      rows.map((r) => [
        r.mode,
        r.count,
        r.exactMatch,
        r.editSimilarity,
        r.identifierMatch,
        r.latency.p50,
        r.inputTokens,
      ]),
      [
        ["hef", 2, 0.5, (1 + 0.5) / 2, 0.5, 10, 120],
        ["rag", 1, 0, 0, 0, 30, 4000],
      ],
    );
  });
});

describe("identifier exact match", () => {
  it("compares the names in order, keywords, spacing and punctuation aside", () => {
    assert.deepEqual(identifiers("return self.total(cart.items, tax=0.2)"), ["total", "cart", "items", "tax"]);
    assert.equal(identifierMatch("return total( cart.items )", "return total(cart.items)"), true);
    assert.equal(identifierMatch("return total(cart.item)", "return total(cart.items)"), false);
    assert.equal(identifierMatch("x = load(path)\ny = 2", "x = load(path)\n"), true); // only the compared lines
    assert.equal(identifierMatch("x = load(path)", "x = load(path)\ny = 2"), false); // too few lines
    assert.equal(identifierMatch("", ""), true);
  });
});
