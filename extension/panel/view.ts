// What the "Retrieved nodes" panel shows of the last completion, as plain data: the webview only
// lays it out, so everything worth testing about the panel's content is decided here.
import { posix } from "node:path";
import type { FolderStatus, NodeLevel, NodeSpan, PanelNode, SidecarStatus } from "../../common/protocol";
import type { CompletionEvent, SidecarState } from "../services";

/** A file (with lines) or sub-directory that a node stands for. */
export interface Covered {
  /** Relative to the node's directory; sub-directories end in "/". */
  name: string;
  /** "1–90", or empty for a directory. */
  lines: string;
  /** The span's index in the node's spans, for "open" messages; absent for directories (nothing to open). */
  span?: number;
}

export interface NodeRow {
  /** The node's index in the completion's nodes (rows are sorted by score, nodes are not). */
  index: number;
  level: NodeLevel;
  /** An intermediate node: one of several groups of a file's chunks or of a directory's children. */
  partial: boolean;
  /** Read first: the file name, the directory's last segment ("lib/"), or the workspace folder's name for the repository. */
  name: string;
  /** Where `name` lies, shown dimmed after it; empty at the top. */
  parent: string;
  /** "12–30" for nodes of one file; empty for directories. */
  lines: string;
  /** The node's path relative to its folder, for tooltips and the real-editor tests. */
  path: string;
  /** What a directory node groups, when it is not the whole directory; empty otherwise. */
  covered: Covered[];
  /** One line of `covered`: "covers cart.py, tax.py +3". */
  covers: string;
  /** Set only when two rows would otherwise read the same: the start of the node id. */
  tag: string;
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
      /** The workspace folder's name. */
      folder: string;
      /** Best score first. */
      nodes: NodeRow[];
      /** Why there are no nodes; empty when there are. */
      note: string;
      /** Milliseconds per stage. */
      stages: Figure[];
      /** Token counts: this prompt against snippet injection of the same nodes. */
      prompt: Figure[];
      /** The names the prompt's entity line listed (hef.entities), in its order; empty without one. */
      names: string[];
    };

/** Webview to extension: open a node (a chunk or file), or one file span of a directory node. */
export type PanelMessage = { type: "ready" } | { type: "open"; seq: number; index: number; span?: number };

/** What the sidecar is doing now, as the panel needs it to judge an older answer. */
export interface SidecarNow {
  state: SidecarState;
  status: SidecarStatus | undefined;
}

export const NO_COMPLETION = "No completion yet… Type in a file of an indexed folder, or run “HEF: Complete now”.";
export const MODE_NONE =
  "The last completion ran in mode “none”: nothing was retrieved. Set hef.mode to “hef” or “rag” to see the nodes.";
export const READY_NOW = "HEF is ready now. Type in a file of an indexed folder, or run “HEF: Complete now”.";

/** How many covered names a row lists before "+N". */
const COVERS_SHOWN = 2;

export function panelView(event: CompletionEvent | undefined, seq: number, now?: SidecarNow): PanelView {
  if (!event) return { kind: "empty", message: NO_COMPLETION };
  const { result, latencyMs } = event;
  if (result.kind === "notReady") {
    // The answer described the sidecar as it was; once it can complete in that folder, saying
    // "loading the models failed" or "being indexed" would be a stale alarm.
    return now && canComplete(event.params.root, now)
      ? { kind: "empty", message: READY_NOW }
      : { kind: "empty", message: `No completion: ${result.reason}` };
  }
  if (result.mode === "none") return { kind: "empty", message: MODE_NONE };
  const t = result.timings;
  const root = result.nodes[0]?.root ?? event.params.root;
  const listedNames = result.entityTokens > 0 ? [{ label: "Of which listed names", value: result.entityTokens }] : [];
  return {
    kind: "completion",
    seq,
    mode: result.mode,
    folder: folderName(root),
    nodes: nodeRows(result.nodes),
    note:
      result.nodes.length > 0
        ? ""
        : noNodes(
            root,
            now?.status?.folders.find((f) => f.root === root),
          ),
    stages: [
      { label: "Query embedding", value: t.queryEmbed },
      { label: "Search", value: t.search },
      { label: "Projection", value: t.projection },
      { label: "Prefill", value: t.prefill },
      { label: "Decode", value: t.decode },
      { label: "Total (sidecar)", value: t.total },
      { label: "Round trip (editor)", value: latencyMs },
    ].map(({ label, value }) => ({ label, value: roundMs(value) })),
    prompt:
      result.mode === "hef"
        ? [
            { label: "Prompt tokens", value: result.promptTokens },
            ...listedNames,
            { label: "Pseudo-tokens", value: result.pseudoTokens },
            { label: "HEF prompt", value: result.promptTokens + result.pseudoTokens },
            { label: "Snippet injection of the same nodes", value: result.promptTokens + result.contextTokens },
          ]
        : [
            { label: "Prompt tokens", value: result.promptTokens },
            { label: "Of which injected snippets", value: result.contextTokens },
            ...listedNames,
          ],
    names: [...result.entityNames],
  };
}

/** As the sidecar decides it: models loaded, and some of the folder indexed (a first index serves as it goes). */
function canComplete(root: string, { state, status }: SidecarNow): boolean {
  if (state !== "running" || !status || status.error || status.backend === "loading") return false;
  const folder = status.folders.find((f) => f.root === root);
  return folder !== undefined && (folder.state === "ready" || folder.files > 0);
}

function noNodes(root: string, folder: FolderStatus | undefined): string {
  const name = folderName(root);
  if (folder?.state === "waiting" || folder?.state === "indexing") {
    const progress = folder.progress
      ? ` (${folder.progress.phase} ${folder.progress.done} of ${folder.progress.total})`
      : "";
    return `Nothing to retrieve yet: the index of ${name} is still being built${progress}. This completion saw the open file only.`;
  }
  if (folder?.nodes === 0)
    return `Nothing to retrieve: the index of ${name} is empty (no file was indexed; the HEF log says which were skipped and why).`;
  return `Nothing was retrieved from the index of ${name}.`;
}

/** Whole milliseconds are precise enough from 10 ms up; below, one decimal still tells 0.4 from 4. */
export function roundMs(ms: number): number {
  return ms >= 10 ? Math.round(ms) : Math.round(ms * 10) / 10;
}

const folderName = (root: string): string => posix.basename(root.replace(/\\/g, "/").replace(/\/+$/, "")) || root;

const isTop = (dir: string): boolean => dir === "" || dir === ".";

function nodeRows(nodes: readonly PanelNode[]): NodeRow[] {
  const rows = nodes.map(nodeRow).sort((a, b) => b.score - a.score);
  // Rows that still read alike after their covered children (never seen so far, but two look-alike
  // rows are what made the panel unreadable) get the start of their node ids.
  const text = (row: NodeRow) => [row.level, row.partial, row.name, row.parent, row.lines, row.covers].join("\u0000");
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(text(row), (counts.get(text(row)) ?? 0) + 1);
  for (const row of rows) if (counts.get(text(row))! > 1) row.tag = `#${nodes[row.index]!.id.slice(0, 6)}`;
  return rows;
}

function nodeRow(node: PanelNode, index: number): NodeRow {
  const base = { index, level: node.level, partial: node.partial, tag: "", score: node.score };
  const span = fileSpan(node);
  if (span) {
    const parent = posix.dirname(node.path);
    return {
      ...base,
      name: posix.basename(node.path),
      parent: isTop(parent) ? "" : parent,
      lines: lineRange(span),
      path: node.path,
      covered: [],
      covers: "",
    };
  }
  const dir = node.path.replace(/\/+$/, "");
  const covered = coveredBy(isTop(dir) ? "" : dir, node.spans);
  const names = covered.map((c) => c.name);
  const more = names.length > COVERS_SHOWN ? ` +${names.length - COVERS_SHOWN}` : "";
  const parent = posix.dirname(dir);
  return {
    ...base,
    name: node.level === "repo" || isTop(dir) ? `${folderName(node.root)}/` : `${posix.basename(dir)}/`,
    parent: node.level === "repo" || isTop(parent) ? "" : parent,
    lines: "",
    path: isTop(dir) ? "./" : `${dir}/`,
    covered,
    covers: names.length > 0 ? `covers ${names.slice(0, COVERS_SHOWN).join(", ")}${more}` : "",
  };
}

/** A directory node's spans other than the whole directory itself: the children an intermediate node groups. */
function coveredBy(dir: string, spans: readonly NodeSpan[]): Covered[] {
  return spans.flatMap((span, i): Covered[] => {
    const path = span.path.replace(/\/+$/, "");
    if (path === dir || (isTop(path) && dir === "")) return [];
    const name = dir === "" ? path : posix.relative(dir, path);
    if (span.startLine === undefined || span.endLine === undefined) return [{ name: `${name}/`, lines: "" }];
    return [{ name, lines: lineRange({ startLine: span.startLine, endLine: span.endLine }), span: i }];
  });
}

const lineRange = (span: { startLine: number; endLine: number }): string => `${span.startLine}–${span.endLine}`;

/**
 * The line range a click opens: a chunk or file node's own span, or the chosen span of a directory
 * node (a file it groups). Directories themselves have no lines and open nothing.
 */
export function fileSpan(
  node: PanelNode,
  spanIndex?: number,
): { path: string; startLine: number; endLine: number } | undefined {
  const candidates =
    spanIndex === undefined
      ? node.level === "chunk" || node.level === "file"
        ? node.spans
        : []
      : node.spans.slice(spanIndex, spanIndex + 1);
  const span = candidates.find((s) => s.startLine !== undefined && s.endLine !== undefined);
  return span && { path: span.path, startLine: span.startLine!, endLine: span.endLine! };
}
