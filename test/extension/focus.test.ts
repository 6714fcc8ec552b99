import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as focus from "../../extension/focus";
import { fakeVscode, loadWithVscode } from "./fakeVscode";

const { focusByFolder } = loadWithVscode<typeof focus>("../../extension/focus.ts", fakeVscode().api);

describe("the files in view, as the sidecar hears of them", () => {
  const folderOf = (path: string) => ["/a", "/b"].find((root) => path.startsWith(`${root}/`));

  test("one entry per folder, the active file first, each file once, files outside every folder left out", () => {
    assert.deepEqual(focusByFolder("/a/x.py", ["/b/y.ts", "/a/z.py", "/a/x.py", "/tmp/n.py"], ["/a", "/b"], folderOf), [
      { root: "/a", paths: ["/a/x.py", "/a/z.py"] },
      { root: "/b", paths: ["/b/y.ts"] },
    ]);
  });

  test("a folder with nothing in view gets an empty list, which clears what it was told before", () => {
    assert.deepEqual(focusByFolder(undefined, [], ["/a"], folderOf), [{ root: "/a", paths: [] }]);
  });
});
