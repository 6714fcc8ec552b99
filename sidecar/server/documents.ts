// The editor's open documents as the sidecar holds them: LSP's incremental text-document sync
// (vscode-languageserver's TextDocuments applies each didChange's edits), so a completion request
// names a document, a version and a cursor instead of carrying the file (common/protocol.ts,
// "Documents"). Unsaved edits are what completes.
import { fileURLToPath } from "node:url";
import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { DOCUMENT_WAIT_MS, type CompleteParams } from "../../common/protocol";

/** What the engine completes: the document's absolute path and its text either side of the cursor. */
export interface TextAtCursor {
  path: string;
  prefix: string;
  suffix: string;
}

/** The part of a connection the sync needs (vscode-languageserver does not export its name). */
export type TextDocumentConnection = Parameters<TextDocuments<TextDocument>["listen"]>[0];

export type TextAtResult = ({ kind: "text" } & TextAtCursor) | { kind: "notReady"; reason: string };

export class OpenDocuments {
  private readonly documents = new TextDocuments(TextDocument);

  constructor(private readonly waitMs = DOCUMENT_WAIT_MS) {}

  /** Takes over the connection's didOpen, didChange and didClose handlers. */
  listen(connection: TextDocumentConnection): void {
    this.documents.listen(connection);
  }

  /** Hears of each document opened or changed (`edited`) and closed, by URI. */
  watch(edited: (uri: string) => void, closed: (uri: string) => void): void {
    this.documents.onDidChangeContent(({ document }) => edited(document.uri));
    this.documents.onDidClose(({ document }) => closed(document.uri));
  }

  /** An open document's current text, unsaved edits included; undefined when it is not open. */
  text(uri: string): string | undefined {
    return this.documents.get(uri)?.getText();
  }

  /**
   * The text before and after the cursor in the version the request names, with `insert` placed
   * at the cursor. A version not seen yet is waited for (its didChange precedes the request on the
   * connection, so this is a short race at most); what cannot be served says why.
   */
  async textAt(
    params: Pick<CompleteParams, "textDocument" | "position" | "insert">,
    signal: AbortSignal,
  ): Promise<TextAtResult> {
    const { uri, version } = params.textDocument;
    const document = await this.reaching(uri, version, signal);
    if (!document)
      return {
        kind: "notReady",
        reason: `${uri} is not open in the sidecar (the editor syncs a document with textDocument/didOpen before completing in it)`,
      };
    if (document.version < version) {
      return {
        kind: "notReady",
        reason: `version ${version} of ${uri} did not reach the sidecar within ${this.waitMs} ms (it has version ${document.version})`,
      };
    }
    if (document.version > version)
      return {
        kind: "notReady",
        reason: `${uri} changed since the request (version ${version}; the sidecar has ${document.version})`,
      };
    const text = document.getText();
    const offset = document.offsetAt(params.position);
    return {
      kind: "text",
      path: fileURLToPath(uri),
      prefix: text.slice(0, offset) + (params.insert ?? ""),
      suffix: text.slice(offset),
    };
  }

  /** The document once it has the version (or a later one), or as it is when waitMs pass or the signal aborts. */
  private reaching(uri: string, version: number, signal: AbortSignal): Promise<TextDocument | undefined> {
    const current = () => this.documents.get(uri);
    const reached = () => (current()?.version ?? -Infinity) >= version;
    if (reached() || signal.aborted) return Promise.resolve(current());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        listener.dispose();
        signal.removeEventListener("abort", done);
        resolve(current());
      };
      const timer = setTimeout(done, this.waitMs);
      const listener = this.documents.onDidChangeContent(({ document }) => document.uri === uri && reached() && done());
      signal.addEventListener("abort", done);
    });
  }
}
