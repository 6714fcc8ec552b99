import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, mock, test } from "node:test";
import type { HefCache } from "../../sidecar/cache/hefCache";
import { FolderIndex } from "../../sidecar/server/folderIndex";
import { Generations } from "../../sidecar/server/generations";
import { UnsavedEdits } from "../../sidecar/server/unsavedEdits";
import { copyOfRepo, tempDir } from "../helpers/repos";
import { FakeEngine } from "./fakeEngine";

const IDLE_MS = 2_000;

/** UnsavedEdits over a refresh that records each start and holds until its signal aborts or the test ends it. */
function recording() {
  const started: { uri: string; signal: AbortSignal }[] = [];
  const generations = new Generations();
  const edits = new UnsavedEdits(
    async (uri, signal) => {
      started.push({ uri, signal });
    },
    generations,
    IDLE_MS,
  );
  return { edits, started, generations };
}

describe("when unsaved edits are indexed", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));

  test("once the document has rested; an edit meanwhile starts the wait again", () => {
    const { edits, started } = recording();
    edits.edited("file:///repo/a.py");
    mock.timers.tick(IDLE_MS - 1);
    edits.edited("file:///repo/a.py");
    mock.timers.tick(IDLE_MS - 1);
    assert.equal(started.length, 0);
    mock.timers.tick(1);
    assert.deepEqual(
      started.map((s) => s.uri),
      ["file:///repo/a.py"],
    );
    mock.timers.reset();
  });

  test("a completion request defers what waits and stops what runs, which runs again at the next rest", () => {
    const { edits, started, generations } = recording();
    edits.edited("file:///repo/a.py");
    mock.timers.tick(IDLE_MS - 1);
    generations.begin()();
    mock.timers.tick(IDLE_MS - 1);
    assert.equal(started.length, 0, "the completion put the refresh off");
    mock.timers.tick(1);
    assert.equal(started.length, 1);
    generations.begin()();
    assert.equal(started[0]!.signal.aborted, true, "the running refresh stops for the completion");
    mock.timers.tick(IDLE_MS);
    assert.equal(started.length, 2, "and runs again once completions rest");
    assert.equal(started[1]!.signal.aborted, false);
    mock.timers.reset();
  });

  test("no refresh starts while a generation runs, however long; the rest counts from the last one's end", () => {
    const { edits, started, generations } = recording();
    edits.edited("file:///repo/a.py");
    const completion = generations.begin();
    const speculation = generations.begin();
    edits.edited("file:///repo/b.py");
    mock.timers.tick(5 * IDLE_MS);
    completion();
    mock.timers.tick(5 * IDLE_MS);
    assert.equal(started.length, 0, "a speculation still runs");
    speculation();
    speculation();
    mock.timers.tick(IDLE_MS - 1);
    assert.equal(started.length, 0, "a whole rest after the end");
    mock.timers.tick(1);
    assert.deepEqual(started.map((s) => s.uri).sort(), ["file:///repo/a.py", "file:///repo/b.py"]);
    // Ending twice counted once: the next generation still holds refreshes back.
    generations.begin();
    edits.edited("file:///repo/a.py");
    mock.timers.tick(5 * IDLE_MS);
    assert.equal(started.length, 2);
    mock.timers.reset();
  });

  test("closing a document cancels its refresh", () => {
    const { edits, started } = recording();
    edits.edited("file:///repo/a.py");
    edits.edited("file:///repo/b.py");
    edits.closed("file:///repo/a.py");
    mock.timers.tick(IDLE_MS);
    assert.deepEqual(
      started.map((s) => s.uri),
      ["file:///repo/b.py"],
    );
    mock.timers.reset();
  });
});

/** A FolderIndex of a copy of samples/shop over the fake engine (real cache), indexed, with the cache it serves. */
async function indexedShop(logs: string[]) {
  const root = copyOfRepo("samples/shop");
  const engine = new FakeEngine();
  const cacheDir = tempDir("hef-unsaved-");
  let opened: HefCache | undefined;
  const open = engine.openRepository.bind(engine);
  engine.openRepository = async (...args) => (opened = await open(...args));
  const folder = new FolderIndex(
    root,
    engine,
    { cacheDir, exclude: [], log: () => undefined },
    () => undefined,
    (line) => logs.push(line),
  );
  await folder.index();
  return { root, engine, folder, cache: opened!, cacheDir };
}

describe("a folder's cache and the editor's unsaved text (fake engine, real cache)", () => {
  test("an unsaved function becomes a chunk of the file; closing the document unsaved brings the disk's nodes back", async () => {
    const logs: string[] = [];
    const { root, engine, folder, cache } = await indexedShop(logs);
    const path = join(root, "shop", "cart.py");
    const onDisk = readFileSync(path, "utf8");
    const chunksOfCart = () => cache.allNodes().filter((n) => n.level === "chunk" && n.path === "shop/cart.py");
    const indexed = new Set(chunksOfCart().map((n) => n.id));
    const firstLine = onDisk.split("\n").length + 1;

    const added = "\ndef unsaved_total(cart):\n    return sum(line.quantity for line in cart.lines)\n";
    await folder.refreshText(path, onDisk + added, new AbortController().signal);
    const covering = chunksOfCart().filter((n) =>
      n.spans.some((s) => s.startLine! <= firstLine && s.endLine! >= firstLine),
    );
    assert.equal(covering.length, 1, "one chunk covers the unsaved function");
    assert.ok(!indexed.has(covering[0]!.id));
    assert.equal(cache.search(cache.nodeVector(covering[0]!.id), 1)[0]?.id, covering[0]!.id, "retrievable");
    assert.ok(logs.some((line) => /refreshed shop\/cart\.py from the editor's unsaved text/.test(line)));

    folder.documentClosed(path);
    // The refresh from disk runs in the background, as a watcher's would.
    const restored = () => {
      const ids = chunksOfCart().map((n) => n.id);
      return ids.length === indexed.size && ids.every((id) => indexed.has(id));
    };
    for (let waited = 0; !restored() && waited < 10_000; waited += 20) await sleep(20);
    assert.deepEqual(new Set(chunksOfCart().map((n) => n.id)), indexed, "the disk's chunks again");
    assert.deepEqual(engine.refreshes.at(-1), [path], "refreshed from disk");
    await folder.close();
  });

  test("the cache written on close holds the disk's version of a file whose unsaved text was indexed", async () => {
    const { root, engine, folder, cache, cacheDir } = await indexedShop([]);
    const path = join(root, "shop", "cart.py");
    const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id).sort();
    const onDisk = ids(cache.allNodes());
    await folder.refreshText(
      path,
      readFileSync(path, "utf8") + "\ndef unsaved():\n    pass\n",
      new AbortController().signal,
    );
    assert.notDeepEqual(ids(cache.allNodes()), onDisk);
    await folder.close();
    const reopened = await engine.openRepository(root, { cacheDir });
    assert.deepEqual(ids(reopened.allNodes()), onDisk, "the disk's nodes, not the unsaved text's");
  });

  test("an aborted refresh (a completion came) changes nothing", async () => {
    const { root, folder, cache } = await indexedShop([]);
    const before = cache.allNodes().map((n) => n.id);
    const path = join(root, "shop", "cart.py");
    const controller = new AbortController();
    controller.abort();
    await folder.refreshText(path, readFileSync(path, "utf8") + "\ndef aborted():\n    pass\n", controller.signal);
    assert.deepEqual(
      cache.allNodes().map((n) => n.id),
      before,
    );
    await folder.close();
  });
});
