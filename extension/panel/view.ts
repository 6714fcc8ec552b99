// What the "Retrieved nodes" panel shows of the last completion, as plain data: the webview only
// lays it out, so everything worth testing about the panel's content is decided here.
import type { Level } from "../../sidecar/cache/hierarchy";
import type { PanelNode } from "../../sidecar/protocol";
import type { CompletionEvent } from "../services";

export interface NodeRow {
  level: Level;
  /** Directories (module and repo nodes) end in "/". */
  path: string;
  /** "12–30" for nodes of one file; empty for directories. */
  lines: string;
  score: number;
}

export interface Figure {
  label: string;
  value: number;
}

export type PanelView =
  | { kind: "empty"; message: string }
  | {
      kind: "completion";
      /** Identifies this completion in "open" messages, so a click on an old list opens nothing. */
      seq: number;
      mode: string;
      nodes: NodeRow[];
      /** Milliseconds per stage. */
      stages: Figure[];
      /** Token counts: this prompt against snippet injection of the same nodes. */
      prompt: Figure[];
    };

/** Webview to extension. */
export type PanelMessage = { type: "ready" } | { type: "open"; seq: number; index: number };

export const NO_COMPLETION = "No completion yet… Type in a file of an indexed folder, or run “HEF: Complete now”.";
export const MODE_NONE = "The last completion ran in mode “none”: nothing was retrieved. Set hef.mode to “hef” or “rag” to see the nodes.";

export function panelView(event: CompletionEvent | undefined, seq: number): PanelView {
  if (!event) return { kind: "empty", message: NO_COMPLETION };
  const { result, latencyMs } = event;
  if (result.kind === "notReady") return { kind: "empty", message: `No completion: ${result.reason}` };
  if (result.mode === "none") return { kind: "empty", message: MODE_NONE };
  const t = result.timings;
  return {
    kind: "completion",
    seq,
    mode: result.mode,
    nodes: result.nodes.map(nodeRow),
    stages: [
      { label: "Query embedding", value: t.queryEmbed },
      { label: "Search", value: t.search },
      { label: "Projection", value: t.projection },
      { label: "Prefill", value: t.prefill },
      { label: "Decode", value: t.decode },
      { label: "Total (sidecar)", value: t.total },
      { label: "Round trip (editor)", value: latencyMs },
    ],
    prompt:
      result.mode === "hef"
        ? [
            { label: "Prompt tokens", value: result.promptTokens },
            { label: "Pseudo-tokens", value: result.pseudoTokens },
            { label: "HEF prompt", value: result.promptTokens + result.pseudoTokens },
            { label: "Snippet injection of the same nodes", value: result.promptTokens + result.contextTokens },
          ]
        : [
            { label: "Prompt tokens", value: result.promptTokens },
            { label: "Of which injected snippets", value: result.contextTokens },
          ],
  };
}

function nodeRow(node: PanelNode): NodeRow {
  const span = fileSpan(node);
  return {
    level: node.level,
    path: span ? node.path : `${node.path.replace(/\/$/, "")}/`,
    lines: span ? `${span.startLine}–${span.endLine}` : "",
    score: node.score,
  };
}

/** The line range to open for chunk and file nodes; directories (module, repo) have none. */
export function fileSpan(node: PanelNode): { path: string; startLine: number; endLine: number } | undefined {
  if (node.level !== "chunk" && node.level !== "file") return undefined;
  const span = node.spans.find((s) => s.startLine !== undefined && s.endLine !== undefined);
  return span && { path: span.path, startLine: span.startLine!, endLine: span.endLine! };
}
