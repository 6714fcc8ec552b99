// Inline completions from the sidecar: debounced to the user's rhythm, served from memory while
// the user types what is suggested and once they accept it (the next one is speculated in the
// background), and cancelled in the sidecar when VS Code drops the request. However a suggestion is
// served, the panel shows the answer that made it.
import * as vscode from "vscode";
import type { CompletionEvent, HefServices } from "../services";
import { completesLanguage } from "../settings";
import { completed, debounceDelay, initialDebounce, keystroke } from "./debounce";
import { registerPrewarm } from "./prewarm";
import { awaitingFirstIndex, completeParams, whyNoCompletion, type DocumentPosition } from "./request";
import { Speculation } from "./speculation";
import { CompletionMemory, type Cursor } from "./typeThrough";

export const COMPLETE_NOW = "hef.completeNow";

/** A completion to show, with the sidecar's answer that made it (what the panel shows while it is on screen). */
interface Served {
  text: string;
  event: CompletionEvent;
}

export class HefInlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  private debounce = initialDebounce();
  private readonly memory = new CompletionMemory<CompletionEvent>();
  private readonly speculation = new Speculation<Served>();
  /** The answer the panel shows now. */
  private reported: CompletionEvent | undefined;

  constructor(private readonly services: HefServices) {}

  keystroke(now: number): void {
    this.debounce = keystroke(this.debounce, now);
  }

  forget(): void {
    this.memory.clear();
    this.speculation.clear();
  }

  /** A speculation on its way would never answer: accepting must not wait for it, but ask the sidecar once it runs again. */
  sidecarStopped(): void {
    this.speculation.clear();
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[]> {
    const settings = this.services.settings();
    if (!settings.enable || !vscode.workspace.isTrusted || !completesLanguage(settings, document.languageId)) return [];
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    if (!folder) return [];
    const text = document.getText();
    const offset = document.offsetAt(position);
    const at: Cursor = { uri: document.uri.toString(), prefix: text.slice(0, offset), suffix: text.slice(offset) };
    // The sidecar holds the document: the request names this version and the cursor.
    const place: DocumentPosition = {
      uri: at.uri,
      version: document.version,
      line: position.line,
      character: position.character,
    };
    const root = folder.uri.fsPath;
    const speculation = this.speculation.recall(at);
    const speculated = speculation && (await speculation);
    if (token.isCancellationRequested) return [];
    if (speculated !== undefined) {
      this.memory.remember(at, speculated.text, speculated.event);
      return this.shown(root, place, at, position, speculated);
    }
    const remembered = this.recall(at);
    if (remembered !== undefined) return this.shown(root, place, at, position, remembered);

    // An explicit trigger (hef.completeNow, or VS Code's own) is the user forcing a completion.
    const forced = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const { client } = this.services;
    if (!forced) {
      if (awaitingFirstIndex(client.status, folder.uri.fsPath)) return [];
      if (!(await quiet(debounceDelay(this.debounce, settings.debounceMs), token))) return [];
      // A request still in flight when this one began may have answered during the wait.
      const arrived = this.recall(at);
      if (arrived !== undefined) return this.shown(root, place, at, position, arrived);
      // Typed on during the wait: VS Code asks again for the new version.
      if (document.version !== place.version) return [];
    }
    if (client.state !== "running") return [];

    const params = completeParams(settings, root, place, forced);
    const started = Date.now();
    let result;
    try {
      result = await client.complete(params, token);
    } catch (error) {
      if (!token.isCancellationRequested) this.services.log.warn(`completion failed: ${(error as Error).message}`);
      return [];
    }
    const latencyMs = Date.now() - started;
    const event = { params, result, latencyMs };
    this.report(event);
    if (result.kind !== "completion") {
      // Asked for explicitly, an answer of nothing must say why; while typing it would be noise.
      if (forced) void vscode.window.showInformationMessage(`HEF: no completion: ${result.reason}`);
      return [];
    }
    this.debounce = completed(this.debounce, latencyMs);
    this.services.setLastLatency(latencyMs);
    if (result.stopReason === "cancelled") return [];
    if (result.text.trim() === "") {
      if (forced) vscode.window.setStatusBarMessage("HEF: the model suggests nothing here", 4000);
      return [];
    }
    this.memory.remember(at, result.text, event);
    return token.isCancellationRequested ? [] : this.shown(root, place, at, position, { text: result.text, event });
  }

  /** The rest of a suggestion being typed through, or a recent completion at this very place. */
  private recall(at: Cursor): Served | undefined {
    const text = this.memory.recall(at);
    const event = this.memory.source;
    return text === undefined || event === undefined ? undefined : { text, event };
  }

  /** Shows `event` in the panel; once, however many keystrokes serve its suggestion (each would re-render it). */
  private report(event: CompletionEvent): void {
    if (event === this.reported) return;
    this.reported = event;
    this.services.reportCompletion(event);
  }

  /** The items showing `served` (and the panel its answer), and the speculation of what follows accepting it. */
  private shown(
    root: string,
    place: DocumentPosition,
    at: Cursor,
    position: vscode.Position,
    served: Served,
  ): vscode.InlineCompletionItem[] {
    this.report(served.event);
    // What the user typed of a suggestion since it was shown leaves the document accepting makes the same.
    const suggestion = { ...at, text: served.text };
    if (!this.speculation.covers(suggestion) && this.services.client.state === "running") {
      const cancel = new vscode.CancellationTokenSource();
      const params = { ...completeParams(this.services.settings(), root, place, false), insert: served.text };
      const started = Date.now();
      const next = this.services.client.speculate(params, cancel.token).then(
        (result): Served | undefined =>
          result.kind === "completion" && result.stopReason !== "cancelled" && result.text.trim() !== ""
            ? { text: result.text, event: { params, result, latencyMs: Date.now() - started } }
            : undefined,
        (error: Error) => {
          // Cancelled by the user's next move or by a real request in the sidecar: nothing to say.
          if (!(error instanceof vscode.CancellationError))
            this.services.log.warn(`speculation failed: ${error.message}`);
          return undefined;
        },
      );
      this.speculation.begin(suggestion, next, () => cancel.cancel());
    }
    return items(at, position, served.text);
  }
}

/**
 * One item replacing the line up to the cursor with that text plus the completion: VS Code keeps
 * showing it while the user deletes or retypes that text, and its accept-next-word/line commands
 * split insertText within this one-line range.
 */
function items(at: Cursor, position: vscode.Position, completion: string): vscode.InlineCompletionItem[] {
  const lineBefore = at.prefix.slice(at.prefix.lastIndexOf("\n") + 1);
  const range = new vscode.Range(position.line, 0, position.line, position.character);
  return [new vscode.InlineCompletionItem(lineBefore + completion, range)];
}

/** Resolves true after ms, or false as soon as the token is cancelled. */
function quiet(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (elapsed: boolean) => {
      clearTimeout(timer);
      cancelled.dispose();
      resolve(elapsed);
    };
    const timer = setTimeout(() => settle(true), ms);
    const cancelled = token.onCancellationRequested(() => settle(false));
  });
}

/** Registers the provider for files in every language; hef.enabledLanguages is read live on each request. */
export function registerInlineCompletions(context: vscode.ExtensionContext, services: HefServices): void {
  const provider = new HefInlineCompletionProvider(services);
  context.subscriptions.push(
    vscode.languages.registerInlineCompletionItemProvider({ scheme: "file" }, provider),
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.contentChanges.length > 0 && event.document === vscode.window.activeTextEditor?.document)
        provider.keystroke(Date.now());
    }),
    // Remembered completions answered another mode, model or length limit.
    services.onDidChangeSettings(() => provider.forget()),
    services.client.onDidChangeState((state) => {
      if (state !== "running") provider.sidecarStopped();
    }),
    vscode.commands.registerCommand(COMPLETE_NOW, () => completeNow(services)),
    ...registerPrewarm(services),
  );
}

/** Triggers a completion where it can run, and otherwise says why not instead of doing nothing. */
function completeNow(services: HefServices): Thenable<unknown> | undefined {
  const settings = services.settings();
  const document = vscode.window.activeTextEditor?.document;
  const reason = whyNoCompletion({
    trusted: vscode.workspace.isTrusted,
    enabled: settings.enable,
    document: document && {
      scheme: document.uri.scheme,
      languageId: document.languageId,
      inFolder: vscode.workspace.getWorkspaceFolder(document.uri) !== undefined,
    },
    languageEnabled: document === undefined || completesLanguage(settings, document.languageId),
    sidecar: services.client.state,
    status: services.client.status,
  });
  if (reason) return vscode.window.showInformationMessage(`HEF: ${reason}`);
  return vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
}
