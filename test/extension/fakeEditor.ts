// What the completion tests hand the extension in place of the editor: a document with the cursor in
// it, a cancellation token, the request a completion there makes, and the registered inline provider.
import type { CompleteParams, FolderStatus, SidecarStatus } from "../../common/protocol";
import { DEFAULT_K, DEFAULT_MAX_TOKENS } from "../../common/settings";
import { FakeUri, type fakeVscode } from "./fakeVscode";

export type Items = {
  insertText: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
}[];
export type Provide = (document: unknown, position: unknown, context: unknown, token: unknown) => Promise<Items>;

/** A document whose text is `before` + `after`, with the cursor between them. */
export function documentAt(before: string, after = "", languageId = "python", path = "/repo/shop/cart.py") {
  const text = before + after;
  const lines = before.split("\n");
  const document = {
    uri: FakeUri.file(path),
    languageId,
    version: 7,
    getText: () => text,
    offsetAt: (p: { line: number; character: number }) =>
      text
        .split("\n")
        .slice(0, p.line)
        .reduce((n, l) => n + l.length + 1, 0) + p.character,
  };
  return { document, position: { line: lines.length - 1, character: lines.at(-1)!.length } };
}

/** VS Code's CancellationToken, cancelled by the test. */
export function cancellationToken() {
  const listeners: (() => void)[] = [];
  return {
    isCancellationRequested: false,
    onCancellationRequested: (listener: () => void) => (listeners.push(listener), { dispose() {} }),
    cancel() {
      this.isCancellationRequested = true;
      for (const listener of listeners) listener();
    },
  };
}

/** The request a typed single-line completion makes with the default settings, in /repo/shop/cart.py. */
export function completeParams(fields: Partial<CompleteParams> = {}): CompleteParams {
  return {
    root: "/repo",
    textDocument: { uri: "file:///repo/shop/cart.py", version: 1 },
    position: { line: 0, character: 0 },
    mode: "hef",
    k: DEFAULT_K,
    maxTokens: DEFAULT_MAX_TOKENS.singleLine,
    singleLine: true,
    entities: false,
    force: false,
    ...fields,
  };
}

/** The inline completion provider registered last, as VS Code calls it. */
export function registeredProvider(fake: ReturnType<typeof fakeVscode>): Provide {
  return (...args) =>
    (
      fake.registered.inlineProviders.at(-1)!.provider as { provideInlineCompletionItems: Provide }
    ).provideInlineCompletionItems(...args);
}

/** The sidecar's status with its models loaded on the CPU and one folder, /repo, ready unless `folder` says otherwise. */
export function sidecarStatus(folder: Partial<FolderStatus> = {}): SidecarStatus {
  return {
    backend: "CPU",
    models: { embedder: "e", generator: "g", adapter: "a" },
    folders: [
      {
        root: "/repo",
        state: "ready",
        files: 3,
        nodes: 9,
        nodesPerLevel: { chunk: 5, file: 2, module: 1, repo: 1 },
        ...folder,
      },
    ],
  };
}
