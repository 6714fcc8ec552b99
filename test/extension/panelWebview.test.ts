import assert from "node:assert/strict";
import { beforeEach, describe, mock, test } from "node:test";
import type * as nodesView from "../../extension/panel/nodesView";
import type { PanelMessage, PanelView } from "../../extension/panel/view";
import type { SidecarState } from "../../extension/services";
import type { SidecarStatus } from "../../common/protocol";
import {
  completionResult,
  Emitter,
  fakeServices,
  fakeVscode,
  type FakeRange,
  FakeUri,
  loadWithVscode,
  NODES,
} from "./fakeVscode";

const fake = fakeVscode();

/** An editor that records its decorations and reveals. */
class FakeEditor {
  readonly document: { uri: FakeUri };
  decorations: FakeRange[][] = [];
  revealed: { range: FakeRange; type: number }[] = [];
  constructor(uri: FakeUri) {
    this.document = { uri };
  }
  setDecorations(_type: unknown, ranges: FakeRange[]) {
    this.decorations.push(ranges);
  }
  revealRange(range: FakeRange, type: number) {
    this.revealed.push({ range, type });
  }
}

// What opening a span needs beyond the shared stand-in: editors, decorations, selection events, stat.
const editors: FakeEditor[] = [];
/** Paths the editor fails to open, and whether each still exists on disk. */
const unopenable = new Map<string, { exists: boolean }>();
const selectionChanges = new Emitter<{ textEditor: FakeEditor; kind: number | undefined }>();
const KIND = { Keyboard: 1, Mouse: 2, Command: 3 };
Object.assign(fake.api, {
  ThemeColor: class {
    constructor(readonly id: string) {}
  },
  TextEditorRevealType: { InCenterIfOutsideViewport: 2 },
  TextEditorSelectionChangeKind: KIND,
});
Object.assign(fake.api.window, {
  createTextEditorDecorationType: () => ({ dispose() {} }),
  onDidChangeTextEditorSelection: selectionChanges.event,
  showTextDocument: async (uri: FakeUri, options: { selection: FakeRange; preview: boolean }) => {
    fake.shown.documents.push({ uri, options });
    if (unopenable.has(uri.path))
      throw new Error(`cannot open vscode-remote://localhost${uri.path}. Detail: Unable to read file`);
    const editor = new FakeEditor(uri);
    editors.push(editor);
    return editor;
  },
});
Object.assign(fake.api.workspace, {
  fs: {
    stat: async (uri: FakeUri) =>
      unopenable.get(uri.path)?.exists === false ? Promise.reject(new Error("FileNotFound")) : { type: 1 },
  },
});

const { registerNodesView, NODES_VIEW } = loadWithVscode<typeof nodesView>(
  "../../extension/panel/nodesView.ts",
  fake.api,
);
const { HIGHLIGHT_MS } = loadWithVscode<typeof import("../../extension/panel/reveal")>(
  "../../extension/panel/reveal.ts",
  fake.api,
);

/** A webview view recording what the extension posts and letting the test post as the page. */
function webviewView() {
  const fromPage = new Emitter<PanelMessage>();
  const posted: { type: string; view: PanelView }[] = [];
  const webview = {
    options: {} as { enableScripts?: boolean; localResourceRoots?: FakeUri[] },
    html: "",
    cspSource: "vscode-resource:",
    asWebviewUri: (uri: FakeUri) => new FakeUri("vscode-resource", uri.path),
    postMessage: async (message: { type: string; view: PanelView }) => (posted.push(message), true),
    onDidReceiveMessage: fromPage.event,
  };
  return {
    view: { webview, onDidDispose: () => ({ dispose() {} }) },
    posted,
    send: (m: PanelMessage) => fromPage.fire(m),
  };
}

let sidecar: ReturnType<typeof fakeServices>;
let page: ReturnType<typeof webviewView>;
/** The sidecar client as the view sees it, with its state and status under the test's control. */
let client: {
  state: SidecarState;
  status: SidecarStatus | undefined;
  states: Emitter<SidecarState>;
  statuses: Emitter<SidecarStatus>;
};

function completion(nodes = NODES) {
  const result = completionResult("x", { nodes });
  sidecar.services.reportCompletion({ params: { root: "/repo" } as never, result, latencyMs: 50 });
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Clicks a node of the last list shown (by its index in the completion's nodes), or one of a directory node's spans. */
async function open(index: number, span?: number) {
  const { seq } = page.posted.at(-1)!.view as { seq: number };
  page.send(span === undefined ? { type: "open", seq, index } : { type: "open", seq, index, span });
  await flush();
}

beforeEach(() => {
  sidecar = fakeServices(() => completionResult(""));
  const states = new Emitter<SidecarState>();
  const statuses = new Emitter<SidecarStatus>();
  client = { state: "running", status: undefined, states, statuses };
  sidecar.services.client = {
    ...sidecar.services.client,
    get state() {
      return client.state;
    },
    get status() {
      return client.status;
    },
    onDidChangeState: states.event as never,
    onDidChangeStatus: statuses.event as never,
  };
  fake.shown.documents.length = 0;
  fake.shown.executed.length = 0;
  fake.shown.warnings.length = 0;
  editors.length = 0;
  unopenable.clear();
  registerNodesView({ subscriptions: [], extensionUri: FakeUri.file("/ext") } as never, sidecar.services);
  page = webviewView();
  (fake.registered.webviewProviders.get(NODES_VIEW) as { resolveWebviewView(view: unknown): void }).resolveWebviewView(
    page.view,
  );
});

describe("the Retrieved nodes view", () => {
  test("is registered under hef.nodes and serves its page with scripts from media/ only", () => {
    const { webview } = page.view;
    assert.equal(webview.options.enableScripts, true);
    assert.deepEqual(
      webview.options.localResourceRoots?.map((u) => u.path),
      ["/ext/media"],
    );
    const nonce = webview.html.match(/script-src 'nonce-([^']+)'/)?.[1];
    assert.ok(nonce);
    assert.ok(webview.html.includes(`<script nonce="${nonce}" src="vscode-resource:///ext/media/panel.js">`));
    assert.ok(webview.html.includes('href="vscode-resource:///ext/media/panel.css"'));
  });

  test("shows the empty state when the page is ready, and each completion as it is reported", () => {
    page.send({ type: "ready" });
    assert.equal(page.posted.at(-1)!.view.kind, "empty");
    completion();
    const view = page.posted.at(-1)!.view;
    assert.equal(view.kind, "completion");
    assert.equal(view.kind === "completion" && view.nodes.length, 4);
    page.send({ type: "ready" });
    assert.deepEqual(page.posted.at(-1)!.view, view, "a page shown again gets the last completion");
  });

  test("a click on a chunk puts the cursor at its first line and highlights its lines, selecting nothing", async () => {
    completion();
    await open(0);
    assert.equal(fake.shown.documents.length, 1);
    const [{ uri, options }] = fake.shown.documents as [(typeof fake.shown.documents)[0]];
    assert.equal(uri.fsPath, "/repo/shop/cart.py");
    assert.deepEqual(
      [options.selection.start, options.selection.end],
      [
        { line: 29, character: 0 },
        { line: 29, character: 0 },
      ],
      "an empty selection: typing cannot replace the span",
    );
    const [editor] = editors as [FakeEditor];
    assert.deepEqual(
      editor.revealed.map((r) => [r.range.start.line, r.range.end.line, r.type]),
      [[29, 47, 2]],
    );
    assert.deepEqual(
      editor.decorations.map((d) => d.map((r) => [r.start.line, r.end.line])),
      [[[29, 47]]],
    );
  });

  test("the highlight goes when the user moves or types, or after a few seconds", async () => {
    completion();
    await open(1);
    const first = editors.at(-1)!;
    selectionChanges.fire({ textEditor: first, kind: KIND.Command });
    selectionChanges.fire({ textEditor: first, kind: undefined });
    assert.equal(first.decorations.length, 1, "the cursor set by opening the file keeps it");
    selectionChanges.fire({ textEditor: first, kind: KIND.Keyboard });
    assert.deepEqual(first.decorations.at(-1), []);

    await open(1);
    const second = editors.at(-1)!;
    fake.documentChanges.fire({ document: second.document, contentChanges: [{ text: "x" }] });
    assert.deepEqual(second.decorations.at(-1), []);

    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      await open(0);
      const third = editors.at(-1)!;
      mock.timers.tick(HIGHLIGHT_MS - 1);
      assert.equal(third.decorations.at(-1)!.length, 1);
      mock.timers.tick(1);
      assert.deepEqual(third.decorations.at(-1), []);
    } finally {
      mock.timers.reset();
    }
  });

  test("a directory row opens nothing itself (no explorer: the panel stays), a file it covers opens at its lines", async () => {
    completion();
    await open(2);
    await open(3);
    assert.deepEqual([fake.shown.documents, fake.shown.executed], [[], []]);
    await open(2, 0);
    assert.deepEqual(
      fake.shown.documents.map((d) => [d.uri.fsPath, d.options.selection.start.line]),
      [["/repo/shop/cart.py", 0]],
    );
    await open(2, 1);
    assert.equal(fake.shown.documents.length, 1, "a sub-directory has no lines to open");
  });

  test("a node whose file is gone says so in words, not with the editor's raw URI error", async () => {
    completion();
    unopenable.set("/repo/shop/cart.py", { exists: false });
    await open(0);
    unopenable.set("/repo/shop/tax.py", { exists: true });
    await open(1);
    assert.deepEqual(fake.shown.warnings, [
      "HEF: shop/cart.py no longer exists; it leaves the index at the next refresh.",
      "HEF: cannot open shop/tax.py: cannot open vscode-remote://localhost/repo/shop/tax.py. Detail: Unable to read file",
    ]);
  });

  test("a failure shown in the panel goes once the sidecar recovers; status pushes that change nothing post nothing", () => {
    page.send({ type: "ready" });
    sidecar.services.reportCompletion({
      params: { root: "/repo" } as never,
      result: { kind: "notReady", reason: "loading the models failed: oom" },
      latencyMs: 1,
    });
    client.state = "starting";
    client.states.fire("starting");
    assert.deepEqual(page.posted.at(-1)!.view, {
      kind: "empty",
      message: "No completion: loading the models failed: oom",
    });
    const posts = page.posted.length;
    client.state = "running";
    client.states.fire("running");
    assert.equal(page.posted.length, posts, "the same view is not posted again");
    client.status = {
      backend: "CPU",
      models: { embedder: "e", generator: "g", adapter: "a" },
      folders: [
        { root: "/repo", state: "ready", files: 3, nodes: 9, nodesPerLevel: { chunk: 5, file: 2, module: 1, repo: 1 } },
      ],
    };
    client.statuses.fire(client.status);
    assert.match((page.posted.at(-1)!.view as { message?: string }).message ?? "", /^HEF is ready now/);
  });

  test("a click on the list of an older completion, or past its end, opens nothing", async () => {
    completion();
    const { seq } = page.posted.at(-1)!.view as { seq: number };
    completion();
    page.send({ type: "open", seq, index: 0 });
    page.send({ type: "open", seq: seq + 1, index: 99 });
    await flush();
    assert.deepEqual(fake.shown.documents, []);
  });
});
