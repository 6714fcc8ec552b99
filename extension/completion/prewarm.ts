// Pre-warm: when the cursor comes to rest somewhere new (a file gains focus, the cursor is moved
// there), the sidecar is asked to prepare a completion at that place in the background (embed the
// query, retrieve, project, prefill), so that the first request there starts warm. Typing cancels
// it: the completion provider asks itself then, and any request stops a pre-warm in the sidecar.
import * as vscode from "vscode";
import type { CompleteParams } from "../../common/protocol";
import type { HefServices } from "../services";
import { completesLanguage } from "../settings";
import { awaitingFirstIndex, completeParams } from "./request";

/** The cursor must rest this long; moving on or typing starts the wait again. */
export const REST_MS = 1000;

/**
 * A file that gains focus waits only this long: it is about to be read or typed in, and on the
 * paper's model shapes its cold work (query window 2.2 s, prefill 1.9 s on this project's 2-core
 * CPU) is longer than the pause a user gives it. Tabs cycled through faster send nothing.
 */
export const FOCUS_REST_MS = 250;

/** One pending pre-warm at a time, sent once the cursor has rested (timers only, for tests). */
export class PrewarmTimer implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (params: CompleteParams) => void,
    private readonly restMs = REST_MS,
  ) {}

  /** The cursor moved: `at` says, when the wait is over, what a completion there would ask (undefined: nothing to warm). */
  moved(at: () => CompleteParams | undefined, restMs = this.restMs): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const params = at();
      if (params) this.send(params);
    }, restMs);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.cancel();
  }
}

/** What a completion at the active editor's cursor would ask, when one could run there. */
function paramsAtCursor(services: HefServices): CompleteParams | undefined {
  const editor = vscode.window.activeTextEditor;
  const settings = services.settings();
  if (!editor || editor.document.uri.scheme !== "file" || !settings.enable || !vscode.workspace.isTrusted)
    return undefined;
  if (!completesLanguage(settings, editor.document.languageId) || services.client.state !== "running") return undefined;
  const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
  if (!folder || awaitingFirstIndex(services.client.status, folder.uri.fsPath)) return undefined;
  const { document, selection } = editor;
  const at = {
    uri: document.uri.toString(),
    version: document.version,
    line: selection.active.line,
    character: selection.active.character,
  };
  return completeParams(settings, folder.uri.fsPath, at, false);
}

export function registerPrewarm(services: HefServices): vscode.Disposable[] {
  const timer = new PrewarmTimer((params) => services.client.prewarm(params));
  const moved = () => timer.moved(() => paramsAtCursor(services));
  return [
    timer,
    vscode.window.onDidChangeActiveTextEditor(() => timer.moved(() => paramsAtCursor(services), FOCUS_REST_MS)),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      // Selections that typing makes are the provider's to serve.
      if (
        event.kind === vscode.TextEditorSelectionChangeKind.Keyboard ||
        event.kind === vscode.TextEditorSelectionChangeKind.Mouse
      )
        moved();
    }),
    vscode.workspace.onDidChangeTextDocument((event) => event.contentChanges.length > 0 && timer.cancel()),
  ];
}
