// Tells the sidecar which files the user looks at, so that the index of a big workspace reads
// them and their neighbours first and completes there within seconds, not after the whole tree.
import * as vscode from "vscode";
import type { FocusParams } from "../common/protocol";
import type { SidecarClient } from "./sidecarClient";

/** The files in view per workspace folder (pure, for tests): the active file first, one entry per folder. */
export function focusByFolder(
  active: string | undefined,
  visible: readonly string[],
  folders: readonly string[],
  folderOf: (path: string) => string | undefined,
): FocusParams[] {
  const ordered = [...new Set([...(active ? [active] : []), ...visible])];
  // Every folder gets an entry, also an empty one: a folder whose files were all closed drops its old focus.
  return folders.map((root) => ({ root, paths: ordered.filter((path) => folderOf(path) === root) }));
}

export function registerFocus(client: SidecarClient): vscode.Disposable[] {
  const send = () => {
    if (client.state !== "running") return;
    const files = (editor: vscode.TextEditor | undefined) =>
      editor?.document.uri.scheme === "file" ? editor.document.uri.fsPath : undefined;
    const folders = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
    const visible = vscode.window.visibleTextEditors.map(files).filter((path) => path !== undefined);
    const folderOf = (path: string) => vscode.workspace.getWorkspaceFolder(vscode.Uri.file(path))?.uri.fsPath;
    for (const params of focusByFolder(files(vscode.window.activeTextEditor), visible, folders, folderOf))
      client.focus(params);
  };
  return [
    vscode.window.onDidChangeVisibleTextEditors(send),
    vscode.window.onDidChangeActiveTextEditor(send),
    // A new sidecar knows nothing of what is open.
    client.onDidChangeState((state) => state === "running" && send()),
  ];
}
