import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { byFocus, focusRank, nextBatchFiles } from "../../sidecar/cache/indexOrder";

describe("the order of a large index run", () => {
  const focus = new Set(["lib/common/cart.py"]);

  test("ranks the focused file, its directory, its top-level directory, then the rest", () => {
    assert.equal(focusRank("lib/common/cart.py", focus), 0);
    assert.equal(focusRank("lib/common/tax.py", focus), 1);
    assert.equal(focusRank("lib/node/io.py", focus), 2);
    assert.equal(focusRank("docs/conf.py", focus), 3);
    assert.equal(focusRank("setup.py", new Set(["main.py"])), 1, "two files at the root share a directory");
    assert.equal(focusRank("lib/a.py", new Set(["main.py"])), 3);
  });

  test("puts the focused files and their neighbours first and keeps the walk's order within a rank", () => {
    const walk = ["docs/conf.py", "lib/node/io.py", "lib/common/tax.py", "a.py", "lib/common/cart.py", "lib/common/util.py"];
    assert.deepEqual(byFocus(walk, focus), ["lib/common/cart.py", "lib/common/tax.py", "lib/common/util.py", "lib/node/io.py", "docs/conf.py", "a.py"]);
    assert.deepEqual(byFocus(walk, new Set()), walk);
  });

  test("sizes the next batch to last about the target time at the last batch's pace", () => {
    assert.equal(nextBatchFiles(16, 2_000, 5_000), 40);
    assert.equal(nextBatchFiles(16, 1, 5_000), 1024, "cached files are cheap, but a commit is due now and then");
    assert.equal(nextBatchFiles(16, 60_000, 5_000), 4, "a batch of huge files still makes progress");
  });
});
