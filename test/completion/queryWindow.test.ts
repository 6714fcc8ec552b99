// The query window of Algorithm 2 line 1 and the pseudo-token order: both exist so that the next
// keystroke at the same place reuses the embedder's and the generator's caches.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RetrievedNode } from "../../sidecar/cache/retrieval";
import { pseudoTokenOrder, PseudoTokenCache } from "../../sidecar/completion/pseudoTokens";
import { queryWindow } from "../../sidecar/completion/queryEncoder";

/** One token per character: makes token positions visible. */
const encoder = {
  tokenize: (text: string) => Int32Array.from(text, (c) => c.charCodeAt(0)),
  specialTokens: { bos: 1, eos: 2, addBos: false, addEos: true },
};

function commonPrefix(a: Int32Array, b: Int32Array): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

describe("query window", () => {
  test("holds at most maxTokens tokens, the model's special tokens included, and ends with the prefix", () => {
    const prefix = "x = 1\n".repeat(500);
    const window = queryWindow(encoder, prefix, 512);
    assert.ok(window.length <= 512);
    assert.equal(window.at(-1), 2);
    const body = String.fromCharCode(...window.subarray(0, -1));
    assert.ok(prefix.endsWith(body));
  });

  test("typing at the end keeps the window's start: consecutive windows share all but their last tokens", () => {
    let prefix = "def f(a, b):\n    return a + b\n".repeat(100);
    let previous = queryWindow(encoder, prefix, 512);
    let moved = 0;
    for (const c of "result = f(1, 2)\nprint(result)\n") {
      prefix += c;
      const window = queryWindow(encoder, prefix, 512);
      const shared = commonPrefix(previous, window);
      if (shared < previous.length - 1) moved++;
      previous = window;
    }
    // 31 keystrokes: the start may step forward at most once per 64 tokens or 256 characters.
    assert.ok(moved <= 1, `window start moved ${moved} times`);
  });

  test("a short prefix is taken whole", () => {
    assert.deepEqual([...queryWindow(encoder, "ab", 512)], [97, 98, 2]);
    assert.deepEqual(
      [...queryWindow({ ...encoder, specialTokens: { addBos: true, bos: 1, addEos: false } }, "ab", 512)],
      [1, 97, 98],
    );
  });
});

function node(
  id: string,
  level: RetrievedNode["level"],
  path: string,
  score: number,
  startLine?: number,
): RetrievedNode {
  return {
    id,
    level,
    partial: false,
    path,
    spans: [{ path, ...(startLine ? { startLine, endLine: startLine + 5 } : {}) }],
    score,
  };
}

describe("pseudo-token order", () => {
  test("coarse to fine, then by path and line, whatever the scores", () => {
    const nodes = [
      node("c2", "chunk", "b.py", 0.9, 10),
      node("r", "repo", ".", 0.5),
      node("c1", "chunk", "b.py", 0.8, 1),
      node("f", "file", "a.py", 0.7),
      node("m", "module", "pkg", 0.6),
    ];
    assert.deepEqual(
      pseudoTokenOrder(nodes).map((n) => n.id),
      ["r", "m", "f", "c1", "c2"],
    );
    const rescored = nodes.map((n, i) => ({ ...n, score: 1 - i / 10 })).reverse();
    assert.deepEqual(
      pseudoTokenOrder(rescored).map((n) => n.id),
      ["r", "m", "f", "c1", "c2"],
    );
  });

  test("projections are cached by node id and come back bit-identical, in the asked order", async () => {
    let projected = 0;
    const cache = new PseudoTokenCache(
      async (input, rows) => {
        projected += rows;
        return Float32Array.from(input, (x) => x * 2);
      },
      2,
      2,
    );
    const vectors: Record<string, Float32Array> = { a: Float32Array.of(1, 2), b: Float32Array.of(3, 4) };
    const first = await cache.pseudoTokens(["a", "b"], (id) => vectors[id]!);
    const again = await cache.pseudoTokens(["b", "a"], (id) => vectors[id]!);
    assert.deepEqual([...first], [2, 4, 6, 8]);
    assert.deepEqual([...again], [6, 8, 2, 4]);
    assert.equal(projected, 2);
  });
});
