import * as vscode from "vscode";
import type { SidecarStatus } from "../common/protocol";
import type { SidecarState } from "./services";

export interface StatusView {
  text: string;
  tooltip: string;
  /** What a click does: restart a stopped sidecar, else show the log. */
  click: "restart" | "log";
}

/**
 * What the status bar says, from the sidecar's state and last status (pure, for tests).
 * `restartInMs`: while stopped after a crash, how long until it restarts by itself.
 */
export function describeStatus(
  state: SidecarState,
  status: SidecarStatus | undefined,
  enabled: boolean,
  latencyMs: number | undefined,
  restartInMs?: number,
): StatusView {
  const off = enabled ? "" : " (completions off)";
  if (state === "stopped") {
    if (restartInMs === undefined)
      return {
        text: "$(circle-slash) HEF",
        tooltip: `HEF: the sidecar is not running${off}. Click to start it.`,
        click: "restart",
      };
    const seconds = Math.max(1, Math.ceil(restartInMs / 1000));
    return {
      text: `$(debug-restart) HEF restarting in ${seconds} s`,
      tooltip: `HEF: the sidecar stopped; it restarts by itself in ${seconds} s${off}. Click to restart it now (the log says why it stopped).`,
      click: "restart",
    };
  }
  if (state !== "running" || !status)
    return { text: "$(sync~spin) HEF", tooltip: `HEF: the sidecar is starting${off}`, click: "log" };
  if (status.error)
    return {
      text: "$(error) HEF: models failed to load",
      tooltip: `HEF: ${status.error}${off}\nClick for the log.`,
      click: "log",
    };
  const indexing = status.folders.filter((folder) => folder.state === "indexing" || folder.state === "waiting");
  const failed = status.folders.filter((folder) => folder.state === "failed");
  const nodes = status.folders.reduce((sum, folder) => sum + folder.nodes, 0);
  const lines = status.folders.map(
    (folder) =>
      `${folder.root}: ${folder.state}, ${folder.files} files, ${folder.nodes} nodes${folder.error ? ` (${folder.error})` : ""}`,
  );
  const models = `models: ${status.models.embedder} / ${status.models.generator} / ${status.models.adapter}${status.fallback ? ` (${status.fallback})` : ""}`;
  const tooltip = [`HEF on ${status.backend}${off}`, models, ...lines].join("\n");
  if (status.backend === "loading") return { text: "$(sync~spin) HEF loading models", tooltip, click: "log" };
  const progress = indexing.find((folder) => folder.progress)?.progress;
  if (indexing.length > 0) {
    const percent = progress && progress.total > 0 ? ` ${Math.floor((100 * progress.done) / progress.total)}%` : "";
    const eta = progress?.etaMs === undefined ? "" : ` · ${timeLeft(progress.etaMs)}`;
    // Completions do not wait for the whole index: say so, or a user waits 14 minutes for nothing.
    const serving =
      nodes > 0
        ? `\nCompletions already use the ${indexing.reduce((sum, folder) => sum + folder.files, 0)} files indexed so far (the files in view first).`
        : "";
    return {
      text: `$(sync~spin) HEF indexing${progress ? ` (${progress.phase})` : ""}${percent}${eta}`,
      tooltip: tooltip + serving,
      click: "log",
    };
  }
  const latency = latencyMs === undefined ? "" : ` · ${Math.round(latencyMs)} ms`;
  const icon = failed.length > 0 || status.fallback ? "$(warning)" : enabled ? "$(check)" : "$(circle-slash)";
  return { text: `${icon} HEF ${nodes} nodes · ${status.backend}${latency}`, tooltip, click: "log" };
}

/** "~40 s left", "~6 min left", "~2 h left": an estimate, said as one. */
export function timeLeft(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 90) return `~${Math.max(10, Math.round(seconds / 10) * 10)} s left`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `~${minutes} min left` : `~${Math.round(minutes / 60)} h left`;
}

/** The status bar item: indexing progress, then node count, backend and the last completion's latency. Click: the log, or a restart. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private latencyMs: number | undefined;
  private countdown: NodeJS.Timeout | undefined;

  constructor(
    private readonly current: () => {
      state: SidecarState;
      status: SidecarStatus | undefined;
      enabled: boolean;
      nextRestart?: number;
    },
    private readonly commands: { showLog: string; restart: string },
  ) {
    this.item.name = "HEF";
    this.update();
    this.item.show();
  }

  setLastLatency(ms: number): void {
    this.latencyMs = ms;
    this.update();
  }

  update(): void {
    const { state, status, enabled, nextRestart } = this.current();
    const restartInMs = state === "stopped" && nextRestart !== undefined ? nextRestart - Date.now() : undefined;
    const view = describeStatus(state, status, enabled, this.latencyMs, restartInMs);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.click === "restart" ? this.commands.restart : this.commands.showLog;
    // The countdown ticks only while there is one to show.
    if (restartInMs !== undefined && !this.countdown) this.countdown = setInterval(() => this.update(), 1000);
    else if (restartInMs === undefined && this.countdown) {
      clearInterval(this.countdown);
      this.countdown = undefined;
    }
  }

  dispose(): void {
    clearInterval(this.countdown);
    this.item.dispose();
  }
}
