// HefCache.preview: what a refresh would do to the hierarchy, computed without doing it.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import { futureExcluded } from "../../sidecar/eval/tasks";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { tinyEmbedder } from "../helpers/embedder";
import { copyOfRepo, tempDir } from "../helpers/repos";

const TARGET = "shop/cart.py";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

async function indexed(root: string): Promise<HefCache> {
  const cache = await HefCache.open({ root, cacheDir: tempDir("hef-preview-cache-"), embedder, log: () => undefined });
  await cache.sync();
  return cache;
}

const ids = (cache: HefCache) =>
  cache
    .allNodes()
    .map((n) => n.id)
    .sort();

describe("HefCache.preview", () => {
  test("a file cut at a line: exactly the nodes a refresh after writing it adds and removes, and the cache is unchanged", async () => {
    const root = copyOfRepo("samples/shop");
    const cache = await indexed(root);
    const before = ids(cache);
    const cut = futureExcluded(readFileSync(join(root, TARGET), "utf8"), 38);

    const preview = await cache.preview(TARGET, cut);
    assert.deepEqual(ids(cache), before, "nothing committed");
    assert.ok(preview.update.added.length > 0 && preview.update.removed.length > 0);
    assert.equal(preview.chunks.length, preview.vectors.length);
    assert.ok(
      preview.chunks.every((chunk) => chunk.path === TARGET && cut.includes(chunk.text) && chunk.endLine <= 38),
    );
    for (const [i, chunk] of preview.chunks.entries()) {
      const [vector] = await embedder.embed([chunk.text]);
      assert.deepEqual(preview.vectors[i], vector);
    }

    writeFileSync(join(root, TARGET), cut);
    const report = await cache.refresh([TARGET]);
    assert.equal(report.removed, preview.update.removed.length);
    const after = new Set(ids(cache));
    const expected = new Set([
      ...before.filter((id) => !preview.update.removed.includes(id)),
      ...preview.update.added.map((n) => n.id),
    ]);
    assert.deepEqual(after, expected);
    for (const node of preview.update.added) assert.deepEqual(cache.node(node.id), node);
  });

  test("the same text, an ignored path and a deletion", async () => {
    const root = copyOfRepo("samples/shop");
    const cache = await indexed(root);
    const same = await cache.preview(join(root, TARGET), readFileSync(join(root, TARGET), "utf8"));
    assert.deepEqual([same.update.added, same.update.removed, same.chunks], [[], [], []]);
    const ignored = await cache.preview("node_modules/x.py", "x = 1\n");
    assert.deepEqual([ignored.update.added, ignored.update.removed], [[], []]);
    const deleted = await cache.preview(TARGET, null);
    const targetNodes = cache.allNodes().filter((n) => n.path === TARGET);
    assert.ok(targetNodes.every((n) => deleted.update.removed.includes(n.id)));
    assert.ok(deleted.update.added.every((n) => n.path !== TARGET && (n.level === "module" || n.level === "repo")));
    await assert.rejects(cache.preview("/elsewhere/a.py", "x = 1\n"), /not inside/);
  });
});
