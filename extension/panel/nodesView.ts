// The "Retrieved nodes" view: shows the last completion's nodes, stage times and prompt size, and
// opens a node's source when it is clicked.
import * as vscode from "vscode";
import type { PanelNode } from "../../common/protocol";
import type { CompletionEvent, HefServices } from "../services";
import { newNonce, panelHtml } from "./html";
import { SpanRevealer } from "./reveal";
import { fileSpan, panelView, type PanelMessage } from "./view";

export const NODES_VIEW = "hef.nodes";

export class NodesViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private last: CompletionEvent | undefined;
  private seq = 0;
  /** The view last posted, as JSON: a status push that changes nothing must not re-render (and collapse) the page. */
  private posted = "";
  private readonly revealer = new SpanRevealer();

  constructor(
    private readonly media: vscode.Uri,
    private readonly client: HefServices["client"],
  ) {}

  show(event: CompletionEvent): void {
    this.last = event;
    this.seq++;
    this.post();
  }

  /** The sidecar's state or status changed: what the view says about it may have gone stale. */
  refresh(): void {
    this.post();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const { webview } = view;
    webview.options = { enableScripts: true, localResourceRoots: [this.media] };
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.media, name)).toString();
    webview.html = panelHtml(
      { cspSource: webview.cspSource, script: asset("panel.js"), style: asset("panel.css") },
      newNonce(),
    );
    webview.onDidReceiveMessage((message: PanelMessage) => this.receive(message));
    view.onDidDispose(() => (this.view = undefined));
  }

  dispose(): void {
    this.revealer.dispose();
  }

  private receive(message: PanelMessage): void {
    if (message.type === "ready") this.post(true);
    else if (message.type === "open" && message.seq === this.seq && this.last?.result.kind === "completion") {
      const node = this.last.result.nodes[message.index];
      if (node) void this.open(node, message.span);
    }
  }

  private async open(node: PanelNode, spanIndex: number | undefined): Promise<void> {
    const span = fileSpan(node, spanIndex);
    if (!span) return;
    const uri = vscode.Uri.joinPath(vscode.Uri.file(node.root), span.path);
    try {
      await this.revealer.reveal(uri, span.startLine, span.endLine);
    } catch (error) {
      // The index lags behind deletions and renames; the editor's own error names a raw URI.
      const gone = await vscode.workspace.fs.stat(uri).then(
        () => false,
        () => true,
      );
      const message = gone
        ? `HEF: ${span.path} no longer exists; it leaves the index at the next refresh.`
        : `HEF: cannot open ${span.path}: ${(error as Error).message.split("\n")[0]}`;
      void vscode.window.showWarningMessage(message);
    }
  }

  private post(pageIsNew = false): void {
    // A hidden view's page is gone; it asks again ("ready") when shown.
    if (!this.view) return;
    const view = panelView(this.last, this.seq, { state: this.client.state, status: this.client.status });
    const json = JSON.stringify(view);
    if (json === this.posted && !pageIsNew) return;
    this.posted = json;
    void this.view.webview.postMessage({ type: "show", view });
  }
}

export function registerNodesView(context: vscode.ExtensionContext, services: HefServices): void {
  const provider = new NodesViewProvider(vscode.Uri.joinPath(context.extensionUri, "media"), services.client);
  context.subscriptions.push(
    provider,
    vscode.window.registerWebviewViewProvider(NODES_VIEW, provider),
    services.onCompletion((event) => provider.show(event)),
    services.client.onDidChangeState(() => provider.refresh()),
    services.client.onDidChangeStatus(() => provider.refresh()),
  );
}
