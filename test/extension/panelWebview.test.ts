import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import type * as nodesView from "../../extension/panel/nodesView";
import type { PanelMessage, PanelView } from "../../extension/panel/view";
import { completionResult, Emitter, fakeServices, fakeVscode, FakeUri, loadWithVscode, NODES } from "./fakeVscode";

const fake = fakeVscode();
const { registerNodesView, NODES_VIEW } = loadWithVscode<typeof nodesView>("../../extension/panel/nodesView.ts", fake.api);

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
  return { view: { webview, onDidDispose: () => ({ dispose() {} }) }, posted, send: (m: PanelMessage) => fromPage.fire(m) };
}

let sidecar: ReturnType<typeof fakeServices>;
let page: ReturnType<typeof webviewView>;

function completion(nodes = NODES) {
  const result = completionResult("x", { nodes });
  sidecar.services.reportCompletion({ params: {} as never, result, latencyMs: 50 });
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  sidecar = fakeServices(() => completionResult(""));
  fake.shown.documents.length = 0;
  fake.shown.executed.length = 0;
  registerNodesView({ subscriptions: [], extensionUri: FakeUri.file("/ext") } as never, sidecar.services);
  page = webviewView();
  (fake.registered.webviewProviders.get(NODES_VIEW) as { resolveWebviewView(view: unknown): void }).resolveWebviewView(page.view);
});

describe("the Retrieved nodes view", () => {
  test("is registered under hef.nodes and serves its page with scripts from media/ only", () => {
    const { webview } = page.view;
    assert.equal(webview.options.enableScripts, true);
    assert.deepEqual(webview.options.localResourceRoots?.map((u) => u.path), ["/ext/media"]);
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

  test("a click on a chunk opens its file with its lines selected", async () => {
    completion();
    const { seq } = page.posted.at(-1)!.view as { seq: number };
    page.send({ type: "open", seq, index: 0 });
    await flush();
    assert.equal(fake.shown.documents.length, 1);
    const [{ uri, options }] = fake.shown.documents as [(typeof fake.shown.documents)[0]];
    assert.equal(uri.fsPath, "/repo/shop/cart.py");
    assert.deepEqual([options.selection.start, options.selection.end], [{ line: 29, character: 0 }, { line: 48, character: 0 }]);
  });

  test("a click on a module reveals its directory", async () => {
    completion();
    const { seq } = page.posted.at(-1)!.view as { seq: number };
    page.send({ type: "open", seq, index: 2 });
    await flush();
    assert.deepEqual(fake.shown.documents, []);
    assert.deepEqual(fake.shown.executed.map((e) => [e.command, (e.args[0] as FakeUri).fsPath]), [["revealInExplorer", "/repo/shop"]]);
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
