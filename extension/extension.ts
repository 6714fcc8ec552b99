import { spawn } from "node:child_process";
import * as vscode from "vscode";

/**
 * The editor side. For now it offers one command, "HEF: Rebuild HEF cache", which runs the
 * sidecar's `hef index --rebuild` for every workspace folder in a child process; the supervised
 * language-server sidecar, watcher, completions and panel replace this transport later.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("HEF Code", { log: true });
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand("hef.rebuildCache", () => rebuildCache(context.asAbsolutePath("dist/hef.mjs"), log)),
  );
}

export function deactivate(): void {}

interface IndexReport {
  files: number;
  chunks: number;
  nodes: number;
  embedded: number;
  ms: number;
}

async function rebuildCache(cli: string, log: vscode.LogOutputChannel): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showInformationMessage("HEF: open a folder first; the cache is built per workspace folder.");
    return;
  }
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage("HEF: this workspace is not trusted; HEF Code indexes trusted workspaces only.");
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "HEF: Rebuilding HEF cache", cancellable: true },
    async (progress, token) => {
      for (const folder of folders) {
        if (token.isCancellationRequested) return;
        progress.report({ message: folder.name });
        try {
          const report = await runIndex(cli, folder.uri.fsPath, token, log);
          log.info(`${folder.name}: ${report.files} files, ${report.chunks} chunks, ${report.nodes} nodes, ${report.embedded} embedded, ${report.ms} ms`);
        } catch (error) {
          const message = (error as Error).message;
          log.error(`${folder.name}: ${message}`);
          if (!token.isCancellationRequested) void vscode.window.showErrorMessage(`HEF: rebuilding ${folder.name} failed: ${message}`);
          return;
        }
      }
      void vscode.window.showInformationMessage(`HEF: cache rebuilt for ${folders.map((f) => f.name).join(", ")}.`);
    },
  );
}

function runIndex(cli: string, root: string, token: vscode.CancellationToken, log: vscode.LogOutputChannel): Promise<IndexReport> {
  return new Promise((resolve, reject) => {
    // The extension host may be Electron: run its binary as plain Node.
    const child = spawn(process.execPath, [cli, "index", root, "--rebuild", "--json"], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
      for (const line of data.toString().split("\n")) if (line.trim()) log.info(line.trim());
    });
    const cancel = token.onCancellationRequested(() => child.kill());
    child.on("error", reject);
    child.on("close", (code) => {
      cancel.dispose();
      if (token.isCancellationRequested) reject(new Error("cancelled"));
      else if (code === 0) resolve(JSON.parse(stdout) as IndexReport);
      else reject(new Error(stderr.trim().split("\n").at(-1) || `hef exited with code ${code}`));
    });
  });
}
