import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { resolve } from "node:path";
import { before, describe, test } from "node:test";
import { copyOfRepo, tempDir } from "../helpers/repos";

/** Just enough of the VS Code API for the extension's command, recording what the user would see. */
function fakeVscode(folderPath: string, trusted: boolean, cancelAfterMs?: number) {
  const commands = new Map<string, () => Promise<void>>();
  const messages: string[] = [];
  const logs: string[] = [];
  const api = {
    ProgressLocation: { Notification: 15 },
    commands: {
      registerCommand: (id: string, run: () => Promise<void>) => (commands.set(id, run), { dispose() {} }),
    },
    workspace: { workspaceFolders: [{ name: "shop", uri: { fsPath: folderPath } }], isTrusted: trusted },
    window: {
      createOutputChannel: () => ({ info: (l: string) => logs.push(l), error: (l: string) => logs.push(`error: ${l}`), dispose() {} }),
      showInformationMessage: (m: string) => messages.push(`info: ${m}`),
      showWarningMessage: (m: string) => messages.push(`warning: ${m}`),
      showErrorMessage: (m: string) => messages.push(`error: ${m}`),
      withProgress: async (_options: unknown, task: (progress: unknown, token: unknown) => Promise<void>) => {
        const listeners: (() => void)[] = [];
        const token = {
          isCancellationRequested: false,
          onCancellationRequested: (listener: () => void) => (listeners.push(listener), { dispose() {} }),
        };
        if (cancelAfterMs !== undefined) {
          setTimeout(() => {
            token.isCancellationRequested = true;
            for (const listener of listeners) listener();
          }, cancelAfterMs);
        }
        await task({ report() {} }, token);
      },
    },
  };
  return { api, commands, messages, logs };
}

function loadExtension(api: unknown) {
  const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
  (Module as unknown as { _load: unknown })._load = (request: string, ...rest: unknown[]) => (request === "vscode" ? api : load(request, ...rest));
  try {
    const bundle = resolve("dist/extension.cjs");
    const require = createRequire(import.meta.url);
    delete require.cache[bundle];
    return require(bundle) as { activate: (context: unknown) => void };
  } finally {
    (Module as unknown as { _load: unknown })._load = load;
  }
}

function activate(fake: ReturnType<typeof fakeVscode>) {
  loadExtension(fake.api).activate({ subscriptions: [], asAbsolutePath: (p: string) => resolve(p) });
}

describe("the Rebuild HEF cache command (the shipped bundle, with a stand-in VS Code API)", () => {
  before(() => {
    execFileSync(process.execPath, ["esbuild.config.mjs"]);
    process.env.HEF_CACHE_HOME = tempDir("hef-ext-cache-");
  });

  test("the manifest contributes the command the bundle registers", () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), true);
    activate(fake);
    const manifest = JSON.parse(readFileSync("package.json", "utf8"));
    assert.deepEqual(manifest.contributes.commands.map((c: { command: string }) => c.command), [...fake.commands.keys()]);
    assert.equal(manifest.main, "./dist/extension.cjs");
  });

  test("rebuilds the cache of each workspace folder and says so", async () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), true);
    activate(fake);
    await fake.commands.get("hef.rebuildCache")!();
    assert.deepEqual(fake.messages, ["info: HEF: cache rebuilt for shop."]);
    assert.match(fake.logs.join("\n"), /shop: 10 files, \d+ chunks, \d+ nodes/);
  });

  test("does nothing in an untrusted workspace but say why", async () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), false);
    activate(fake);
    await fake.commands.get("hef.rebuildCache")!();
    assert.deepEqual(fake.messages, ["warning: HEF: this workspace is not trusted; HEF Code indexes trusted workspaces only."]);
    assert.deepEqual(fake.logs, []);
  });

  test("cancelling stops the sidecar and reports no success", async () => {
    const fake = fakeVscode(copyOfRepo("samples/shop"), true, 50);
    activate(fake);
    await fake.commands.get("hef.rebuildCache")!();
    assert.deepEqual(fake.messages, []);
    assert.match(fake.logs.join("\n"), /error: shop: cancelled/);
  });
});
