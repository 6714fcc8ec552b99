import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import type * as watcher from "../../extension/watcher";
import type { FilesChangedParams } from "../../common/protocol";
import { copyOfRepo } from "../helpers/repos";
import { fakeVscode, loadWithVscode } from "./fakeVscode";

const { watchFolder } = loadWithVscode<typeof watcher>("../../extension/watcher.ts", fakeVscode().api);

const sentPaths = (batches: FilesChangedParams[]) =>
  new Set(batches.flatMap((b) => [...b.changed, ...b.added, ...b.deleted]));

/** Touches `path` until a batch names it: chokidar watches a new directory some time after it is asked to. */
async function sentAfterTouching(batches: FilesChangedParams[], path: string): Promise<void> {
  for (let tries = 0; !sentPaths(batches).has(path); tries++) {
    assert.ok(tries < 40, `${path} was never reported`);
    appendFileSync(path, "\n");
    await sleep(500);
  }
}

describe("the folder watcher and ignore files", () => {
  test(
    "reports .gitignore and .git/info/exclude changes, and watches what a new .gitignore un-ignores",
    { timeout: 60_000 },
    async () => {
      const root = copyOfRepo("samples/shop");
      mkdirSync(join(root, "shop/gen"));
      const generated = join(root, "shop/gen/model.py");
      writeFileSync(generated, "x = 1\n");
      const gitignore = join(root, ".gitignore");
      writeFileSync(gitignore, "shop/gen\n");
      const exclude = join(root, ".git/info/exclude");
      mkdirSync(join(root, ".git/info"), { recursive: true });
      writeFileSync(exclude, "");

      const batches: FilesChangedParams[] = [];
      const watching = await watchFolder(root, [], (params) => void batches.push(params), { warn() {} } as never);
      after(() => watching.dispose());

      appendFileSync(generated, "\n");
      await sentAfterTouching(batches, join(root, "shop/cart.py"));
      assert.equal(sentPaths(batches).has(generated), false, "shop/gen is ignored at first");

      writeFileSync(gitignore, "# nothing ignored\n");
      await sentAfterTouching(batches, gitignore);
      await sentAfterTouching(batches, generated);
      await sentAfterTouching(batches, exclude);
    },
  );
});
