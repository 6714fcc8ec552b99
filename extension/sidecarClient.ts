import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LSPErrorCodes,
  ResponseError,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import type { NotificationType } from "vscode-languageclient/node";
import {
  HefNotifications,
  HefRequests,
  type CompleteParams,
  type CompleteResult,
  type FilesChangedParams,
  type FocusParams,
  type RebuildParams,
  type RebuildResult,
  type SidecarOptions,
  type SidecarStatus,
} from "../common/protocol";
import type { SidecarClientApi, SidecarState } from "./services";

/** Restart delays after crashes: 1 s, 2 s, 4 s... at most this; reset once the sidecar stayed up STABLE_MS. */
const MAX_BACKOFF_MS = 30_000;
const STABLE_MS = 60_000;

export function backoffMs(crashes: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, crashes - 1));
}

/** Resolves with the promise, or rejects with a CancellationError as soon as the token fires: no caller waits on a busy sidecar. */
function raceToken<T>(promise: Promise<T>, token: vscode.CancellationToken | undefined): Promise<T> {
  if (!token) return promise;
  if (token.isCancellationRequested) return Promise.reject(new vscode.CancellationError());
  return new Promise<T>((resolve, reject) => {
    const listener = token.onCancellationRequested(() => reject(new vscode.CancellationError()));
    promise.then(resolve, reject).finally(() => listener.dispose());
  });
}

/**
 * The language client, but a sidecar that exits with code 0 was stopped on purpose (a settings
 * change, Restart): the library logged every such exit as an error.
 */
class HefLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, showNotification?: boolean | "force"): void {
    if (/^Server process exited with code 0\.?$/.test(message)) this.info("the sidecar exited", data, false);
    else super.error(message, data, showNotification);
  }
}

/**
 * The supervised sidecar: one language client over the bundled sidecar, run by the editor's own
 * Node (ELECTRON_RUN_AS_NODE). A crash restarts it after a growing delay; the new process reloads
 * the persisted caches, so a restart costs the model load, not an index.
 */
export class SidecarClient implements SidecarClientApi, vscode.Disposable {
  private client: LanguageClient | undefined;
  private currentState: SidecarState = "stopped";
  private lastStatus: SidecarStatus | undefined;
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartAt: number | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<SidecarState>();
  private readonly statusEmitter = new vscode.EventEmitter<SidecarStatus>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidChangeStatus = this.statusEmitter.event;

  constructor(
    private readonly serverModule: string,
    private readonly options: () => SidecarOptions,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get state(): SidecarState {
    return this.currentState;
  }

  get status(): SidecarStatus | undefined {
    return this.lastStatus;
  }

  /** While stopped after a crash: when (Date.now() ms) it starts again by itself. */
  get nextRestart(): number | undefined {
    return this.restartAt;
  }

  async start(): Promise<void> {
    if (this.client) return;
    clearTimeout(this.restartTimer);
    this.restartAt = undefined;
    const server: ServerOptions = {
      command: process.execPath,
      args: [this.serverModule],
      transport: TransportKind.stdio,
      options: { env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" } },
    };
    const clientOptions: LanguageClientOptions = {
      // Every open file is synced (incrementally): completions name the document and the cursor, and
      // the sidecar cuts the text from its copy. All languages, since hef.enabledLanguages applies live.
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.log,
      initializationOptions: this.options(),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          // A client being stopped on purpose is no longer current: only the current one crashes.
          // The message replaces the library's "Server will not be restarted": this class restarts it.
          const message = this.client === client ? this.crashed() : "the sidecar stopped";
          return { action: CloseAction.DoNotRestart, handled: true, message };
        },
      },
    };
    this.setState("starting");
    let client: LanguageClient | undefined;
    try {
      client = new HefLanguageClient("hef", "HEF sidecar", server, clientOptions);
      this.client = client;
      client.onNotification(HefNotifications.status, (status) => {
        this.lastStatus = status;
        this.statusEmitter.fire(status);
      });
      await client.start();
    } catch (error) {
      const restart = this.client === client ? `; ${this.crashed()}` : "";
      this.log.error(`the sidecar did not start: ${(error as Error).message}${restart}`);
      return;
    }
    if (this.client !== client) {
      // Stopped or restarted while it was starting: this process belongs to nobody now.
      await client
        .stop()
        .catch((error: Error) => this.log.warn(`stopping a sidecar nobody uses any more: ${error.message}`));
      return;
    }
    this.setState("running");
    this.log.info("sidecar started");
    this.stableTimer = setTimeout(() => (this.crashes = 0), STABLE_MS);
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartAt = undefined;
    clearTimeout(this.stableTimer);
    const client = this.client;
    this.client = undefined;
    this.lastStatus = undefined;
    this.setState("stopped");
    // Also a client that is still starting: left alone it would index the same caches as its successor.
    if (client) await client.stop().catch((error: Error) => this.log.warn(`stopping the sidecar: ${error.message}`));
  }

  /** Applies settings that are fixed at start (models, backend, excludes); also "HEF: Restart sidecar" after crashes. */
  async restart(): Promise<void> {
    this.crashes = 0;
    await this.stop();
    await this.start();
  }

  complete(params: CompleteParams, token?: vscode.CancellationToken): Promise<CompleteResult> {
    if (!this.client || this.currentState !== "running") {
      return Promise.resolve({ kind: "notReady", reason: `the sidecar is ${this.currentState}` });
    }
    return raceToken(this.client.sendRequest(HefRequests.complete, params, token), token);
  }

  speculate(params: CompleteParams, token: vscode.CancellationToken): Promise<CompleteResult> {
    if (!this.client || this.currentState !== "running") {
      return Promise.resolve({ kind: "notReady", reason: `the sidecar is ${this.currentState}` });
    }
    const answer = this.client.sendRequest(HefRequests.speculate, params, token).catch((error: unknown) => {
      // The sidecar cancels a speculation for any real request: as if the token had fired.
      throw error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled
        ? new vscode.CancellationError()
        : error;
    });
    return raceToken(answer, token);
  }

  /** Rejects with a one-line Error when the sidecar is not running (callers wait on onDidChangeState first). */
  rebuild(params: RebuildParams, token?: vscode.CancellationToken): Promise<RebuildResult> {
    if (!this.client || this.currentState !== "running")
      return Promise.reject(new Error(`the sidecar is ${this.currentState}`));
    return raceToken(this.client.sendRequest(HefRequests.rebuild, params, token), token);
  }

  filesChanged(params: FilesChangedParams): void {
    this.notify(HefNotifications.filesChanged, params);
  }

  focus(params: FocusParams): void {
    this.notify(HefNotifications.focus, params);
  }

  prewarm(params: CompleteParams): void {
    this.notify(HefNotifications.prewarm, params);
  }

  /** Notifications have no answer: a transport failure is logged here or nowhere. */
  private notify<P>(type: NotificationType<P>, params: P): void {
    if (!this.client || this.currentState !== "running") return;
    this.client
      .sendNotification(type, params)
      .catch((error: Error) => this.log.warn(`${type.method} not sent: ${error.message}`));
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
    this.statusEmitter.dispose();
  }

  /** Schedules the restart and says when, in the one line the log gets about it. */
  private crashed(): string {
    clearTimeout(this.stableTimer);
    this.client = undefined;
    this.lastStatus = undefined;
    this.crashes++;
    const delay = backoffMs(this.crashes);
    this.restartAt = Date.now() + delay;
    this.restartTimer = setTimeout(() => void this.start(), delay);
    // Last: what listens to the state reads restartAt.
    this.setState("stopped");
    const times = this.crashes > 1 ? ` (${this.crashes} times in a row)` : "";
    return `the sidecar stopped${times}; restarting in ${delay / 1000} s (HEF: Restart sidecar restarts it now)`;
  }

  private setState(state: SidecarState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }
}
