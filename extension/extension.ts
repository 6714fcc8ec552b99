// Activation wiring only: each idea lives in its own module (sidecarClient, watcher, settings,
// commands, statusBar; completion/ and panel/ build on the HefServices seam).
import * as vscode from "vscode";
import { COMMANDS, registerCommands } from "./commands";
import { registerInlineCompletions } from "./completion/provider";
import { registerFocus } from "./focus";
import { registerNodesView } from "./panel/nodesView";
import type { CompletionEvent, HefServices } from "./services";
import { needsRestart, readSettings, SECTION, sidecarOptions, type HefSettings } from "./settings";
import { reportModelFailure } from "./selectModels";
import { SidecarClient } from "./sidecarClient";
import { StatusBar } from "./statusBar";
import { FolderWatchers } from "./watcher";

let running: SidecarClient | undefined;

export function activate(context: vscode.ExtensionContext): HefServices {
  const log = vscode.window.createOutputChannel("HEF", { log: true });
  const settings = (): HefSettings => readSettings(vscode.workspace.getConfiguration(SECTION));
  /** The settings as of the last change event: a restart is due only when those the sidecar loads at start differ. */
  let applied = settings();
  const client = new SidecarClient(context.asAbsolutePath("dist/sidecar.mjs"), () => sidecarOptions(settings()), log);
  running = client;
  const status = new StatusBar(
    () => ({ state: client.state, status: client.status, enabled: settings().enable, nextRestart: client.nextRestart }),
    { showLog: COMMANDS.showLog, restart: COMMANDS.restart },
  );
  /** The model failure last reported: each sidecar start pushes it again, the user hears it once. */
  let reportedFailure: string | undefined;
  const completions = new vscode.EventEmitter<CompletionEvent>();
  const settingsChanged = new vscode.EventEmitter<HefSettings>();
  const watchers = new FolderWatchers((params) => client.filesChanged(params), log);

  const services: HefServices = {
    client,
    settings,
    onDidChangeSettings: settingsChanged.event,
    setLastLatency: (ms) => status.setLastLatency(ms),
    reportCompletion: (event) => completions.fire(event),
    onCompletion: completions.event,
    log,
  };

  // Untrusted workspaces get commands and views but no sidecar: nothing is read, indexed or completed.
  const start = () => {
    void client.start();
    void watchers.watch(settings().exclude);
  };
  if (vscode.workspace.isTrusted) start();
  else log.info("workspace not trusted: the sidecar starts once it is");

  context.subscriptions.push(
    log,
    client,
    status,
    completions,
    settingsChanged,
    watchers,
    ...registerCommands({
      client,
      settings,
      log,
      downloads: {
        cli: context.asAbsolutePath("dist/hef.mjs"),
        directory: vscode.Uri.joinPath(context.globalStorageUri, "models").fsPath,
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(start),
    ...registerFocus(client),
    client.onDidChangeState(() => status.update()),
    client.onDidChangeStatus((current) => {
      status.update();
      const failure = current.error ?? current.fallback;
      if (current.backend === "loading" || failure === reportedFailure) return;
      reportedFailure = failure;
      if (failure) void reportModelFailure(current, settings(), log);
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(
      () => vscode.workspace.isTrusted && void watchers.watch(settings().exclude),
    ),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(SECTION)) return;
      const previous = applied;
      const current = (applied = settings());
      if (needsRestart(previous, current) && vscode.workspace.isTrusted) {
        log.info("settings changed: restarting the sidecar");
        void client.restart();
        void watchers.watch(current.exclude, true);
      }
      status.update();
      settingsChanged.fire(current);
    }),
  );
  registerInlineCompletions(context, services);
  registerNodesView(context, services);
  return services;
}

/** Waits for the sidecar to save its caches and exit. */
export function deactivate(): Promise<void> | undefined {
  return running?.stop();
}
