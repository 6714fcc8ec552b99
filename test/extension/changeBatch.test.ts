import assert from "node:assert/strict";
import { describe, mock, test } from "node:test";
import { ChangeBatch, DebouncedChanges } from "../../extension/changeBatch";
import type { FilesChangedParams } from "../../common/protocol";

const batchOf = (events: [Parameters<ChangeBatch["record"]>[0], string][]) => {
  const batch = new ChangeBatch();
  for (const [event, path] of events) batch.record(event, path);
  return batch.take("/r");
};

describe("folding file events into one batch", () => {
  test("created then deleted within a batch reports nothing", () => {
    assert.deepEqual(
      batchOf([
        ["add", "/r/a.py"],
        ["change", "/r/a.py"],
        ["unlink", "/r/a.py"],
      ]),
      { root: "/r", changed: [], added: [], deleted: [] },
    );
  });

  test("deleted then recreated is a change; changed then deleted is a deletion", () => {
    const params = batchOf([
      ["unlink", "/r/a.py"],
      ["add", "/r/a.py"],
      ["change", "/r/b.py"],
      ["unlink", "/r/b.py"],
    ]);
    assert.deepEqual(params, { root: "/r", changed: ["/r/a.py"], added: [], deleted: ["/r/b.py"] });
  });

  test("a move is an unlink and an add, reported as a deletion and an addition", () => {
    const params = batchOf([
      ["unlink", "/r/old/util.py"],
      ["add", "/r/new/util.py"],
    ]);
    assert.deepEqual(params, { root: "/r", changed: [], added: ["/r/new/util.py"], deleted: ["/r/old/util.py"] });
  });

  test("take empties the batch", () => {
    const batch = new ChangeBatch();
    batch.record("change", "/r/a.py");
    batch.take("/r");
    assert.equal(batch.size, 0);
  });
});

describe("debouncing", () => {
  test("a burst is one batch after the quiet time; a never-quiet stream is cut at the maximum", () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const sent: FilesChangedParams[] = [];
      const changes = new DebouncedChanges("/r", (p) => sent.push(p), { quietMs: 300, maxMs: 2000 });
      for (let i = 0; i < 5000; i++) changes.record("change", `/r/f${i}.py`);
      mock.timers.tick(299);
      assert.equal(sent.length, 0);
      mock.timers.tick(1);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.changed.length, 5000);
      for (let t = 0; t < 2000; t += 100) {
        changes.record("change", "/r/busy.py");
        mock.timers.tick(100);
      }
      assert.equal(sent.length, 2, "flushed at the 2 s deadline although events never stopped");
    } finally {
      mock.timers.reset();
    }
  });
});
