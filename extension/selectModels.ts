import { mkdirSync } from "node:fs";
import * as vscode from "vscode";
import { downloadModel } from "./modelDownload";
import { SECTION, type HefSettings } from "./settings";

type Role = keyof HefSettings["models"];
const ROLES: readonly Role[] = ["embedder", "generator", "adapter"];

/**
 * "HEF: Select models": for one of the three models, a local .gguf file, a model URI downloaded
 * into `modelsDir`, or the embedded default. Writing the setting restarts the sidecar.
 */
export async function selectModels(settings: HefSettings, modelsDir: string, log: vscode.LogOutputChannel): Promise<void> {
  const role = await vscode.window.showQuickPick(
    ROLES.map((r) => ({ label: r, description: settings.models[r] ?? "embedded default", role: r })),
    { title: "HEF: which model?" },
  );
  if (!role) return;
  const source = await vscode.window.showQuickPick(
    [
      { label: "Local .gguf file…", source: "file" as const },
      { label: "Download from a model URI…", detail: "hf:owner/repo/file.gguf or an https URL", source: "uri" as const },
      { label: "Embedded default", source: "default" as const },
    ],
    { title: `HEF: the ${role.role} model` },
  );
  if (!source) return;
  let path: string | undefined;
  if (source.source === "file") {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { "GGUF models": ["gguf"] }, title: `HEF: ${role.role} model` });
    path = picked?.[0]?.fsPath;
    if (!path) return;
  } else if (source.source === "uri") {
    const uri = await vscode.window.showInputBox({ title: `HEF: ${role.role} model URI`, placeHolder: "hf:owner/repo/file.gguf" });
    if (!uri?.trim()) return;
    path = await download(uri.trim(), modelsDir, log);
    if (!path) return;
  }
  await vscode.workspace.getConfiguration(SECTION).update(`models.${role.role}`, path ?? "", vscode.ConfigurationTarget.Global);
  log.info(`${role.role} model set to ${path ?? "the embedded default"}`);
}

async function download(uri: string, modelsDir: string, log: vscode.LogOutputChannel): Promise<string | undefined> {
  mkdirSync(modelsDir, { recursive: true });
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `HEF: downloading ${uri}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      try {
        return await downloadModel(uri, {
          directory: modelsDir,
          signal: controller.signal,
          onProgress: (done, total) => {
            const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
            progress.report({ message: `${(done / 2 ** 20).toFixed(0)} MiB`, increment: percent - reported });
            reported = percent;
          },
        });
      } catch (error) {
        const message = (error as Error).message;
        log.error(message);
        void vscode.window.showErrorMessage(`HEF: ${message}`);
        return undefined;
      } finally {
        cancel.dispose();
      }
    },
  );
}
