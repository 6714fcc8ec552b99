// When a keystroke keeps the nodes retrieved before it (issue 16: stable pseudo-tokens), over plain data.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HNode } from "../../sidecar/cache/hierarchy";
import type { RetrievedNode } from "../../sidecar/cache/retrieval";
import {
  decideRetrieval,
  keepRetrieved,
  MIN_OVERLAP,
  type RememberedRetrieval,
  retrievalKey,
  textBeforeLine,
} from "../../sidecar/completion/retrievalMemory";

type NodeFields = Pick<HNode, "level" | "partial" | "path" | "spans">;

function retrieved(id: string, startLine: number, score: number): RetrievedNode {
  return {
    id,
    level: "chunk",
    partial: false,
    path: "shop/util.py",
    spans: [{ path: "shop/util.py", startLine, endLine: startLine + 2 }],
    score,
  };
}

const PREFIX = "import os\n\ndef total(items):\n";
const nodes = [retrieved("a", 1, 0.9), retrieved("b", 10, 0.8)];
const inCache = new Map<string, NodeFields>(
  nodes.map((node) => [node.id, { level: node.level, partial: node.partial, path: node.path, spans: node.spans }]),
);
const nodeOf = (id: string) => inCache.get(id);

function key(prefix: string, extra: Partial<{ path: string; mode: "hef" | "rag"; k: number }> = {}) {
  return retrievalKey({ path: "shop/cart.py", mode: "hef", k: 2, prefix, ...extra });
}

const memory: RememberedRetrieval = { key: key(PREFIX), nodes };

describe("textBeforeLine", () => {
  it("is the prefix up to the start of the cursor's line", () => {
    assert.equal(textBeforeLine("a\nb\n    ret"), "a\nb\n");
    assert.equal(textBeforeLine("a\nb\n"), "a\nb\n");
    assert.equal(textBeforeLine("no newline yet"), "");
    assert.equal(textBeforeLine(""), "");
  });
});

describe("decideRetrieval", () => {
  it("retrieves when nothing is remembered", () => {
    assert.deepEqual(decideRetrieval(undefined, key(PREFIX), nodeOf), { reuse: false, reason: "first" });
  });

  it("keeps the nodes while the user types within the line, or deletes within it, or asks again at the same place", () => {
    for (const typed of ["", "    ", "    ret", "    return sum(i.price for i in items)", "  x"]) {
      const decision = decideRetrieval(memory, key(PREFIX + typed), nodeOf);
      assert.equal(decision.reuse, true, JSON.stringify(typed));
      assert.deepEqual(decision.reuse && decision.nodes, nodes);
    }
  });

  it("retrieves again on a new line (Enter) and when the text before the line changed, offering the remembered nodes to keep", () => {
    const moved = { reuse: false, reason: "moved", kept: nodes };
    assert.deepEqual(decideRetrieval(memory, key(`${PREFIX}    return 0\n`), nodeOf), moved);
    assert.deepEqual(decideRetrieval(memory, key(`${PREFIX}\n    `), nodeOf), moved);
    assert.deepEqual(decideRetrieval(memory, key(PREFIX.replace("os", "sys")), nodeOf), moved);
    assert.deepEqual(decideRetrieval(memory, key("import os\n"), nodeOf), moved, "the cursor went up");
  });

  it("offers nothing to keep on a new line when a remembered node was removed or the last retrieval was short", () => {
    const withoutB = (id: string) => (id === "b" ? undefined : nodeOf(id));
    assert.deepEqual(decideRetrieval(memory, key(`${PREFIX}    return 0\n`), withoutB), {
      reuse: false,
      reason: "removed",
    });
    const short: RememberedRetrieval = { key: key(PREFIX, { k: 3 }), nodes };
    assert.deepEqual(decideRetrieval(short, key(`${PREFIX}    return 0\n`, { k: 3 }), nodeOf), {
      reuse: false,
      reason: "short",
    });
  });

  it("retrieves again for another file, mode or k", () => {
    for (const extra of [{ path: "shop/other.py" }, { mode: "rag" as const }, { k: 3 }]) {
      assert.deepEqual(
        decideRetrieval(memory, key(PREFIX, extra), nodeOf),
        { reuse: false, reason: "query" },
        JSON.stringify(extra),
      );
    }
  });

  it("retrieves again when a refresh removed a remembered node", () => {
    const withoutB = (id: string) => (id === "b" ? undefined : nodeOf(id));
    assert.deepEqual(decideRetrieval(memory, key(`${PREFIX}    r`), withoutB), { reuse: false, reason: "removed" });
  });

  it("retrieves again when the last retrieval found fewer than k nodes (a cache still being indexed may have more now)", () => {
    const short: RememberedRetrieval = { key: key(PREFIX, { k: 3 }), nodes };
    assert.deepEqual(decideRetrieval(short, key(`${PREFIX}    r`, { k: 3 }), nodeOf), {
      reuse: false,
      reason: "short",
    });
  });

  it("reads reused nodes again from the cache (spans that moved), keeping the remembered scores", () => {
    const moved = (id: string): NodeFields | undefined => {
      const node = nodeOf(id);
      return node && { ...node, spans: node.spans.map((span) => ({ ...span, startLine: span.startLine! + 5 })) };
    };
    const decision = decideRetrieval(memory, key(`${PREFIX}    r`), moved);
    assert.ok(decision.reuse);
    assert.deepEqual(
      decision.nodes.map((n) => [n.id, n.spans[0]!.startLine, n.score]),
      [
        ["a", 6, 0.9],
        ["b", 15, 0.8],
      ],
    );
  });

  it("keys on a digest of the text before the line, not the text", () => {
    const long = "x = 1\n".repeat(100_000);
    assert.ok(retrievalKey({ path: "a.py", mode: "hef", k: 32, prefix: long }).beforeLine.length < 64);
  });
});

describe("keepRetrieved (hysteresis on a new line)", () => {
  const ids = (...names: string[]) => names.map((name, i) => retrieved(name, i * 10, 1 - i / 100));
  const kept = ids("a", "b", "c", "d");

  it("keeps the remembered nodes when the new top K swapped a few of them, whatever its order", () => {
    assert.equal(keepRetrieved(kept, ids("d", "c", "b", "a")), true);
    assert.equal(keepRetrieved(kept, ids("b", "a", "c", "x")), true, "3 of 4 stay");
    assert.equal(keepRetrieved(kept, ids("x", "a", "y", "c")), true, `2 of 4 stay: MIN_OVERLAP ${MIN_OVERLAP}`);
  });

  it("takes the new top K when the query really moved", () => {
    assert.equal(keepRetrieved(kept, ids("x", "y", "z", "a")), false, "1 of 4 stays");
    assert.equal(keepRetrieved(kept, ids("w", "x", "y", "z")), false);
    assert.equal(keepRetrieved(kept, ids("x", "a", "b", "y"), 0.75), false, "a stricter threshold");
  });

  it("keeps nothing when nothing was remembered", () => {
    assert.equal(keepRetrieved([], ids("a")), false);
  });
});
