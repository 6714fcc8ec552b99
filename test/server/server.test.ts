import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import { after, describe, test } from "node:test";
import {
  CancellationTokenSource,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js";
import {
  DidChangeTextDocumentNotification,
  DidChangeWorkspaceFoldersNotification,
  DidOpenTextDocumentNotification,
  ErrorCodes,
  InitializeRequest,
  InitializedNotification,
  LSPErrorCodes,
  ResponseError,
  ShutdownRequest,
} from "vscode-languageserver-protocol";
import {
  DOCUMENT_WAIT_MS,
  HefNotifications,
  HefRequests,
  type CompleteParams,
  type FilesChangedParams,
  type SidecarOptions,
  type SidecarStatus,
} from "../../common/protocol";
import { estimateMs } from "../../sidecar/server/folderIndex";
import { startServer, type LoadEngine } from "../../sidecar/server/server";
import { copyOfRepo, tempDir } from "../helpers/repos";
import { FakeEngine } from "./fakeEngine";

interface Session {
  client: MessageConnection;
  /** The bodies of the messages the client has written to the sidecar so far. */
  sent(): string[];
  engine: FakeEngine;
  statuses: SidecarStatus[];
  logs: string[];
  /** Resolves with the first status pushed (from the `from`th on) that satisfies `ok`. */
  until(ok: (status: SidecarStatus) => boolean, from?: number): Promise<SidecarStatus>;
  shutdown(): Promise<void>;
}

/**
 * The real server module on an in-memory connection, with a fake engine over the real HefCache;
 * `load` stands in for loading the models (to delay or fail it).
 */
async function serve(
  roots: string[],
  engine = new FakeEngine(),
  cacheDir = tempDir("hef-server-cache-"),
  load: LoadEngine = async () => engine,
  models: Pick<SidecarOptions, "embedderPath" | "generatorPath" | "adapterPath"> = {},
): Promise<Session> {
  const up = new PassThrough();
  const down = new PassThrough();
  const wire: Buffer[] = [];
  up.on("data", (chunk: Buffer) => wire.push(chunk));
  const sent = () => {
    const bytes = Buffer.concat(wire);
    const bodies: string[] = [];
    for (let at = 0; at < bytes.length;) {
      const header = bytes.indexOf("\r\n\r\n", at);
      const length = Number(/Content-Length: (\d+)/.exec(bytes.subarray(at, header).toString())![1]);
      bodies.push(bytes.subarray(header + 4, header + 4 + length).toString());
      at = header + 4 + length;
    }
    return bodies;
  };
  startServer(createConnection(ProposedFeatures.all, up, down), load);
  const client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const statuses: SidecarStatus[] = [];
  const logs: string[] = [];
  const waiters: (() => void)[] = [];
  client.onNotification(HefNotifications.status, (status) => {
    statuses.push(status);
    for (const wake of waiters.splice(0)) wake();
  });
  client.onNotification("window/logMessage", (message: { message: string }) => logs.push(message.message));
  client.listen();
  let isDown = false;
  const shutdown = async () => {
    if (isDown) return;
    isDown = true;
    await client.sendRequest(ShutdownRequest.type);
    client.dispose();
  };
  after(shutdown);
  await client.sendRequest(InitializeRequest.type, {
    processId: null,
    rootUri: null,
    capabilities: { workspace: { workspaceFolders: true } },
    workspaceFolders: roots.map(workspaceFolder),
    initializationOptions: { backend: "cpu", exclude: [], cacheDir, ...models },
  });
  await client.sendNotification(InitializedNotification.type, {});
  // The editor syncs the documents it completes in; completeParams completes in this one.
  for (const root of roots)
    await client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: cartUri(root), languageId: "python", version: 1, text: CART },
    });
  const until = async (ok: (status: SidecarStatus) => boolean, from = 0) => {
    for (;;) {
      const found = statuses.slice(from).find(ok);
      if (found) return found;
      await new Promise<void>((wake) => waiters.push(wake));
    }
  };
  return { client, sent, engine, statuses, logs, until, shutdown };
}

const workspaceFolder = (root: string) => ({ uri: pathToFileURL(root).href, name: root });
const folderState = (status: SidecarStatus, root: string) => status.folders.find((f) => f.root === root)?.state;
const ready =
  (...roots: string[]) =>
  (status: SidecarStatus) =>
    roots.every((root) => folderState(status, root) === "ready");

/** The open document serve() syncs in each folder (its text, unsaved, is not the file's). */
const CART = "def total(cart):\n    ";
const cartUri = (root: string) => pathToFileURL(join(root, "shop/cart.py")).href;

function completeParams(root: string, overrides: Partial<CompleteParams> = {}): CompleteParams {
  return {
    root,
    textDocument: { uri: cartUri(root), version: 1 },
    position: { line: 1, character: 4 },
    mode: "hef",
    k: 4,
    maxTokens: 16,
    singleLine: true,
    entities: false,
    force: false,
    ...overrides,
  };
}

/** A session over an indexed copy of samples/shop with one completion the engine holds until it is cancelled. */
async function heldCompletion() {
  const root = copyOfRepo("samples/shop");
  const engine = new FakeEngine();
  const session = await serve([root], engine);
  await session.until(ready(root));
  engine.hold = true;
  const source = new CancellationTokenSource();
  const request = session.client.sendRequest(HefRequests.complete, completeParams(root), source.token);
  while (engine.completeSignals.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  return { root, engine, session, source, request };
}

/** A file change reported while the engine holds a completion: refreshed (logged) only after the completion ends. */
async function refreshedAfterTheCompletion(change: (root: string) => Partial<FilesChangedParams>): Promise<string> {
  const { root, session, source, request } = await heldCompletion();
  await session.client.sendNotification(HefNotifications.filesChanged, {
    root,
    changed: [],
    added: [],
    deleted: [],
    ...change(root),
  });
  const fromDisk = (line: string) => line.includes("refreshed") && !line.includes("unsaved");
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.ok(!session.logs.some(fromDisk), "nothing embedded or fused beside the completion");
  source.cancel();
  await assert.rejects(request);
  for (let waited = 0; !session.logs.some(fromDisk) && waited < 20_000; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20));
  return session.logs.find(fromDisk) ?? "";
}

describe("the sidecar language server (fake engine, real cache)", () => {
  test("indexes every workspace folder and reports progress until ready", async () => {
    const [a, b] = [copyOfRepo("samples/shop"), copyOfRepo("samples/shop")];
    const engine = new FakeEngine();
    engine.delay.ms = 10;
    const session = await serve([a, b], engine);
    const done = await session.until(ready(a, b));
    for (const folder of done.folders) {
      assert.equal(folder.files, 10);
      assert.ok(folder.nodes > 10);
    }
    assert.equal(done.backend, "CPU");
    assert.ok(
      session.statuses.some((s) => s.folders.some((f) => f.state === "indexing" && f.progress)),
      "progress was pushed",
    );
    const asked = await session.client.sendRequest(HefRequests.status, undefined);
    assert.deepEqual(
      asked.folders.map((f) => f.state),
      ["ready", "ready"],
    );
    assert.ok(session.logs.some((line) => line.startsWith("sidecar ready")));
    assert.equal(engine.warmUps, 1, "the query encoder is warmed once, after the models load");
  });

  test("answers notReady during the first index unless forced, then completes with the folder's nodes", async () => {
    const root = copyOfRepo("samples/shop");
    const engine = new FakeEngine();
    engine.delay.ms = 20;
    const session = await serve([root], engine);
    await session.until((s) => s.folders[0]?.state === "indexing");
    const early = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    assert.equal(early.kind, "notReady");
    engine.delay.ms = 0;
    await session.until(ready(root));
    const result = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    assert.equal(result.kind, "completion");
    if (result.kind !== "completion") return;
    assert.equal(result.text, "completion of shop/cart.py");
    assert.ok(result.nodes.length > 0 && result.nodes.every((node) => node.root === root));
  });

  test("a burst of file changes during a run becomes exactly one refresh with every path", async () => {
    const root = copyOfRepo("samples/shop");
    const engine = new FakeEngine();
    engine.delay.ms = 20;
    const session = await serve([root], engine);
    await session.until((s) => s.folders[0]?.state === "indexing");
    const edited = ["shop/cart.py", "shop/pricing/tax.py", "shop/inventory/stock.py"].map((p) => join(root, p));
    for (const path of edited) {
      appendFileSync(path, "\n# edited\n");
      await session.client.sendNotification(HefNotifications.filesChanged, {
        root,
        changed: [path],
        added: [],
        deleted: [],
      });
    }
    engine.delay.ms = 0;
    await session.until(ready(root));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const final = await session.client.sendRequest(HefRequests.status, undefined);
    assert.equal(final.folders[0]?.state, "ready");
    assert.deepEqual(engine.refreshes, [edited]);
  });

  test("a rename (a deletion and an addition) is refreshed by both names", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const from = join(root, "shop/pricing/tax.py");
    const to = join(root, "shop/pricing/taxes.py");
    writeFileSync(to, "def vat(amount):\n    return amount * 0.2\n");
    await session.client.sendNotification(HefNotifications.filesChanged, {
      root,
      changed: [],
      added: [to],
      deleted: [from],
    });
    while (session.engine.refreshes.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(session.engine.refreshes, [[to, from]]);
  });

  test("a refresh of a saved file is said in the log, naming the file, and leaves the status alone", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const mark = session.statuses.length;
    const path = join(root, "shop/cart.py");
    appendFileSync(path, "\n# saved\n");
    await session.client.sendNotification(HefNotifications.filesChanged, {
      root,
      changed: [path],
      added: [],
      deleted: [],
    });
    // Not the refresh of the open document's unsaved text (CART), which comes after a 2 s rest.
    const fromDisk = (line: string) => line.includes("refreshed") && !line.includes("unsaved");
    while (!session.logs.some(fromDisk)) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.match(session.logs.find(fromDisk)!, /: refreshed shop\/cart\.py in \d+ ms \(1 changed/);
    // An auto-save every second made the status bar flicker "indexing (reading) 100%".
    assert.ok(session.statuses.slice(mark).every((s) => s.folders[0]?.state === "ready" && !s.folders[0].progress));
  });

  test("a file saved while a completion runs is embedded only once generation rests", async () => {
    const log = await refreshedAfterTheCompletion((root) => {
      const path = join(root, "shop/cart.py");
      appendFileSync(path, "\ndef saved_while_generating():\n    pass\n");
      return { changed: [path] };
    });
    assert.match(log, /: refreshed shop\/cart\.py in \d+ ms \(1 changed, 1 chunks embedded\)/);
  });

  test("a file deleted while a completion runs (nothing to embed, parents to fuse) is refreshed only once generation rests", async () => {
    const log = await refreshedAfterTheCompletion((root) => {
      const path = join(root, "shop/cart.py");
      rmSync(path);
      return { deleted: [path] };
    });
    assert.match(log, /: refreshed shop\/cart\.py in \d+ ms \(1 changed, 0 chunks embedded\)/);
  });

  test("an open document's unsaved text is indexed once the editor rests, and a completion request puts it off", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const unsaved = (line: string) => /refreshed shop\/cart\.py from the editor's unsaved text/.test(line);
    // Completions keep coming faster than the rest: the refresh waits.
    const started = performance.now();
    while (performance.now() - started < 3_000) {
      await session.client.sendRequest(HefRequests.complete, completeParams(root));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(!session.logs.some(unsaved), "put off while completions came");
    for (let waited = 0; !session.logs.some(unsaved) && waited < 20_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(session.logs.some(unsaved), "indexed once they stopped");
  });

  test("file changes reported while the models failed to load are not an error", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root], undefined, undefined, async () => {
      throw new Error("not a GGUF file");
    });
    await session.until((s) => s.error !== undefined);
    await session.client.sendNotification(HefNotifications.filesChanged, {
      root,
      changed: [join(root, "shop/cart.py")],
      added: [],
      deleted: [],
    });
    await session.client.sendRequest(HefRequests.status, undefined);
    assert.deepEqual(
      session.logs.filter((line) => line.includes("not a workspace folder")),
      [],
    );
  });

  test("a first index reads the file in view first and completes from it before the rest is indexed", async () => {
    const root = copyOfRepo("samples/shop");
    const engine = new FakeEngine();
    engine.delay.ms = 40;
    let loaded = () => {};
    const gate = new Promise<void>((resolve) => (loaded = resolve));
    const session = await serve([root], engine, undefined, async () => (await gate, engine));
    // Sent before the models are loaded: the folder opens with it.
    await session.client.sendNotification(HefNotifications.focus, {
      root,
      paths: [join(root, "shop/cart.py"), "/elsewhere/x.py"],
    });
    loaded();
    const partial = await session.until((s) => s.folders[0]?.state === "indexing" && s.folders[0].files > 0);
    assert.equal(partial.folders[0]!.files, 1);
    const result = await session.client.sendRequest(HefRequests.complete, completeParams(root, { force: false }));
    assert.equal(result.kind, "completion", "no longer notReady until the whole folder is indexed");
    assert.ok(result.kind === "completion" && result.nodes.some((node) => node.path === "shop/cart.py"));
    engine.delay.ms = 0;
    await session.until(ready(root));
  });

  test("the time left is estimated once there is a pace to go by", () => {
    assert.equal(estimateMs(1_000, 10, 100), undefined, "too early to say");
    assert.equal(estimateMs(10_000, 25, 100), 30_000);
    assert.equal(estimateMs(10_000, 100, 100), undefined);
  });

  test(
    "a batch with a .gitignore or .git/info/exclude drops newly ignored files and brings back un-ignored ones",
    { timeout: 30_000 },
    async () => {
      const root = copyOfRepo("samples/shop");
      const session = await serve([root]);
      await session.until(ready(root));
      const pricingNodes = async () => {
        const result = await session.client.sendRequest(HefRequests.complete, completeParams(root, { k: 256 }));
        assert.equal(result.kind, "completion");
        return result.kind === "completion"
          ? result.nodes.filter((node) => node.path.startsWith("shop/pricing")).length
          : 0;
      };
      assert.ok((await pricingNodes()) > 0);
      const settled = async (files: number) => {
        const mark = session.statuses.length;
        return session.until((s) => s.folders[0]?.state === "ready" && s.folders[0].files === files, mark);
      };

      const gitignore = join(root, ".gitignore");
      writeFileSync(gitignore, "shop/pricing/\n");
      let done = settled(7);
      await session.client.sendNotification(HefNotifications.filesChanged, {
        root,
        changed: [],
        added: [gitignore],
        deleted: [],
      });
      await done;
      assert.equal(await pricingNodes(), 0);

      rmSync(gitignore);
      done = settled(10);
      await session.client.sendNotification(HefNotifications.filesChanged, {
        root,
        changed: [],
        added: [],
        deleted: [gitignore],
      });
      await done;
      assert.ok((await pricingNodes()) > 0);

      const exclude = join(root, ".git/info/exclude");
      mkdirSync(dirname(exclude), { recursive: true });
      writeFileSync(exclude, "tests/\n");
      done = settled(9);
      await session.client.sendNotification(HefNotifications.filesChanged, {
        root,
        changed: [exclude],
        added: [],
        deleted: [],
      });
      await done;
    },
  );

  test("a cancelled rebuild keeps the old cache serving", async () => {
    const root = copyOfRepo("samples/shop");
    const engine = new FakeEngine();
    const session = await serve([root], engine);
    const before = await session.until(ready(root));
    engine.delay.ms = 50;
    const source = new CancellationTokenSource();
    const mark = session.statuses.length;
    const rebuild = session.client.sendRequest(HefRequests.rebuild, { roots: [] }, source.token);
    await session.until((s) => s.folders[0]?.state === "indexing", mark);
    source.cancel();
    await assert.rejects(
      rebuild,
      (error: unknown) => error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled,
    );
    engine.delay.ms = 0;
    const after = await session.client.sendRequest(HefRequests.status, undefined);
    assert.equal(after.folders[0]?.state, "ready");
    assert.equal(after.folders[0]?.nodes, before.folders[0]?.nodes);
    assert.deepEqual(
      engine.opened.map((o) => o.rebuild),
      [false, true],
    );
    assert.equal((await session.client.sendRequest(HefRequests.complete, completeParams(root))).kind, "completion");
  });

  test("a rebuild that runs to the end swaps in the new cache", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const result = await session.client.sendRequest(HefRequests.rebuild, { roots: [root] });
    assert.equal(result.folders.length, 1);
    assert.equal(result.folders[0]?.files, 10);
    assert.equal(result.folders[0]?.error, undefined);
  });

  test("a completion request reaches the engine with the editor's settings, entity names included", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    await session.client.sendRequest(
      HefRequests.complete,
      completeParams(root, { entities: true, k: 3, maxTokens: 7, mode: "rag" }),
    );
    const request = session.engine.requests.at(-1)!;
    assert.deepEqual(
      [request.entities, request.k, request.maxTokens, request.mode, request.path],
      [true, 3, 7, "rag", "shop/cart.py"],
    );
  });

  test("a completion request names the document and the cursor: its size on the wire does not grow with the file", async (t) => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const lines = (n: number) =>
      Array.from({ length: n }, (_, i) => `    total += item_${i}.price * item_${i}.quantity`).join("\n");
    const requestBytes = async (n: number) => {
      const uri = pathToFileURL(join(root, `shop/lines_${n}.py`)).href;
      await session.client.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: "python", version: 1, text: lines(n) },
      });
      const params = completeParams(root, {
        textDocument: { uri, version: 1 },
        position: { line: Math.floor(n / 2), character: 4 },
      });
      assert.equal((await session.client.sendRequest(HefRequests.complete, params)).kind, "completion");
      assert.equal(
        session.engine.requests.at(-1)!.prefix.split("\n").length,
        Math.floor(n / 2) + 1,
        "the sidecar cut the text at the cursor",
      );
      return Buffer.byteLength(
        session
          .sent()
          .filter((body) => body.includes('"hef/complete"'))
          .at(-1)!,
      );
    };
    const [small, large] = [await requestBytes(10), await requestBytes(10_000)];
    t.diagnostic(`hef/complete request: ${small} bytes at 10 lines, ${large} bytes at 10,000 lines`);
    // Only the digits of the line number and the file name differ.
    assert.ok(large - small <= 8, `${small} bytes at 10 lines, ${large} at 10,000`);
    assert.ok(large < 512);
  });

  test("unsaved edits are what the prompt uses: incremental changes apply to the sidecar's copy, not the file on disk", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const textDocument = { uri: cartUri(root), version: 2 };
    // "def total(cart):\n    " becomes "def total(cart, tax):\n    return " (two edits, one didChange).
    await session.client.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument,
      contentChanges: [
        { range: { start: { line: 0, character: 14 }, end: { line: 0, character: 14 } }, text: ", tax" },
        { range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } }, text: "return " },
      ],
    });
    await session.client.sendRequest(
      HefRequests.complete,
      completeParams(root, { textDocument, position: { line: 1, character: 11 } }),
    );
    const request = session.engine.requests.at(-1)!;
    assert.deepEqual(
      [request.path, request.prefix, request.suffix],
      ["shop/cart.py", "def total(cart, tax):\n    return ", ""],
    );
  });

  test("a request for a version the sidecar has not seen waits for its didChange; an older version, one that never comes, or a document not open is notReady with the reason", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const uri = cartUri(root);
    const ahead = session.client.sendRequest(
      HefRequests.complete,
      completeParams(root, { textDocument: { uri, version: 2 }, position: { line: 1, character: 5 } }),
    );
    await session.client.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } }, text: "x" }],
    });
    assert.equal((await ahead).kind, "completion");
    assert.equal(session.engine.requests.at(-1)!.prefix, "def total(cart):\n    x");
    assert.deepEqual(await session.client.sendRequest(HefRequests.complete, completeParams(root)), {
      kind: "notReady",
      reason: `${uri} changed since the request (version 1; the sidecar has 2)`,
    });
    assert.deepEqual(
      await session.client.sendRequest(
        HefRequests.complete,
        completeParams(root, { textDocument: { uri, version: 5 } }),
      ),
      {
        kind: "notReady",
        reason: `version 5 of ${uri} did not reach the sidecar within ${DOCUMENT_WAIT_MS} ms (it has version 2)`,
      },
    );
    const unopened = pathToFileURL(join(root, "shop/pricing/tax.py")).href;
    const notOpen = await session.client.sendRequest(
      HefRequests.complete,
      completeParams(root, { textDocument: { uri: unopened, version: 1 } }),
    );
    assert.deepEqual(notOpen, {
      kind: "notReady",
      reason: `${unopened} is not open in the sidecar (the editor syncs a document with textDocument/didOpen before completing in it)`,
    });
  });

  test("a speculation completes as if its text were inserted at the cursor, and a real request cancels it at once", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    session.engine.hold = true;
    const speculation = session.client.sendRequest(
      HefRequests.speculate,
      completeParams(root, { insert: "return sum(cart)" }),
    );
    while (session.engine.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(
      [session.engine.requests[0]!.prefix, session.engine.requests[0]!.maxTokens],
      ["def total(cart):\n    return sum(cart)", 16],
    );
    session.engine.hold = false;
    const cancelled = assert.rejects(
      speculation,
      (error: unknown) => error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled,
    );
    const real = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    await cancelled;
    assert.equal(real.kind, "completion");
    assert.equal(
      session.engine.completeSignals[0]!.aborted,
      true,
      "the speculation was stopped before the request ran",
    );
    assert.equal(session.engine.completeSignals[1]!.aborted, false);
    assert.equal(session.engine.requests[1]!.prefix, CART, "the real request completes the document as it is");
    // Undisturbed, a speculation answers like a completion.
    const next = await session.client.sendRequest(HefRequests.speculate, completeParams(root, { insert: "return 0" }));
    assert.equal(next.kind, "completion");
    assert.equal(session.engine.requests.at(-1)!.prefix, "def total(cart):\n    return 0");
  });

  test("a pre-warm prepares a completion at the cursor in the background, and a real request stops it at once", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    session.engine.hold = true;
    await session.client.sendNotification(HefNotifications.prewarm, completeParams(root, { maxTokens: 64 }));
    while (session.engine.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(
      session.engine.requests[0]!.maxTokens,
      1,
      "the query, retrieval, projection and prefill are the work worth keeping",
    );
    session.engine.hold = false;
    const result = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    assert.equal(result.kind, "completion");
    assert.equal(session.engine.completeSignals[0]!.aborted, true, "the pre-warm was stopped before the request ran");
    assert.equal(session.engine.completeSignals[1]!.aborted, false);
    await session.client.sendNotification(HefNotifications.prewarm, completeParams(root, { k: -1 }));
    await session.client.sendRequest(HefRequests.status, undefined);
    assert.ok(session.logs.includes("ignored a hef/prewarm notification: k must be an integer from 1 to 1024"));
  });

  test("a refresh that changes the index under a resting cursor warms that place again, until a request moves on", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    // The open document's unsaved text (CART) is indexed once, 2 s into the first rest: not this test's refresh.
    while (!session.logs.some((line) => line.includes("from the editor's unsaved text")))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const prewarms = () => session.engine.requests.filter((request) => request.maxTokens === 1);
    const save = async (n: number) => {
      const path = join(root, "shop/pricing/tax.py");
      const refreshed = () => session.logs.filter((line) => line.includes("refreshed shop/pricing/tax.py")).length;
      const before = refreshed();
      appendFileSync(path, `\n# saved ${n}\n`);
      await session.client.sendNotification(HefNotifications.filesChanged, {
        root,
        changed: [path],
        added: [],
        deleted: [],
      });
      while (refreshed() === before) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await session.client.sendNotification(HefNotifications.prewarm, completeParams(root));
    while (prewarms().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await save(1);
    for (let waited = 0; prewarms().length < 2 && waited < 10_000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(prewarms().length, 2, "warmed again on the new index");
    assert.deepEqual(
      [prewarms()[1]!.path, prewarms()[1]!.prefix],
      [prewarms()[0]!.path, prewarms()[0]!.prefix],
      "at the resting place",
    );
    await session.client.sendRequest(HefRequests.complete, completeParams(root));
    await save(2);
    await session.client.sendRequest(HefRequests.status, undefined);
    assert.equal(prewarms().length, 2, "after a request the cursor no longer rests there");
  });

  test("cancelling a completion aborts the engine's signal", async () => {
    const { engine, source, request } = await heldCompletion();
    source.cancel();
    await assert.rejects(
      request,
      (error: unknown) => error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled,
    );
    assert.equal(engine.completeSignals[0]?.aborted, true);
  });

  test("a folder that fails does not stop the others", async () => {
    const good = copyOfRepo("samples/shop");
    const missing = join(tempDir(), "gone");
    const session = await serve([missing, good]);
    const status = await session.until((s) => folderState(s, missing) === "failed" && folderState(s, good) === "ready");
    const failed = status.folders.find((f) => f.root === missing)!;
    assert.match(failed.error!, /no such directory/);
    assert.doesNotMatch(failed.error!, /\n/);
    assert.equal((await session.client.sendRequest(HefRequests.complete, completeParams(good))).kind, "completion");
    const refused = await session.client.sendRequest(HefRequests.complete, completeParams(missing));
    assert.equal(refused.kind, "notReady");
  });

  test("folders added and removed while the models load: once ready, exactly the wanted folders are open", async () => {
    const [a, b, c, d] = [1, 2, 3, 4].map(() => copyOfRepo("samples/shop"));
    const engine = new FakeEngine();
    let loaded!: () => void;
    const loading = new Promise<void>((resolve) => (loaded = resolve));
    const session = await serve([a!, b!], engine, undefined, async () => (await loading, engine));
    const change = (added: string[], removed: string[]) =>
      session.client.sendNotification(DidChangeWorkspaceFoldersNotification.type, {
        event: { added: added.map(workspaceFolder), removed: removed.map(workspaceFolder) },
      });
    await change([c!, d!], [b!]);
    await change([], [d!]);
    // A request answered means the notifications before it were handled.
    assert.equal((await session.client.sendRequest(HefRequests.status, undefined)).backend, "loading");
    loaded();
    const settled = await session.until((s) => s.folders.length > 0 && s.folders.every((f) => f.state === "ready"));
    assert.deepEqual(settled.folders.map((f) => f.root).sort(), [a!, c!].sort());
    assert.deepEqual(engine.opened.map((o) => o.root).sort(), [a!, c!].sort());
  });

  test("models that fail to load: the status says why, in one line", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root], new FakeEngine(), undefined, async () => {
      throw new Error("no GGUF at /models/embedder.gguf\n    at load (loader.ts:1:1)");
    });
    const failed = await session.until((s) => s.backend === "none");
    assert.equal(failed.error, "loading the models failed: no GGUF at /models/embedder.gguf");
    assert.deepEqual(failed.folders, []);
    assert.equal((await session.client.sendRequest(HefRequests.status, undefined)).error, failed.error);
    const refused = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    assert.deepEqual(refused, { kind: "notReady", reason: failed.error });
  });

  test("chosen models that fail to load: the embedded defaults serve meanwhile, and the status says why", async () => {
    const root = copyOfRepo("samples/shop");
    const engine = new FakeEngine();
    const asked: (string | undefined)[] = [];
    const load: LoadEngine = async (options) => {
      asked.push(options.generatorPath);
      if (options.generatorPath) throw new Error(`${options.generatorPath}: not a GGUF file`);
      return engine;
    };
    const session = await serve([root], engine, undefined, load, { generatorPath: "/m/notes.gguf" });
    const serving = await session.until(ready(root));
    assert.deepEqual(asked, ["/m/notes.gguf", undefined]);
    assert.equal(serving.error, undefined);
    assert.equal(
      serving.fallback,
      "loading the models failed: /m/notes.gguf: not a GGUF file; completing with the embedded default models meanwhile",
    );
    assert.equal((await session.client.sendRequest(HefRequests.complete, completeParams(root))).kind, "completion");
  });

  test("when the embedded defaults fail too, nothing is served and the status says both", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve(
      [root],
      undefined,
      undefined,
      async (options) => {
        throw new Error(options.generatorPath ? "not a GGUF file" : "out of memory");
      },
      { generatorPath: "/m/notes.gguf" },
    );
    const failed = await session.until((s) => s.backend === "none");
    assert.equal(
      failed.error,
      "loading the models failed: not a GGUF file; the embedded defaults failed too: out of memory",
    );
    assert.equal(failed.fallback, undefined);
  });

  test("malformed parameters are refused with InvalidParams, and the sidecar goes on serving", async () => {
    const root = copyOfRepo("samples/shop");
    const session = await serve([root]);
    await session.until(ready(root));
    const bad: [string, unknown][] = [
      ["k must be an integer from 1 to 1024", { k: -5 }],
      ["k must be an integer from 1 to 1024", { k: "abc" }],
      ["k must be an integer from 1 to 1024", { k: 1.5 }],
      ["mode must be one of hef, rag, none", { mode: "bogus" }],
      ["maxTokens must be an integer from 1 to 4096", { maxTokens: 1e9 }],
      ["textDocument.uri must be a file: URI", { textDocument: { uri: "untitled:Untitled-1", version: 1 } }],
      [
        "textDocument.version must be an integer of at least 0",
        { textDocument: { uri: "file:///a.py", version: "1" } },
      ],
      ["position must have a line and a character, integers of at least 0", { position: { line: -1, character: 0 } }],
      ["insert must be a string", { insert: 42 }],
      ["force must be true or false", { force: "yes" }],
      ["entities must be true or false", { entities: 1 }],
    ];
    for (const [message, override] of bad) {
      await assert.rejects(
        session.client.sendRequest(HefRequests.complete, completeParams(root, override as Partial<CompleteParams>)),
        (error: unknown) =>
          error instanceof ResponseError &&
          error.code === ErrorCodes.InvalidParams &&
          error.message === `hef/complete: ${message}`,
      );
    }
    await assert.rejects(
      session.client.sendRequest(HefRequests.rebuild, { roots: "all" } as never),
      (error: unknown) =>
        error instanceof ResponseError &&
        error.code === ErrorCodes.InvalidParams &&
        error.message === "hef/rebuild: roots must be an array of strings",
    );
    await session.client.sendNotification(HefNotifications.filesChanged, { root, changed: [42] } as never);
    await session.client.sendNotification(HefNotifications.focus, { root, paths: "shop/cart.py" } as never);
    const result = await session.client.sendRequest(HefRequests.complete, completeParams(root));
    assert.equal(result.kind, "completion");
    assert.ok(session.logs.includes("ignored a hef/filesChanged notification: changed must be an array of strings"));
    assert.ok(session.logs.includes("ignored a hef/focus notification: paths must be an array of strings"));
  });

  test("saves on shutdown; the next sidecar reopens the persisted cache and reads nothing again", async () => {
    const root = copyOfRepo("samples/shop");
    const cacheDir = tempDir("hef-server-cache-");
    const first = await serve([root], new FakeEngine(), cacheDir);
    await first.until(ready(root));
    // A first index has nothing to compare with: "(10 changed)" of 10 files said nothing.
    assert.ok(
      first.logs.some((line) => /indexed 10 files, \d+ nodes in \d+ ms$/.test(line)),
      first.logs.join("\n"),
    );
    await first.shutdown();
    assert.equal(first.engine.disposed, true);
    const second = await serve([root], new FakeEngine(), cacheDir);
    await second.until(ready(root));
    assert.ok(
      second.logs.some((line) => line.includes("indexed 10 files") && line.includes("; 0 changed since the last run")),
      second.logs.join("\n"),
    );
  });
});
