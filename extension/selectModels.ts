import * as vscode from "vscode";
import { downloadModel, type ModelDownloads } from "./modelDownload";
import { modelFileProblem } from "./modelFileCheck";
import { SECTION, type HefSettings } from "./settings";

type Role = keyof HefSettings["models"];
const ROLES: readonly Role[] = ["embedder", "generator", "adapter"];

/**
 * "HEF: Select models": for one of the three models, a local .gguf file, a model URI downloaded
 * by `hef download`, or the embedded default. A setting whose effective value changes restarts the sidecar.
 */
export async function selectModels(
  settings: HefSettings,
  downloads: ModelDownloads,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const role = await vscode.window.showQuickPick(
    ROLES.map((r) => ({ label: r, description: settings.models[r] ?? "embedded default", role: r })),
    { title: "HEF: which model?" },
  );
  if (!role) return;
  const source = await vscode.window.showQuickPick(
    [
      { label: "Local .gguf file…", source: "file" as const },
      {
        label: "Download from a model URI…",
        detail: "hf:owner/repo/file.gguf or an https URL",
        source: "uri" as const,
      },
      { label: "Embedded default", source: "default" as const },
    ],
    { title: `HEF: the ${role.role} model` },
  );
  if (!source) return;
  let path: string | undefined;
  if (source.source === "file") {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { "GGUF models": ["gguf"] },
      title: `HEF: ${role.role} model`,
    });
    path = picked?.[0]?.fsPath;
    if (!path) return;
  } else if (source.source === "uri") {
    const uri = await vscode.window.showInputBox({
      title: `HEF: ${role.role} model URI`,
      placeHolder: "hf:owner/repo/file.gguf",
    });
    if (!uri?.trim()) return;
    path = await download(uri.trim(), downloads, log);
    if (!path) return;
  }
  const problem = path === undefined ? undefined : await modelFileProblem(path);
  if (problem) {
    // Saving it would restart the sidecar into a state that completes nothing.
    log.error(`${role.role} model not changed: ${problem}`);
    void vscode.window.showErrorMessage(`HEF: ${problem} The ${role.role} model was not changed.`);
    return;
  }
  // The default is no value at all: a blank one would stay in the user's settings file for nothing.
  await vscode.workspace
    .getConfiguration(SECTION)
    .update(`models.${role.role}`, path, vscode.ConfigurationTarget.Global);
  log.info(`${role.role} model set to ${path ?? "the embedded default"}`);
}

export const USE_DEFAULTS = "Use the default models";

/**
 * Says, once per failure, that the models did not load, with a way back: the reason used to sit
 * in the status bar's tooltip while every completion silently did nothing. `failure`: the
 * sidecar's status, either nothing loaded (error) or the embedded defaults serve instead (fallback).
 */
export async function reportModelFailure(
  failure: { error?: string; fallback?: string },
  settings: HefSettings,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const chosen = ROLES.filter((role) => settings.models[role] !== undefined);
  const actions = chosen.length > 0 ? [USE_DEFAULTS, "Show log"] : ["Show log"];
  const message = failure.error
    ? `HEF: ${failure.error}. HEF completes nothing until the models load.`
    : `HEF: ${failure.fallback}.`;
  const answer = await (failure.error ? vscode.window.showErrorMessage : vscode.window.showWarningMessage)(
    message,
    ...actions,
  );
  if (answer === "Show log") log.show();
  if (answer !== USE_DEFAULTS) return;
  const config = vscode.workspace.getConfiguration(SECTION);
  const targets = [
    vscode.ConfigurationTarget.Global,
    ...(vscode.workspace.workspaceFolders ? [vscode.ConfigurationTarget.Workspace] : []),
  ];
  for (const role of chosen) for (const target of targets) await config.update(`models.${role}`, undefined, target);
  log.info(
    `models set back to the embedded defaults (were: ${chosen.map((role) => `${role} ${settings.models[role]}`).join(", ")})`,
  );
}

async function download(
  uri: string,
  downloads: ModelDownloads,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `HEF: downloading ${uri}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      try {
        return await downloadModel(uri, {
          ...downloads,
          signal: controller.signal,
          onProgress: (done, total) => {
            const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
            const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
            progress.report({ message: `${mib(done)} of ${mib(total)} MiB`, increment: percent - reported });
            reported = percent;
          },
        });
      } catch (error) {
        if (controller.signal.aborted) {
          log.info(`downloading ${uri} cancelled`);
          return undefined;
        }
        const message = `${(error as Error).message}; pick a local .gguf file instead`;
        log.error(message);
        void vscode.window.showErrorMessage(`HEF: ${message}`);
        return undefined;
      } finally {
        cancel.dispose();
      }
    },
  );
}
