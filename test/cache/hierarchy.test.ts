import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  allNodes,
  countByLevel,
  emptyHierarchy,
  splitEvenly,
  updateHierarchy,
  type FileEntry,
  type Hierarchy,
  type HNode,
} from "../../sidecar/cache/hierarchy";

/** A file of n chunks of 10 lines each; `salt` changes the content of chunk `changed`. */
function file(path: string, n: number, salt = "", changed = -1): FileEntry {
  return {
    path,
    hash: `${path}#${n}#${salt}`,
    chunks: Array.from({ length: n }, (_, i) => ({
      hash: `${path}:${i}${i === changed ? salt : ""}`,
      startLine: i * 10 + 1,
      endLine: i * 10 + 10,
      startByte: i * 100,
      endByte: i * 100 + 100,
      tokens: 30,
    })),
  };
}

function build(files: FileEntry[], b: number): Hierarchy {
  return updateHierarchy(emptyHierarchy(b), new Map(files.map((f) => [f.path, f]))).hierarchy;
}

const TREE = [
  file("a.py", 3),
  file("src/x.py", 10),
  file("src/y.py", 1),
  file("src/lib/z.py", 2),
  file("docs/readme.md", 1),
];

function byId(h: Hierarchy): Map<string, HNode> {
  return new Map(allNodes(h).map((n) => [n.id, n]));
}

describe("hierarchy", () => {
  test("splitEvenly makes the fewest groups of at most b, evenly sized", () => {
    assert.deepEqual(
      splitEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4).map((g) => g.length),
      [4, 3, 3],
    );
    assert.deepEqual(
      splitEvenly(Array.from({ length: 17 }), 8).map((g) => g.length),
      [6, 6, 5],
    );
    assert.deepEqual(
      splitEvenly([1, 2], 8).map((g) => g.length),
      [2],
    );
  });

  test("a known tree has the expected nodes per level and respects b", () => {
    const h = build(TREE, 4);
    const nodes = allNodes(h);
    // 17 chunks; file nodes for 5 files plus 3 intermediate groups in x.py (10 chunks, b=4);
    // modules src, src/lib, docs; one repo node.
    assert.deepEqual(countByLevel(nodes), { chunk: 17, file: 5, module: 3, repo: 1, partial: 3 });
    for (const node of nodes)
      assert.ok(node.children.length <= 4, `${node.level} ${node.path} has ${node.children.length} children`);
    assert.equal(new Set(nodes.map((n) => n.id)).size, nodes.length, "ids are unique");
    const repo = nodes.find((n) => n.level === "repo")!;
    const index = byId(h);
    assert.deepEqual(
      repo.children.map((id) => index.get(id)!.path),
      ["a.py", "docs", "src"],
    );
    const src = nodes.find((n) => n.level === "module" && n.path === "src")!;
    assert.deepEqual(
      src.children.map((id) => index.get(id)!.path),
      ["src/lib", "src/x.py", "src/y.py"],
    );
  });

  test("spans map every node back to its source", () => {
    const h = build(TREE, 4);
    const x = h.files.get("src/x.py")!;
    assert.deepEqual(x.root.spans, [{ path: "src/x.py", startLine: 1, endLine: 100 }]);
    const parts = x.nodes.filter((n) => n.partial);
    assert.deepEqual(
      parts.map((p) => p.spans[0]),
      [
        { path: "src/x.py", startLine: 1, endLine: 40 },
        { path: "src/x.py", startLine: 41, endLine: 70 },
        { path: "src/x.py", startLine: 71, endLine: 100 },
      ],
    );
    assert.deepEqual(h.dirs.get("src/lib")!.root.spans, [{ path: "src/lib" }]);
    const chunk = x.nodes.find((n) => n.level === "chunk" && n.contentHash === "src/x.py:4")!;
    assert.deepEqual(chunk.spans, [{ path: "src/x.py", startLine: 41, endLine: 50 }]);
    assert.equal(chunk.height, 0);
    assert.equal(x.root.height, 2);
  });

  test("a wide directory gets intermediate module nodes listing their files", () => {
    const files = Array.from({ length: 20 }, (_, i) => file(`pkg/f${String(i).padStart(2, "0")}.py`, 1));
    const h = build(files, 8);
    const pkg = h.dirs.get("pkg")!;
    const parts = pkg.nodes.filter((n) => n.partial);
    assert.deepEqual(
      parts.map((p) => p.children.length),
      [7, 7, 6],
    );
    assert.equal(pkg.root.children.length, 3);
    assert.deepEqual(
      parts[0]!.spans.map((s) => s.path),
      files.slice(0, 7).map((f) => f.path),
    );
  });

  test("ids are stable: rebuilding the same input gives the same ids", () => {
    const first = allNodes(build(TREE, 4))
      .map((n) => n.id)
      .sort();
    const second = allNodes(build([...TREE].reverse(), 4))
      .map((n) => n.id)
      .sort();
    assert.deepEqual(first, second);
  });

  test("editing one chunk touches exactly that chunk, its file and its ancestors", () => {
    const h = build(TREE, 4);
    const update = updateHierarchy(h, new Map([["src/lib/z.py", file("src/lib/z.py", 2, "edit", 1)]]));
    const kinds = (nodes: HNode[]) => nodes.map((n) => `${n.level}:${n.path}`).sort();
    assert.deepEqual(kinds(update.added), [
      "chunk:src/lib/z.py",
      "file:src/lib/z.py",
      "module:src",
      "module:src/lib",
      "repo:.",
    ]);
    assert.equal(update.removed.length, 5);
    const before = byId(h);
    const after = byId(update.hierarchy);
    for (const [id, node] of before) {
      if (
        !node.path.startsWith("src/lib/z.py") &&
        node.path !== "src" &&
        node.path !== "src/lib" &&
        node.level !== "repo"
      ) {
        assert.ok(after.has(id), `${node.level} ${node.path} kept its id`);
      }
    }
    // The same result as building from scratch.
    const fresh = build([...TREE.filter((f) => f.path !== "src/lib/z.py"), file("src/lib/z.py", 2, "edit", 1)], 4);
    assert.deepEqual([...after.keys()].sort(), [...byId(fresh).keys()].sort());
  });

  test("lines moving without a content change keep chunk ids but update spans", () => {
    const h = build([file("m.py", 2)], 8);
    const moved = file("m.py", 2);
    moved.hash = "moved";
    moved.chunks = moved.chunks.map((c) => ({ ...c, startLine: c.startLine + 5, endLine: c.endLine + 5 }));
    const update = updateHierarchy(h, new Map([["m.py", moved]]));
    assert.deepEqual(update.added, []);
    assert.deepEqual(update.removed, []);
    const chunk = update.current.find((n) => n.level === "chunk")!;
    assert.equal(chunk.spans[0]!.startLine, 6);
  });

  test("delete and rename", () => {
    const h = build(TREE, 4);
    const deleted = updateHierarchy(h, new Map([["docs/readme.md", null]]));
    assert.equal(deleted.hierarchy.dirs.has("docs"), false);
    assert.deepEqual(
      deleted.added.map((n) => n.level),
      ["repo"],
    );
    assert.equal(deleted.removed.length, 4, "chunk, file, module docs, old repo");

    const renamed = updateHierarchy(
      h,
      new Map<string, FileEntry | null>([
        ["src/y.py", null],
        ["src/w.py", { ...file("src/y.py", 1), path: "src/w.py" }],
      ]),
    );
    assert.ok(renamed.hierarchy.files.has("src/w.py"));
    assert.ok(!renamed.hierarchy.files.has("src/y.py"));
    assert.deepEqual(renamed.added.map((n) => `${n.level}:${n.path}`).sort(), [
      "chunk:src/w.py",
      "file:src/w.py",
      "module:src",
      "repo:.",
    ]);

    const empty = updateHierarchy(h, new Map(TREE.map((f) => [f.path, null])));
    assert.equal(allNodes(empty.hierarchy).length, 0);
    assert.equal(empty.removed.length, allNodes(h).length);
  });

  test("a file without chunks has no nodes", () => {
    const h = build([{ path: "empty.py", hash: "e", chunks: [] }, file("b.py", 1)], 8);
    assert.equal(h.files.has("empty.py"), false);
    assert.deepEqual(countByLevel(allNodes(h)), { chunk: 1, file: 1, module: 0, repo: 1, partial: 0 });
  });

  test("b below 2 is refused", () => {
    assert.throws(() => emptyHierarchy(1), /branching factor/);
  });
});
