// The "Retrieved nodes" view: shows the last completion's nodes, stage times and prompt size, and
// opens a node's source when it is clicked.
import * as vscode from "vscode";
import type { PanelNode } from "../../sidecar/protocol";
import type { CompletionEvent, HefServices } from "../services";
import { newNonce, panelHtml } from "./html";
import { fileSpan, panelView, type PanelMessage } from "./view";

export const NODES_VIEW = "hef.nodes";

export class NodesViewProvider implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;
  private last: CompletionEvent | undefined;
  private seq = 0;

  constructor(private readonly media: vscode.Uri) {}

  show(event: CompletionEvent): void {
    this.last = event;
    this.seq++;
    this.post();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const { webview } = view;
    webview.options = { enableScripts: true, localResourceRoots: [this.media] };
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.media, name)).toString();
    webview.html = panelHtml({ cspSource: webview.cspSource, script: asset("panel.js"), style: asset("panel.css") }, newNonce());
    webview.onDidReceiveMessage((message: PanelMessage) => this.receive(message));
    view.onDidDispose(() => (this.view = undefined));
  }

  private receive(message: PanelMessage): void {
    if (message.type === "ready") this.post();
    else if (message.type === "open" && message.seq === this.seq && this.last?.result.kind === "completion") {
      const node = this.last.result.nodes[message.index];
      // The file may have been deleted or renamed since it was indexed.
      if (node) openNode(node).catch((error: Error) => void vscode.window.showWarningMessage(`HEF: cannot open ${node.path}: ${error.message}`));
    }
  }

  private post(): void {
    // A hidden view's page is gone; it asks again ("ready") when shown.
    void this.view?.webview.postMessage({ type: "show", view: panelView(this.last, this.seq) });
  }
}

/** A chunk or file node opens its file with its lines selected; a directory is revealed in the explorer. */
async function openNode(node: PanelNode): Promise<void> {
  const root = vscode.Uri.file(node.root);
  const span = fileSpan(node);
  if (!span) {
    await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.joinPath(root, node.path));
    return;
  }
  const selection = new vscode.Range(span.startLine - 1, 0, span.endLine, 0);
  await vscode.window.showTextDocument(vscode.Uri.joinPath(root, span.path), { selection, preview: true });
}

export function registerNodesView(context: vscode.ExtensionContext, services: HefServices): void {
  const provider = new NodesViewProvider(vscode.Uri.joinPath(context.extensionUri, "media"));
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider(NODES_VIEW, provider),
    services.onCompletion((event) => provider.show(event)),
  );
}
