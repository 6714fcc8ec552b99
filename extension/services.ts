// The seam between the backbone (sidecar client, settings, status bar, log) and the features
// built on it (inline completion provider in extension/completion/, panel in extension/panel/).
// Both sides import only this file, so either can change its internals without the other.
import type * as vscode from "vscode";
import type { CompleteParams, CompleteResult, SidecarStatus } from "../common/protocol";
import type { HefSettings } from "./settings";

export type SidecarState = "starting" | "running" | "stopped";

/** The sidecar as the features see it: typed requests that never hang when it is down. */
export interface SidecarClientApi {
  readonly state: SidecarState;
  readonly onDidChangeState: vscode.Event<SidecarState>;
  /** The last status the sidecar pushed (undefined before the first). */
  readonly status: SidecarStatus | undefined;
  readonly onDidChangeStatus: vscode.Event<SidecarStatus>;
  /**
   * Answers {kind: "notReady"} at once when the sidecar is not running. Cancelling the token
   * rejects at once with a vscode.CancellationError and cancels decoding in the sidecar.
   */
  complete(params: CompleteParams, token?: vscode.CancellationToken): Promise<CompleteResult>;
  /** Asks the sidecar to prepare a completion with these parameters in the background (nothing when it is not running). */
  prewarm(params: CompleteParams): void;
  /**
   * The completion that would follow accepting a suggestion (params.insert), computed in the
   * background (hef/speculate). Answers like complete; rejects with a vscode.CancellationError when
   * the token fires or the sidecar cancelled it for a real request.
   */
  speculate(params: CompleteParams, token: vscode.CancellationToken): Promise<CompleteResult>;
}

/** One completion as the panel shows it: what was asked, what came back, and how long it took. */
export interface CompletionEvent {
  params: CompleteParams;
  result: CompleteResult;
  /** Wall-clock milliseconds, request to response, as the editor saw them. */
  latencyMs: number;
}

export interface HefServices {
  client: SidecarClientApi;
  /** The current settings (read anew on each call; settings that need no restart apply live). */
  settings(): HefSettings;
  readonly onDidChangeSettings: vscode.Event<HefSettings>;
  /** The status bar's last-completion latency. */
  setLastLatency(ms: number): void;
  /** The provider reports every completion result here; the panel listens on onCompletion. */
  reportCompletion(event: CompletionEvent): void;
  readonly onCompletion: vscode.Event<CompletionEvent>;
  /** The "HEF" output channel. */
  log: vscode.LogOutputChannel;
}
