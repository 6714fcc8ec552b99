import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { posix, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { copyOfRepo, tempDir } from "../helpers/repos";

class Emitter<T> {
  private listeners: ((value: T) => void)[] = [];
  event = (listener: (value: T) => void) => (
    this.listeners.push(listener),
    { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) }
  );
  fire(value: T) {
    for (const listener of this.listeners) listener(value);
  }
  dispose() {}
}

const uri = (path: string) => ({ scheme: "file", path, fsPath: path });

/** Just enough of the VS Code API to activate the shipped bundle, recording what the user would see. */
function fakeVscode(folderPath: string, trusted: boolean) {
  const commands = new Map<string, () => Promise<void>>();
  const messages: string[] = [];
  const logs: string[] = [];
  const trust = new Emitter<void>();
  const never = () => ({ dispose() {} });
  const api = {
    EventEmitter: Emitter,
    ThemeColor: class {},
    CancellationError: class extends Error {},
    ProgressLocation: { Notification: 15 },
    StatusBarAlignment: { Right: 2 },
    ConfigurationTarget: { Global: 1 },
    Uri: { joinPath: (base: { path: string }, ...parts: string[]) => uri(posix.join(base.path, ...parts)), file: uri },
    commands: {
      registerCommand: (id: string, run: () => Promise<void>) => (commands.set(id, run), { dispose() {} }),
      executeCommand: async () => undefined,
    },
    languages: { registerInlineCompletionItemProvider: never },
    workspace: {
      workspaceFolders: [{ name: "shop", uri: uri(folderPath) }],
      isTrusted: trusted,
      getConfiguration: () => ({ get: () => undefined, update: async () => undefined }),
      onDidGrantWorkspaceTrust: trust.event,
      onDidChangeWorkspaceFolders: never,
      onDidChangeConfiguration: never,
      onDidChangeTextDocument: never,
    },
    window: {
      createOutputChannel: () => {
        const line = (level: string) => (l: string) => logs.push(`${level}${l}`);
        return {
          info: line(""),
          warn: line("warn: "),
          error: line("error: "),
          trace: line(""),
          debug: line(""),
          append: line(""),
          appendLine: line(""),
          replace() {},
          clear() {},
          show() {},
          hide() {},
          dispose() {},
          name: "HEF",
          logLevel: 2,
          onDidChangeLogLevel: never,
        };
      },
      createStatusBarItem: () => ({ show() {}, dispose() {} }),
      registerWebviewViewProvider: never,
      createTextEditorDecorationType: () => ({ dispose() {} }),
      visibleTextEditors: [],
      onDidChangeVisibleTextEditors: never,
      onDidChangeActiveTextEditor: never,
      onDidChangeTextEditorSelection: never,
      showInformationMessage: (m: string) => messages.push(`info: ${m}`),
      showWarningMessage: (m: string) => messages.push(`warning: ${m}`),
      showErrorMessage: (m: string) => messages.push(`error: ${m}`),
      withProgress: async (_options: unknown, task: (progress: unknown, token: unknown) => Promise<void>) =>
        task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: never }),
    },
  };
  // vscode-languageclient subclasses and reads many more API types at load time; any class does for them.
  const stubbed = new Proxy(api, {
    get: (target, key) => (key in target ? target[key as keyof typeof api] : class {}),
  });
  return { api: stubbed, commands, messages, logs, trust };
}

function activate(fake: ReturnType<typeof fakeVscode>) {
  const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) =>
    request === "vscode" ? fake.api : load(request, ...rest);
  try {
    const bundle = resolve("dist/extension.cjs");
    const require = createRequire(import.meta.url);
    delete require.cache[bundle];
    const extension = require(bundle) as { activate: (context: unknown) => { client: { dispose(): void } } };
    const context = {
      subscriptions: [] as { dispose(): void }[],
      asAbsolutePath: (p: string) => resolve(p),
      globalStorageUri: uri(tempDir()),
      extensionUri: uri(resolve(".")),
    };
    const services = extension.activate(context);
    return { services, dispose: () => context.subscriptions.forEach((s) => s.dispose()) };
  } finally {
    (Module as unknown as { _load: unknown })._load = load;
  }
}

describe("the extension's commands (the shipped bundle, with a stand-in VS Code API)", () => {
  before(() => {
    execFileSync(process.execPath, ["esbuild.config.mjs"]);
    process.env.HEF_CACHE_HOME = tempDir("hef-ext-cache-");
  });

  test("the manifest contributes exactly the commands the bundle registers", () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), false);
    activate(fake).dispose();
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    assert.deepEqual(
      manifest.contributes.commands.map((c: { command: string }) => c.command).sort(),
      [...fake.commands.keys()].sort(),
    );
    assert.equal(manifest.main, "./dist/extension.cjs");
  });

  test("an untrusted workspace starts no sidecar, and the rebuild says why it does nothing", async () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), false);
    const { services, dispose } = activate(fake);
    assert.equal((services.client as unknown as { state: string }).state, "stopped");
    await fake.commands.get("hef.rebuildCache")!();
    assert.deepEqual(fake.messages, [
      "warning: HEF: this workspace is not trusted; HEF Code indexes trusted workspaces only.",
    ]);
    dispose();
  });
});
