import assert from "node:assert/strict";
import { test } from "node:test";
import { MeanFuser } from "../../sidecar/cache/fuser";
import type { HNode } from "../../sidecar/cache/hierarchy";
import { selectHits } from "../../sidecar/cache/retrieval";

function node(id: string, level: HNode["level"], children: string[] = []): HNode {
  return { id, level, partial: false, path: id, children, spans: [{ path: id }], height: children.length ? 1 : 0 };
}

test("selectHits keeps the most specific of a single-child chain with equal scores", () => {
  const nodes = new Map([
    ["c1", node("c1", "chunk")],
    ["f1", node("f1", "file", ["c1"])],
    ["m1", node("m1", "module", ["f1"])],
    ["c2", node("c2", "chunk")],
    ["f2", node("f2", "file", ["c2", "c3"])],
  ]);
  const hits = [
    { id: "m1", score: 0.9 },
    { id: "c1", score: 0.9 },
    { id: "f1", score: 0.9 },
    { id: "f2", score: 0.8 },
    { id: "c2", score: 0.7 },
  ];
  const selected = selectHits(hits, (id) => nodes.get(id), 3);
  assert.deepEqual(
    selected.map((n) => n.id),
    ["c1", "f2", "c2"],
  );
  assert.equal(selected[0]!.level, "chunk");
});

test("selectHits keeps a single-child parent whose score differs (a learned fuser changes the vector)", () => {
  const nodes = new Map([
    ["c1", node("c1", "chunk")],
    ["f1", node("f1", "file", ["c1"])],
  ]);
  const selected = selectHits(
    [
      { id: "f1", score: 0.9 },
      { id: "c1", score: 0.6 },
    ],
    (id) => nodes.get(id),
    5,
  );
  assert.deepEqual(
    selected.map((n) => n.id),
    ["f1", "c1"],
  );
});

test("the mean fuser is the normalised mean of normalised children", async () => {
  const [fused] = await new MeanFuser().fuse([[new Float32Array([3, 0]), new Float32Array([0, 1])]]);
  assert.ok(Math.abs(fused![0]! - Math.SQRT1_2) < 1e-6 && Math.abs(fused![1]! - Math.SQRT1_2) < 1e-6);
  const [single] = await new MeanFuser().fuse([[new Float32Array([0, 2])]]);
  assert.deepEqual([...single!], [0, 1]);
  await assert.rejects(new MeanFuser().fuse([[new Float32Array(2), new Float32Array(3)]]), /dimension/);
});
