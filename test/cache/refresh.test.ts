import assert from "node:assert/strict";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import type { HNode } from "../../sidecar/cache/hierarchy";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { searchText, tinyEmbedder } from "../helpers/embedder";
import { copyOfRepo, tempDir } from "../helpers/repos";

const EDITED = "lib/common/semanticTokens.js";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

async function indexed(root: string, logs: string[] = []): Promise<HefCache> {
  const cache = await HefCache.open({ root, cacheDir: tempDir("hef-cache-"), embedder, log: (m) => logs.push(m) });
  await cache.sync();
  return cache;
}

function ids(cache: HefCache): string[] {
  return cache
    .allNodes()
    .map((n) => n.id)
    .sort();
}

/** The directories from a file up to the repository root, as node paths. */
function ancestorPaths(file: string): Set<string> {
  const parts = file.split("/");
  return new Set([".", ...parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/")), file]);
}

describe("incremental refresh on a real repository", () => {
  test("a second run over an unchanged tree embeds and fuses nothing", async () => {
    const root = copyOfRepo();
    const cache = await HefCache.open({ root, cacheDir: tempDir("hef-cache-"), embedder, log: () => undefined });
    const first = await cache.sync();
    assert.ok(first.files > 40, `indexed ${first.files} files`);
    assert.equal(first.nodesPerLevel.repo, 1);
    assert.ok(first.nodesPerLevel.module >= 5, "lib, lib/common, lib/common/utils, lib/node, ...");
    assert.ok(first.embedded > 0 && first.embedded <= first.chunks);
    assert.equal(first.fused, first.nodes - first.chunks);
    assert.equal(
      first.nodes,
      first.chunks +
        first.nodesPerLevel.file +
        first.nodesPerLevel.module +
        first.nodesPerLevel.repo +
        first.nodesPerLevel.partial,
    );
    const second = await cache.sync();
    assert.equal(second.embedded, 0);
    assert.equal(second.fused, 0);
    assert.equal(second.changedFiles, 0);
    assert.equal(second.nodes, first.nodes);
  });

  test("an empty file is no change on every run; emptying an indexed file removes its nodes", async () => {
    const root = copyOfRepo();
    writeFileSync(join(root, "empty.js"), "");
    const cache = await indexed(root);
    assert.equal((await cache.sync()).changedFiles, 0);
    writeFileSync(join(root, "empty.js"), "export const filled = 1;\n");
    assert.equal((await cache.refresh(["empty.js"])).changedFiles, 1);
    assert.ok(cache.allNodes().some((n) => n.path === "empty.js"));
    writeFileSync(join(root, "empty.js"), "");
    assert.equal((await cache.refresh(["empty.js"])).changedFiles, 1);
    assert.ok(!cache.allNodes().some((n) => n.path === "empty.js"));
  });

  test("editing one function re-embeds one chunk and re-fuses only that file's ancestors", async () => {
    const root = copyOfRepo();
    const cache = await indexed(root);
    const before = new Map(cache.allNodes().map((n) => [n.id, n]));
    const path = join(root, EDITED);
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace("computeDiff() {\n", "computeDiff() {\n        const started = Date.now();\n"),
    );

    const report = await cache.refresh([path]);
    assert.equal(report.changedFiles, 1);
    assert.equal(report.embedded, 1, "only the chunk holding computeDiff changed");
    const after = cache.allNodes();
    const added = after.filter((n) => !before.has(n.id));
    const onPath = ancestorPaths(EDITED);
    assert.equal(report.fused, added.filter((n) => n.level !== "chunk").length);
    for (const node of added)
      assert.ok(onPath.has(node.path), `${node.level} ${node.path} changed but is not on the edited file's path`);
    // Every level on the path was re-fused: the file, lib/common/..., lib and the repository.
    const fusedPaths = new Set(added.filter((n) => n.level !== "chunk" && !n.partial).map((n) => n.path));
    assert.deepEqual([...fusedPaths].sort(), [...onPath].sort());
    // Nothing off the path changed.
    for (const node of before.values()) {
      if (!onPath.has(node.path))
        assert.ok(
          after.some((n) => n.id === node.id),
          `${node.path} kept its id`,
        );
    }
    assert.deepEqual(ids(cache), ids(await indexed(root)), "equal to a clean rebuild");
  });

  test("an unsaved edit adding a function refreshes the file's nodes from the text, not the disk; the disk's come back", async () => {
    const root = copyOfRepo();
    const cache = await indexed(root);
    const path = join(root, EDITED);
    const onDisk = readFileSync(path, "utf8");
    const indexedIds = ids(cache);
    const added = "\nexport function unsavedFromTheEditor(tokens) {\n  return tokens.filter((t) => t.length > 2);\n}\n";
    const edited = onDisk + added;
    const firstLine = onDisk.split("\n").length + 1;

    const report = await cache.refreshText(path, edited);
    assert.equal(report.changedFiles, 1);
    assert.equal(readFileSync(path, "utf8"), onDisk, "the disk is left alone");
    const covering = cache
      .allNodes()
      .filter((n) => n.level === "chunk" && n.path === EDITED)
      .filter((n) => n.spans.some((s) => s.startLine! <= firstLine && s.endLine! >= firstLine));
    assert.equal(covering.length, 1, "one chunk covers the new function");
    assert.ok(!indexedIds.includes(covering[0]!.id), "a node the disk's version has not");
    const [nearest] = cache.search(cache.nodeVector(covering[0]!.id), 1);
    assert.equal(nearest?.id, covering[0]!.id, "in the index: retrievable");
    writeFileSync(path, edited);
    assert.deepEqual(ids(cache), ids(await indexed(root)), "equal to an index of the text saved");

    writeFileSync(path, onDisk);
    assert.equal((await cache.refresh([path])).changedFiles, 1, "closed unsaved: the disk's version again");
    assert.deepEqual(ids(cache), indexedIds);
  });

  test("delete and rename", async () => {
    const root = copyOfRepo();
    const cache = await indexed(root);
    const files = cache.stats.files;

    rmSync(join(root, "lib/common/utils/is.js"));
    const deleted = await cache.refresh([join(root, "lib/common/utils/is.js")]);
    assert.equal(deleted.files, files - 1);
    assert.equal(deleted.embedded, 0);
    assert.ok(!cache.allNodes().some((n: HNode) => n.path === "lib/common/utils/is.js"));

    renameSync(join(root, "lib/common/progress.js"), join(root, "lib/node/progress-moved.js"));
    const renamed = await cache.refresh([
      join(root, "lib/common/progress.js"),
      join(root, "lib/node/progress-moved.js"),
    ]);
    assert.equal(renamed.embedded, 0, "a renamed file's chunks come from the embedding cache");
    assert.ok(renamed.reused > 0);
    assert.ok(cache.allNodes().some((n) => n.path === "lib/node/progress-moved.js" && n.level === "file"));
    assert.ok(!cache.allNodes().some((n) => n.path === "lib/common/progress.js"));

    assert.deepEqual(ids(cache), ids(await indexed(root)), "equal to a clean rebuild");
  });

  test("a query during a refresh sees the state before or after, never a mix", async () => {
    const root = copyOfRepo();
    const cache = await indexed(root);
    const beforeIds = new Set(ids(cache));
    for (const file of ["lib/common/server.js", "lib/common/notebook.js", "lib/node/main.js"]) {
      const path = join(root, file);
      writeFileSync(path, `${readFileSync(path, "utf8")}\nfunction appended_${file.length}() { return 42; }\n`);
    }
    const refresh = cache.refresh(["lib/common/server.js", "lib/common/notebook.js", "lib/node/main.js"]);
    const results = [];
    let settled = false;
    void refresh.then(() => (settled = true));
    while (!settled) results.push(await searchText(cache, embedder, "connection.onRequest(", 64));
    await refresh;
    const afterIds = new Set(ids(cache));
    for (const result of results) {
      const allOld = result.every((n) => beforeIds.has(n.id));
      const allNew = result.every((n) => afterIds.has(n.id));
      assert.ok(allOld || allNew, "a result mixes nodes of two states");
    }
  });

  test("a run cancelled while reading stops at the next file and changes nothing", async () => {
    const root = copyOfRepo();
    const cache = await HefCache.open({ root, cacheDir: tempDir("hef-cache-"), embedder, log: () => undefined });
    const controller = new AbortController();
    const phases: string[] = [];
    const run = cache.sync((phase, done) => {
      phases.push(phase);
      if (phase === "reading" && done === 3) controller.abort();
    }, controller.signal);
    await assert.rejects(run, (error: Error) => error.name === "AbortError");
    // The reading phase of a large tree alone took 38 s before a cancel could reach it.
    assert.deepEqual(phases, ["reading", "reading", "reading"]);
    assert.equal(cache.allNodes().length, 0);
  });

  test("a file skipped for the same reason is logged once, not on every run", async () => {
    const root = copyOfRepo();
    writeFileSync(join(root, "latin1.js"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const logs: string[] = [];
    const cache = await indexed(root, logs);
    await cache.sync();
    await cache.refresh(["latin1.js"]);
    assert.equal(logs.filter((line) => line.includes("latin1.js")).length, 1, logs.join("\n"));
    writeFileSync(join(root, "latin1.js"), "export const cafe = 1;\n");
    await cache.refresh(["latin1.js"]);
    writeFileSync(join(root, "latin1.js"), Buffer.from([0xff, 0x0a]));
    await cache.refresh(["latin1.js"]);
    assert.equal(
      logs.filter((line) => line.includes("latin1.js")).length,
      2,
      "skipped again after it was read: said again",
    );
  });

  test("a first index commits the file in view first, then its neighbours, while the rest is still to come", async () => {
    const root = copyOfRepo();
    const cache = await HefCache.open({
      root,
      cacheDir: tempDir("hef-cache-"),
      embedder,
      log: () => undefined,
      batchMs: 1,
    });
    const seen: { done: number; files: string[] }[] = [];
    const report = await cache.sync(
      (phase, done) => {
        if (phase === "reading") seen.push({ done, files: cache.indexedFiles().map((file) => file.path) });
      },
      undefined,
      () => ({ inView: new Set([EDITED]), imported: new Set<string>() }),
    );
    // When the second file is read, the first (the one in view) is already searchable, alone.
    assert.deepEqual(seen.find((s) => s.done === 2)?.files, [EDITED]);
    // Its directory's files come next.
    const third = seen.find((s) => s.files.length >= 3)!.files;
    assert.ok(
      third.every((path) => path.startsWith("lib/common/")),
      third.join(", "),
    );
    assert.ok(seen.filter((s) => s.files.length > 0).length > 2, "several commits before the end");
    const whole = await indexed(copyOfRepo());
    assert.deepEqual(ids(cache), ids(whole), "batches end in the same cache as one run");
    assert.equal(report.fused, report.nodes - report.chunks);
  });

  test("a first index killed midway resumes from the last generation it wrote", async () => {
    const root = copyOfRepo();
    const cacheDir = tempDir("hef-cache-");
    const first = await HefCache.open({ root, cacheDir, embedder, log: () => undefined, batchMs: 1, persistMs: 0 });
    const controller = new AbortController();
    const total = { files: 0 };
    const run = first.sync((phase, done, all) => {
      total.files = all;
      if (phase === "reading" && done === Math.floor(all / 2)) controller.abort();
    }, controller.signal);
    await assert.rejects(run, (error: Error) => error.name === "AbortError");
    const kept = first.indexedFiles().length;
    assert.ok(kept > 0 && kept < total.files, `${kept} of ${total.files} files committed before the kill`);
    // Nothing was saved by the caller: what the next process finds is what the run wrote as it went.
    const second = await HefCache.open({ root, cacheDir, embedder, log: () => undefined });
    assert.equal(second.indexedFiles().length, kept);
    const report = await second.sync();
    assert.ok(report.changedFiles <= total.files - kept, `${report.changedFiles} files redone, ${kept} kept`);
    assert.deepEqual(ids(second), ids(await indexed(copyOfRepo())));
  });
});
