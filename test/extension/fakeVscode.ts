// A stand-in for the parts of the VS Code API that the inline completion provider, the nodes panel
// and the commands use, recording what they register, show and write, and a loader that hands it
// to extension code.
import Module, { createRequire } from "node:module";
import { posix } from "node:path";
import type { CompleteParams, CompleteResult, PanelNode, SidecarStatus } from "../../common/protocol";
import type { CompletionEvent, HefServices, SidecarState } from "../../extension/services";
import { readSettings, type HefSettings } from "../../extension/settings";

export class FakeUri {
  constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(path: string) {
    return new FakeUri("file", path);
  }
  static joinPath(base: FakeUri, ...segments: string[]) {
    return new FakeUri(base.scheme, posix.join(base.path, ...segments));
  }
  get fsPath() {
    return this.path;
  }
  toString() {
    return `${this.scheme}://${this.path}`;
  }
}

export class FakeRange {
  readonly start: { line: number; character: number };
  readonly end: { line: number; character: number };
  constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
    this.start = { line: startLine, character: startCharacter };
    this.end = { line: endLine, character: endCharacter };
  }
}

export class Emitter<T> {
  private listeners: ((value: T) => void)[] = [];
  event = (listener: (value: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T) {
    for (const listener of this.listeners) listener(value);
  }
}

export class FakeCancellationTokenSource {
  private readonly cancelled = new Emitter<void>();
  readonly token = { isCancellationRequested: false, onCancellationRequested: this.cancelled.event };
  cancel() {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.cancelled.fire();
  }
  dispose() {}
}

export class FakeCancellationError extends Error {
  constructor() {
    super("Canceled");
  }
}

export function fakeVscode() {
  const registered = {
    commands: new Map<string, (...args: unknown[]) => unknown>(),
    inlineProviders: [] as { selector: unknown; provider: unknown }[],
    webviewProviders: new Map<string, unknown>(),
  };
  const shown = {
    executed: [] as { command: string; args: unknown[] }[],
    documents: [] as { uri: FakeUri; options: { selection: FakeRange; preview: boolean } }[],
    warnings: [] as string[],
    errors: [] as string[],
    infos: [] as string[],
    statusMessages: [] as string[],
    progress: [] as { message?: string; increment?: number }[],
  };
  /** What the user answers: quick picks by label, in order; the input box; the file dialog. */
  const answers = {
    quickPicks: [] as string[],
    input: undefined as string | undefined,
    file: undefined as string | undefined,
  };
  const settingsWritten: { key: string; value: unknown; target: number }[] = [];
  /** Presses Cancel on the progress notification shown now. */
  let cancelProgress = () => {};
  const documentChanges = new Emitter<unknown>();
  const activeEditorChanges = new Emitter<unknown>();
  const selectionChanges = new Emitter<{ kind?: number }>();
  const api = {
    Uri: FakeUri,
    Range: FakeRange,
    CancellationTokenSource: FakeCancellationTokenSource,
    CancellationError: FakeCancellationError,
    InlineCompletionItem: class {
      constructor(
        readonly insertText: string,
        readonly range: FakeRange,
      ) {}
    },
    InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
    ProgressLocation: { Notification: 15 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    workspace: {
      isTrusted: true,
      folders: [FakeUri.file("/repo")],
      getWorkspaceFolder(uri: FakeUri) {
        const folder = api.workspace.folders.find((f) => uri.path.startsWith(`${f.path}/`));
        return folder && { uri: folder };
      },
      onDidChangeTextDocument: documentChanges.event,
      getConfiguration: () => ({
        update: async (key: string, value: unknown, target: number) =>
          void settingsWritten.push({ key, value, target }),
      }),
    },
    TextEditorSelectionChangeKind: { Keyboard: 1, Mouse: 2, Command: 3 },
    window: {
      activeTextEditor: undefined as { document: unknown } | undefined,
      onDidChangeActiveTextEditor: activeEditorChanges.event,
      onDidChangeTextEditorSelection: selectionChanges.event,
      registerWebviewViewProvider: (id: string, provider: unknown) => (
        registered.webviewProviders.set(id, provider),
        { dispose() {} }
      ),
      showTextDocument: async (uri: FakeUri, options: { selection: FakeRange; preview: boolean }) =>
        void shown.documents.push({ uri, options }),
      showWarningMessage: async (message: string) => void shown.warnings.push(message),
      showErrorMessage: async (message: string) => void shown.errors.push(message),
      showInformationMessage: async (message: string) => void shown.infos.push(message),
      setStatusBarMessage: (message: string) => (shown.statusMessages.push(message), { dispose() {} }),
      showQuickPick: async <T extends { label: string }>(items: T[]) => {
        const label = answers.quickPicks.shift();
        return items.find((item) => item.label === label);
      },
      showInputBox: async () => answers.input,
      showOpenDialog: async () => (answers.file === undefined ? undefined : [FakeUri.file(answers.file)]),
      withProgress: async <T>(_options: unknown, task: (progress: unknown, token: unknown) => Promise<T>) => {
        const cancelled = new Emitter<void>();
        const token = { isCancellationRequested: false, onCancellationRequested: cancelled.event };
        cancelProgress = () => {
          token.isCancellationRequested = true;
          cancelled.fire();
        };
        return task(
          { report: (step: { message?: string; increment?: number }) => void shown.progress.push(step) },
          token,
        );
      },
    },
    languages: {
      registerInlineCompletionItemProvider: (selector: unknown, provider: unknown) => (
        registered.inlineProviders.push({ selector, provider }),
        { dispose() {} }
      ),
    },
    commands: {
      registerCommand: (id: string, run: (...args: unknown[]) => unknown) => (
        registered.commands.set(id, run),
        { dispose() {} }
      ),
      executeCommand: async (command: string, ...args: unknown[]) => void shown.executed.push({ command, args }),
    },
  };
  return {
    api,
    registered,
    shown,
    documentChanges,
    activeEditorChanges,
    selectionChanges,
    answers,
    settingsWritten,
    cancelProgress: () => cancelProgress(),
  };
}

/** Requires a TypeScript module of the extension with `vscode` resolved to the stand-in. */
export function loadWithVscode<T>(path: string, api: unknown): T {
  const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) =>
    request === "vscode" ? api : load(request, ...rest);
  try {
    return createRequire(import.meta.url)(path) as T;
  } finally {
    (Module as unknown as { _load: unknown })._load = load;
  }
}

/** The extension's defaults (package.json's, as readSettings reads them), with a short debounce. */
export const DEFAULT_SETTINGS: HefSettings = { ...readSettings({ get: () => undefined }), debounceMs: 10 };

/** A hef/speculate request the test answers (or sees cancelled) when it likes. */
export interface FakeSpeculation {
  params: CompleteParams;
  token: { isCancellationRequested: boolean };
  answer(result: CompleteResult): void;
}

/** Services whose sidecar answers from a script and records what it was asked. */
export function fakeServices(answer: (params: CompleteParams) => CompleteResult) {
  const prewarms: CompleteParams[] = [];
  const speculations: FakeSpeculation[] = [];
  const requests: { params: CompleteParams; token: unknown }[] = [];
  const reported: CompletionEvent[] = [];
  const latencies: number[] = [];
  const logs: string[] = [];
  const completions = new Emitter<CompletionEvent>();
  const settingsChanges = new Emitter<HefSettings>();
  const state = {
    settings: { ...DEFAULT_SETTINGS },
    sidecar: "running" as SidecarState,
    status: undefined as SidecarStatus | undefined,
  };
  const services: HefServices = {
    client: {
      get state() {
        return state.sidecar;
      },
      onDidChangeState: new Emitter<SidecarState>().event as never,
      get status() {
        return state.status;
      },
      onDidChangeStatus: new Emitter<SidecarStatus>().event as never,
      complete: async (params, token) => (requests.push({ params, token }), answer(params)),
      prewarm: (params) => void prewarms.push(params),
      speculate: (params, token) =>
        new Promise<CompleteResult>((resolve, reject) => {
          speculations.push({ params, token, answer: resolve });
          token.onCancellationRequested(() => reject(new FakeCancellationError()));
        }),
    },
    settings: () => state.settings,
    onDidChangeSettings: settingsChanges.event as never,
    setLastLatency: (ms) => void latencies.push(ms),
    reportCompletion: (event) => (reported.push(event), completions.fire(event)),
    onCompletion: completions.event as never,
    log: { warn: (line: string) => void logs.push(line) } as never,
  };
  return { services, state, requests, prewarms, speculations, reported, latencies, logs, settingsChanges };
}

/** A completion as the sidecar would return it, with the given text and nodes. */
export function completionResult(
  text: string,
  overrides: Partial<Extract<CompleteResult, { kind: "completion" }>> = {},
): CompleteResult {
  return {
    kind: "completion",
    text,
    mode: "hef",
    stopReason: "eog",
    promptTokens: 120,
    pseudoTokens: 32,
    contextTokens: 2400,
    entityTokens: 0,
    entityNames: [],
    reused: 100,
    decoded: 20,
    generatedTokens: 6,
    retrievalReused: false,
    nodes: [],
    timings: { queryEmbed: 4, search: 1, projection: 2, prefill: 30, decode: 60, total: 97 },
    ...overrides,
  };
}

const node = (level: PanelNode["level"], path: string, spans: PanelNode["spans"], score: number): PanelNode => ({
  id: `${level}:${path}`,
  level,
  partial: false,
  root: "/repo",
  path,
  spans,
  score,
});

/** One node of each level, as the sidecar lists them for the panel. */
export const NODES: PanelNode[] = [
  node("chunk", "shop/cart.py", [{ path: "shop/cart.py", startLine: 30, endLine: 48 }], 0.91),
  node("file", "shop/tax.py", [{ path: "shop/tax.py", startLine: 1, endLine: 60 }], 0.8),
  node("module", "shop", [{ path: "shop/cart.py", startLine: 1, endLine: 90 }, { path: "shop/util" }], 0.7),
  node("repo", "", [{ path: "shop" }], 0.5),
];
