import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { byFocus, type Focus, focusRank, nextBatchFiles } from "../../sidecar/cache/indexOrder";

const inView = (...paths: string[]): Focus => ({ inView: new Set(paths), imported: new Set() });

describe("the order of a large index run", () => {
  const focus: Focus = { inView: new Set(["lib/common/cart.py"]), imported: new Set(["lib/pricing/tax.py"]) };

  test("ranks the file in view, what it imports, its directory, its top-level directory, then the rest", () => {
    assert.equal(focusRank("lib/common/cart.py", focus), 0);
    assert.equal(focusRank("lib/pricing/tax.py", focus), 1);
    assert.equal(focusRank("lib/common/tax.py", focus), 2);
    assert.equal(focusRank("lib/node/io.py", focus), 3);
    assert.equal(focusRank("docs/conf.py", focus), 4);
    assert.equal(focusRank("setup.py", inView("main.py")), 2, "two files at the root share a directory");
    assert.equal(focusRank("lib/a.py", inView("main.py")), 4);
  });

  test("puts the files in view, their imports and their neighbours first and keeps the walk's order within a rank", () => {
    const walk = [
      "docs/conf.py",
      "lib/node/io.py",
      "lib/common/tax.py",
      "a.py",
      "lib/pricing/tax.py",
      "lib/common/cart.py",
      "lib/common/util.py",
    ];
    assert.deepEqual(byFocus(walk, focus), [
      "lib/common/cart.py",
      "lib/pricing/tax.py",
      "lib/common/tax.py",
      "lib/common/util.py",
      "lib/node/io.py",
      "docs/conf.py",
      "a.py",
    ]);
    assert.deepEqual(byFocus(walk, inView()), walk);
  });

  test("sizes the next batch to last about the target time at the last batch's pace", () => {
    assert.equal(nextBatchFiles(16, 2_000, 5_000), 40);
    assert.equal(nextBatchFiles(16, 1, 5_000), 1024, "cached files are cheap, but a commit is due now and then");
    assert.equal(nextBatchFiles(16, 60_000, 5_000), 4, "a batch of huge files still makes progress");
  });
});
