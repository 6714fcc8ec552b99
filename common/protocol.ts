// The one place where the extension and the sidecar agree on what they say to each other: every
// custom request and notification of HEF's language server, declared once, typed and documented.
// The extension (vscode-languageclient) and the sidecar (vscode-languageserver) both import it; it
// imports nothing of either. The wire types are declared here, not derived from the sidecar's own:
// sidecar/server/wire.ts maps the engine's results to them in one place, so a field added inside
// the sidecar reaches the editor only when that mapping says so.
//
// Failures, one convention: an answer the editor should show (no cache yet, models failed, a
// folder that failed) is a result (`notReady`, a folder's `error`); a request that could not be
// served at all (invalid parameters, cancelled, the engine threw) is a ResponseError, which the
// client logs.
//
// Documents, LSP's own text-document sync: the client syncs every open file (textDocument/didOpen,
// didChange with TextDocumentSyncKind.Incremental, didClose), so the sidecar holds each one's current
// text, unsaved edits included. A completion names the document, the version it was asked at and the
// cursor; the sidecar cuts the text before and after the cursor from its own copy. A request is then a
// few hundred bytes whatever the file's size (when the whole file went as prefix and suffix, a
// 10,000-line file made every keystroke's request 321 KB of JSON). The client sends a version's
// didChange before any request that names it, on the same connection; a request naming a version the
// sidecar has not seen waits up to DOCUMENT_WAIT_MS for it, then answers notReady with the reason, as
// it does for a version older than its own (the document changed since) and for a document that is not
// open. Tools that have no editor (the hef CLI, benchmarks) call the engine with the texts instead.
import {
  NotificationType,
  RequestType,
  type Position,
  type VersionedTextDocumentIdentifier,
} from "vscode-languageserver-protocol";
import type { Backend } from "./settings";

/** The levels of the hierarchy (paper Algorithm 1), as sidecar/cache/hierarchy.ts builds them. */
export type NodeLevel = "chunk" | "file" | "module" | "repo";

/** Where a node's source lies: a line range of a file, or a whole directory (no lines). Paths are relative to the folder. */
export interface NodeSpan {
  path: string;
  /** 1-based, inclusive. */
  startLine?: number;
  endLine?: number;
}

/**
 * hef: pseudo-tokens from the K retrieved nodes, prepended to the prompt (paper Algorithm 2).
 * rag: the retrieved chunks' raw text injected before the prefix up to a token budget.
 * none: the prefix (and suffix, with FIM) alone.
 */
export const COMPLETION_MODES = ["hef", "rag", "none"] as const;
export type CompletionMode = (typeof COMPLETION_MODES)[number];

/**
 * Why generation ended, as the native generator reports it: eog, the model produced an
 * end-of-generation token; stop, a stop string; maxTokens; time, the time limit; cancelled, cancel()
 * or the AbortSignal; context, the KV cache is full.
 */
export type StopReason = "eog" | "stop" | "maxTokens" | "time" | "cancelled" | "context";

/** Milliseconds per stage of one request. */
export interface StageTimings {
  queryEmbed: number;
  search: number;
  projection: number;
  prefill: number;
  decode: number;
  total: number;
}

/** Settings the sidecar is started with (initializationOptions); changing any of them restarts it. */
export interface SidecarOptions {
  /** Embedder, generator and adapter GGUF paths; undefined = the embedded default models. */
  embedderPath?: string;
  generatorPath?: string;
  adapterPath?: string;
  backend: Backend;
  /** gitignore-style globs left out of the index, besides .gitignore. */
  exclude: string[];
  /**
   * Where caches live; undefined = ~/.cache/hef-code (or $HEF_CACHE_HOME). The editor leaves it to
   * that default; tests and tools that run the sidecar set it.
   */
  cacheDir?: string;
}

export type FolderState = "waiting" | "indexing" | "ready" | "failed";

/** One workspace folder's cache. */
export interface FolderStatus {
  /** Absolute path of the workspace folder. */
  root: string;
  state: FolderState;
  /**
   * While indexing: the phase and how far it is (files), and the time left at the pace so far.
   * Files are committed in batches, so `nodes` grows meanwhile and completions use what is there.
   */
  progress?: { phase: "reading" | "embedding" | "fusing"; done: number; total: number; etaMs?: number };
  files: number;
  nodes: number;
  nodesPerLevel: Record<NodeLevel, number>;
  /** The last failure, in one line. */
  error?: string;
}

/** The sidecar as the status bar shows it. */
export interface SidecarStatus {
  /** "CPU", "CUDA", "Vulkan" or "Metal": where the models run. */
  backend: string;
  models: { embedder: string; generator: string; adapter: string };
  folders: FolderStatus[];
  /**
   * Why the sidecar can complete nothing at all, in one line: set when loading the models failed
   * (backend is then "none"). A single folder's failure is in its FolderStatus instead.
   */
  error?: string;
  /** Why the sidecar runs on the embedded default models instead of the chosen ones (they failed to load), in one line. */
  fallback?: string;
}

/** A retrieved node as the panel lists it; the path is relative to `root`. */
export interface PanelNode {
  id: string;
  level: NodeLevel;
  partial: boolean;
  root: string;
  path: string;
  spans: NodeSpan[];
  score: number;
}

/** How long a request naming a document version the sidecar has not seen yet waits for its didChange (ms). */
export const DOCUMENT_WAIT_MS = 500;

export interface CompleteParams {
  /** Absolute path of the workspace folder the document belongs to. */
  root: string;
  /** A synced document (a file: URI, as the client's didOpen named it) and the version the position refers to. */
  textDocument: VersionedTextDocumentIdentifier;
  /** The cursor: zero-based line and UTF-16 character, as LSP counts them. */
  position: Position;
  /**
   * Complete as if this text were inserted at the position, the cursor after it, without a
   * didChange: what accepting a suggestion would make of the document (hef/speculate).
   */
  insert?: string;
  mode: CompletionMode;
  k: number;
  maxTokens: number;
  singleLine: boolean;
  /** A comment line of names the retrieved code defines in the prompt (paper 3.8, hef.entities). */
  entities: boolean;
  /** Complete even while the folder is still being indexed for the first time. */
  force: boolean;
}

/** A completion as the editor shows it (ghost text) and explains it (the panel). */
export interface Completion {
  kind: "completion";
  /** What goes after the cursor. */
  text: string;
  mode: CompletionMode;
  stopReason: StopReason;
  /** Prompt tokens the generator saw (pseudo-tokens not included). */
  promptTokens: number;
  /** Pseudo-tokens prepended (hef: one per retrieved node; otherwise 0). */
  pseudoTokens: number;
  /** Raw-context tokens: what rag injected, or in hef mode what injecting the same nodes' text would have cost (at most rag's budget). */
  contextTokens: number;
  /** Entity-name tokens in the prompt (0 when hef.entities is off). */
  entityTokens: number;
  /** The names that entity line lists, in its order (empty when hef.entities is off or none were found). */
  entityNames: string[];
  /** Prompt positions reused from the previous request's KV cache, and decoded now. */
  reused: number;
  decoded: number;
  generatedTokens: number;
  /** The previous request on this line retrieved these nodes; no query was embedded and no search ran. */
  retrievalReused: boolean;
  /** The retrieved nodes, best first (none mode: empty). */
  nodes: PanelNode[];
  timings: StageTimings;
}

export type CompleteResult =
  | Completion
  /** No request was made: the folder's cache is not built yet, or it is not trusted/indexed. */
  | { kind: "notReady"; reason: string };

export interface RebuildParams {
  /** Absolute folder paths; empty = every folder. */
  roots: string[];
}

export interface RebuildResult {
  folders: { root: string; files: number; nodes: number; ms: number; error?: string }[];
}

/**
 * Paths are absolute. One notification per debounced batch of file-system events. A rename is a
 * deletion and an addition: the cache keys chunk vectors by content, so a moved file embeds
 * nothing again whatever the pairing, and its file and directory nodes change with its path anyway.
 */
export interface FilesChangedParams {
  root: string;
  changed: string[];
  added: string[];
  deleted: string[];
}

/** The files the user has in view in one folder (absolute paths, the active one first). */
export interface FocusParams {
  root: string;
  paths: string[];
}

export namespace HefRequests {
  /** Completes at the cursor; $/cancelRequest reaches native decoding. Stops any background work (pre-warm, speculation) first. */
  export const complete = new RequestType<CompleteParams, CompleteResult, void>("hef/complete");
  /**
   * Speculative next: the completion that would follow accepting a suggestion (`insert` is the
   * suggestion), computed in the background so that the editor can serve it from memory on accept.
   * Background priority: any hef/complete cancels it at once, as does a newer hef/speculate or
   * hef/prewarm (one piece of background work at a time); it then fails with RequestCancelled. It
   * never delays a real request.
   */
  export const speculate = new RequestType<CompleteParams, CompleteResult, void>("hef/speculate");
  /** Rebuilds the caches of some or all folders from scratch (chunk vectors reused); cancellable. */
  export const rebuild = new RequestType<RebuildParams, RebuildResult, void>("hef/rebuild");
  /** The current status (also pushed with HefNotifications.status). */
  export const status = new RequestType<void, SidecarStatus, void>("hef/status");
}

export namespace HefNotifications {
  /** Client to sidecar: a batch of file changes in one folder; the sidecar refreshes only those files' nodes. */
  export const filesChanged = new NotificationType<FilesChangedParams>("hef/filesChanged");
  /**
   * Client to sidecar: what the user looks at, sent when the visible editors change. An index run
   * reads these files and their neighbours before the rest of the tree.
   */
  export const focus = new NotificationType<FocusParams>("hef/focus");
  /**
   * Client to sidecar: the cursor rests here (a file gained focus, the cursor moved, the user paused),
   * with the parameters a completion here would have. The sidecar embeds the query, retrieves,
   * projects and prefills the prompt in the background, so that the completion that follows reuses
   * that work. A hef/complete cancels it at once; a newer pre-warm or speculation replaces it.
   */
  export const prewarm = new NotificationType<CompleteParams>("hef/prewarm");
  /** Sidecar to client: the status changed (indexing progress, ready, failure). */
  export const status = new NotificationType<SidecarStatus>("hef/status");
}
