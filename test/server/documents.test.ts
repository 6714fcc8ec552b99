import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  DidChangeTextDocumentParams,
  DidCloseTextDocumentParams,
  DidOpenTextDocumentParams,
} from "vscode-languageserver-protocol";
import { OpenDocuments, type TextDocumentConnection } from "../../sidecar/server/documents";

/** The sync notifications as a connection would deliver them, to the store's handlers. */
function sync(waitMs = 20) {
  const handlers: Record<string, (params: never) => void> = {};
  const on = (name: string) => (handler: (params: never) => void) => ((handlers[name] = handler), { dispose() {} });
  const connection = {
    onDidOpenTextDocument: on("open"),
    onDidChangeTextDocument: on("change"),
    onDidCloseTextDocument: on("close"),
    onWillSaveTextDocument: on("willSave"),
    onWillSaveTextDocumentWaitUntil: on("willSaveWaitUntil"),
    onDidSaveTextDocument: on("save"),
  } as unknown as TextDocumentConnection;
  const documents = new OpenDocuments(waitMs);
  documents.listen(connection);
  return {
    documents,
    open: (params: DidOpenTextDocumentParams) => handlers.open!(params as never),
    change: (params: DidChangeTextDocumentParams) => handlers.change!(params as never),
    close: (params: DidCloseTextDocumentParams) => handlers.close!(params as never),
  };
}

const uri = "file:///repo/shop/cart.py";
const open = (text: string, version = 1) => ({ textDocument: { uri, languageId: "python", version, text } });
const insert = (version: number, line: number, character: number, text: string) => ({
  textDocument: { uri, version },
  contentChanges: [{ range: { start: { line, character }, end: { line, character } }, text }],
});
const at = (version: number, line: number, character: number, insert?: string) => ({
  textDocument: { uri, version },
  position: { line, character },
  ...(insert === undefined ? {} : { insert }),
});
const live = () => new AbortController().signal;

describe("the open documents (LSP incremental sync)", () => {
  test("applies incremental edits in order and cuts the text at the cursor of the version asked", async () => {
    const { documents, open: opened, change } = sync();
    opened(open("def total(cart):\n    pass\n"));
    // One didChange with two edits (applied in order), then a range replaced across lines.
    change({
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: { line: 0, character: 14 }, end: { line: 0, character: 14 } }, text: ", tax" },
        { range: { start: { line: 1, character: 4 }, end: { line: 1, character: 8 } }, text: "return sum(cart)" },
      ],
    });
    change({
      textDocument: { uri, version: 3 },
      contentChanges: [{ range: { start: { line: 0, character: 20 }, end: { line: 1, character: 4 } }, text: ":\n\t" }],
    });
    assert.deepEqual(await documents.textAt(at(3, 1, 1), live()), {
      kind: "text",
      path: "/repo/shop/cart.py",
      prefix: "def total(cart, tax):\n\t",
      suffix: "return sum(cart)\n",
    });
    // A whole-text change (no range) replaces the document.
    change({ textDocument: { uri, version: 4 }, contentChanges: [{ text: "x = 1\n" }] });
    assert.deepEqual(await documents.textAt(at(4, 0, 4), live()), {
      kind: "text",
      path: "/repo/shop/cart.py",
      prefix: "x = ",
      suffix: "1\n",
    });
  });

  test("positions count UTF-16 code units, as LSP and VS Code do", async () => {
    const { documents, open: opened } = sync();
    opened(open("s = '😀é' + x\n"));
    const cut = await documents.textAt(at(1, 0, 10), live());
    assert.deepEqual(cut.kind === "text" && [cut.prefix, cut.suffix], ["s = '😀é' ", "+ x\n"]);
  });

  test("insert: the text as if typed at the cursor, the document left as it is", async () => {
    const { documents, open: opened } = sync();
    opened(open("total = \nprint(total)\n"));
    const cut = await documents.textAt(at(1, 0, 8, "sum(prices)"), live());
    assert.deepEqual(cut.kind === "text" && [cut.prefix, cut.suffix], ["total = sum(prices)", "\nprint(total)\n"]);
    const again = await documents.textAt(at(1, 0, 8), live());
    assert.deepEqual(again.kind === "text" && again.prefix, "total = ");
  });

  test("a version not seen yet is waited for, and served once its change arrives", async () => {
    const { documents, open: opened, change } = sync(60_000);
    opened(open("a\n"));
    const waiting = documents.textAt(at(2, 0, 2), live());
    change(insert(2, 0, 1, "b"));
    assert.deepEqual(await waiting, { kind: "text", path: "/repo/shop/cart.py", prefix: "ab", suffix: "\n" });
    // Also a document whose didOpen is still on its way.
    const other = "file:///repo/b.py";
    const beforeOpen = documents.textAt(
      { textDocument: { uri: other, version: 1 }, position: { line: 0, character: 0 } },
      live(),
    );
    opened({ textDocument: { uri: other, languageId: "python", version: 1, text: "b = 2\n" } });
    assert.equal((await beforeOpen).kind, "text");
  });

  test("says why it cannot serve: a version that does not come in time, an older version, a document not open or closed", async () => {
    const { documents, open: opened, change, close } = sync(20);
    assert.deepEqual(await documents.textAt(at(1, 0, 0), live()), {
      kind: "notReady",
      reason: `${uri} is not open in the sidecar (the editor syncs a document with textDocument/didOpen before completing in it)`,
    });
    opened(open("a\n"));
    change(insert(2, 0, 0, "b"));
    assert.deepEqual(await documents.textAt(at(3, 0, 0), live()), {
      kind: "notReady",
      reason: `version 3 of ${uri} did not reach the sidecar within 20 ms (it has version 2)`,
    });
    assert.deepEqual(await documents.textAt(at(1, 0, 0), live()), {
      kind: "notReady",
      reason: `${uri} changed since the request (version 1; the sidecar has 2)`,
    });
    close({ textDocument: { uri } });
    assert.equal((await documents.textAt(at(2, 0, 0), live())).kind, "notReady");
  });

  test("a cancelled request stops waiting at once", async () => {
    const { documents, open: opened } = sync(60_000);
    opened(open("a\n"));
    const controller = new AbortController();
    const waiting = documents.textAt(at(2, 0, 0), controller.signal);
    controller.abort();
    assert.equal((await waiting).kind, "notReady");
  });

  test("tells who watches of each open, edit and close, and gives the text with its unsaved edits", () => {
    const { documents, open: opened, change, close } = sync();
    const heard: string[] = [];
    documents.watch(
      (edited) => heard.push(`edited ${edited}`),
      (closed) => heard.push(`closed ${closed}`),
    );
    opened(open("def total(cart):\n"));
    change(insert(2, 1, 0, "    return 0\n"));
    assert.equal(documents.text(uri), "def total(cart):\n    return 0\n");
    close({ textDocument: { uri } });
    assert.deepEqual(heard, [`edited ${uri}`, `edited ${uri}`, `closed ${uri}`]);
    assert.equal(documents.text(uri), undefined);
  });
});
