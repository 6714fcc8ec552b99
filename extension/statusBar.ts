import * as vscode from "vscode";
import type { SidecarStatus } from "../sidecar/protocol";
import type { SidecarState } from "./services";

export interface StatusView {
  text: string;
  tooltip: string;
}

/** What the status bar says, from the sidecar's state and last status (pure, for tests). */
export function describeStatus(state: SidecarState, status: SidecarStatus | undefined, enabled: boolean, latencyMs: number | undefined): StatusView {
  const off = enabled ? "" : " (completions off)";
  if (state !== "running" || !status) {
    return state === "stopped"
      ? { text: "$(circle-slash) HEF", tooltip: `HEF: the sidecar is not running${off}. Click for the log.` }
      : { text: "$(sync~spin) HEF", tooltip: `HEF: the sidecar is starting${off}` };
  }
  if (status.error) return { text: "$(error) HEF: models failed to load", tooltip: `HEF: ${status.error}${off}\nClick for the log.` };
  const indexing = status.folders.filter((folder) => folder.state === "indexing" || folder.state === "waiting");
  const failed = status.folders.filter((folder) => folder.state === "failed");
  const nodes = status.folders.reduce((sum, folder) => sum + folder.nodes, 0);
  const lines = status.folders.map((folder) => `${folder.root}: ${folder.state}, ${folder.files} files, ${folder.nodes} nodes${folder.error ? ` (${folder.error})` : ""}`);
  const tooltip = [`HEF on ${status.backend}${off}`, `models: ${status.models.embedder} / ${status.models.generator} / ${status.models.adapter}`, ...lines].join("\n");
  if (status.backend === "loading") return { text: "$(sync~spin) HEF loading models", tooltip };
  const progress = indexing.find((folder) => folder.progress)?.progress;
  if (indexing.length > 0) {
    const percent = progress && progress.total > 0 ? ` ${Math.floor((100 * progress.done) / progress.total)}%` : "";
    return { text: `$(sync~spin) HEF indexing${progress ? ` (${progress.phase})` : ""}${percent}`, tooltip };
  }
  const latency = latencyMs === undefined ? "" : ` · ${Math.round(latencyMs)} ms`;
  const icon = failed.length > 0 ? "$(warning)" : enabled ? "$(check)" : "$(circle-slash)";
  return { text: `${icon} HEF ${nodes} nodes · ${status.backend}${latency}`, tooltip };
}

/** The status bar item: indexing progress, then node count, backend and the last completion's latency. Click: the log. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private latencyMs: number | undefined;

  constructor(
    private readonly current: () => { state: SidecarState; status: SidecarStatus | undefined; enabled: boolean },
    showLogCommand: string,
  ) {
    this.item.name = "HEF";
    this.item.command = showLogCommand;
    this.update();
    this.item.show();
  }

  setLastLatency(ms: number): void {
    this.latencyMs = ms;
    this.update();
  }

  update(): void {
    const { state, status, enabled } = this.current();
    const view = describeStatus(state, status, enabled, this.latencyMs);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
