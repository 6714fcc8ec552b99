import * as vscode from "vscode";
import { NODES_VIEW } from "./panel/nodesView";
import type { ModelDownloads } from "./modelDownload";
import type { SidecarClient } from "./sidecarClient";
import { selectModels } from "./selectModels";
import { SECTION, type HefSettings } from "./settings";

export const COMMANDS = {
  rebuild: "hef.rebuildCache",
  toggle: "hef.toggleCompletions",
  selectModels: "hef.selectModels",
  showNodes: "hef.showNodes",
  showLog: "hef.showLog",
  restart: "hef.restartSidecar",
} as const;

export interface CommandContext {
  client: SidecarClient;
  settings: () => HefSettings;
  log: vscode.LogOutputChannel;
  downloads: ModelDownloads;
}

export function registerCommands({ client, settings, log, downloads }: CommandContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.rebuild, () => rebuild(client, log)),
    vscode.commands.registerCommand(COMMANDS.toggle, async () => {
      const enable = !settings().enable;
      await vscode.workspace.getConfiguration(SECTION).update("enable", enable, vscode.ConfigurationTarget.Global);
      void vscode.window.showInformationMessage(`HEF: inline completions ${enable ? "on" : "off"}.`);
    }),
    vscode.commands.registerCommand(COMMANDS.selectModels, () => selectModels(settings(), downloads, log)),
    vscode.commands.registerCommand(COMMANDS.showNodes, () => vscode.commands.executeCommand(`${NODES_VIEW}.focus`)),
    vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
    vscode.commands.registerCommand(COMMANDS.restart, () => restart(client, log)),
  ];
}

/** Resolves once the sidecar runs; false if it stopped instead or the token fired. */
function whenRunning(client: SidecarClient, token: vscode.CancellationToken): Promise<boolean> {
  if (client.state === "running") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (running: boolean) => {
      state.dispose();
      cancel.dispose();
      resolve(running);
    };
    const state = client.onDidChangeState((s) => s !== "starting" && done(s === "running"));
    const cancel = token.onCancellationRequested(() => done(false));
  });
}

async function rebuild(client: SidecarClient, log: vscode.LogOutputChannel): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(
      "HEF: this workspace is not trusted; HEF Code indexes trusted workspaces only.",
    );
    return;
  }
  if ((vscode.workspace.workspaceFolders ?? []).length === 0) {
    void vscode.window.showInformationMessage("HEF: open a folder first; the cache is built per workspace folder.");
    return;
  }
  if (client.state === "stopped") {
    void vscode.window.showErrorMessage(
      "HEF: the sidecar is not running (see the HEF log); it restarts by itself, try again then.",
    );
    return;
  }
  if (client.state === "starting")
    void vscode.window.showInformationMessage("HEF: the sidecar is starting; the rebuild will run when it is ready.");
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "HEF: Rebuilding HEF cache", cancellable: true },
    async (_progress, token) => {
      if (!(await whenRunning(client, token))) {
        if (!token.isCancellationRequested)
          void vscode.window.showErrorMessage(
            "HEF: the sidecar stopped before the rebuild could run (see the HEF log).",
          );
        return;
      }
      try {
        const result = await client.rebuild({ roots: [] }, token);
        // Each folder's outcome is already in the log, from the sidecar: only the notification is said here.
        const failed = result.folders.filter((folder) => folder.error);
        if (failed.length > 0)
          void vscode.window.showErrorMessage(
            `HEF: rebuilding ${failed.map((f) => `${f.root} failed: ${f.error}`).join("; ")}`,
          );
        else void vscode.window.showInformationMessage(`HEF: cache rebuilt for ${result.folders.length} folder(s).`);
      } catch (error) {
        if (token.isCancellationRequested) return log.info("rebuild cancelled");
        log.error(`rebuild failed: ${(error as Error).message}`);
        void vscode.window.showErrorMessage(`HEF: the rebuild failed: ${(error as Error).message}`);
      }
    },
  );
}

/** Starts the sidecar now: after crashes (instead of waiting out the backoff) or when it is stuck. */
async function restart(client: SidecarClient, log: vscode.LogOutputChannel): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage("HEF: this workspace is not trusted; the sidecar starts once it is.");
    return;
  }
  log.info("restarting the sidecar (HEF: Restart sidecar)");
  await client.restart();
}
