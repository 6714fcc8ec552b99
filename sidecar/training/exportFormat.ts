/**
 * The training export written by `hef export` (export.ts), format "hef-export" version 1: what the
 * index of a repository holds, and for each task the index as `hef eval` sees it, so that training
 * (training/) retrieves exactly what inference retrieves without chunking or embedding in Python.
 *
 * One folder per repository, <out>/<repo>/, made complete under a temporary name and then renamed
 * into place: a folder with that name is always whole.
 *
 *   manifest.json      ExportManifest.
 *   chunks.jsonl       one ChunkRow per line; line i is row i of chunk-vectors.f32. Rows
 *                      0..baseChunks-1 are the chunks of the repository as indexed, one per chunk
 *                      node, in the order of nodes.jsonl; later rows are chunks that exist only in
 *                      some task's view, one per distinct text (hash), in task order.
 *   chunk-vectors.f32  chunks x embedder.dim float32, little-endian, row-major: each chunk's
 *                      embedding as the cache stores it (the embedder's output, not normalised).
 *   nodes.jsonl        one NodeRow per line: every node of the hierarchy as indexed, children
 *                      before parents (depth first from the repository node, the last line).
 *   tasks.jsonl        (only with --tasks) one TaskRow per line, in the task file's order.
 *   query-vectors.f32  (only with --tasks) tasks x embedder.dim float32, like chunk-vectors.f32:
 *                      row TaskRow.query is the task's query embedding.
 *
 * A task's view is the index with the target file cut before the target line (its future is not
 * retrievable): the base nodes minus `removed`, plus `added`. Its query vector is what the
 * completion engine embeds for the task's prompt (the stable query window on the incremental
 * encoder of the same embedder GGUF).
 */
import type { Level, NodeSpan } from "../cache/hierarchy";

export const EXPORT_FORMAT = "hef-export";
export const EXPORT_VERSION = 1;

export const ExportFile = {
  manifest: "manifest.json",
  chunks: "chunks.jsonl",
  chunkVectors: "chunk-vectors.f32",
  nodes: "nodes.jsonl",
  tasks: "tasks.jsonl",
  queryVectors: "query-vectors.f32",
} as const;

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** The repository's folder name, the first segment of its tasks' fpath_tuple. */
  repo: string;
  /** The absolute path that was read. */
  root: string;
  /** id: a fingerprint of the GGUF file; maxTokens: the chunk and query window budget. */
  embedder: { name: string; id: string; dim: number; maxTokens: number };
  /** Branching factor of the hierarchy. */
  b: number;
  /** Files indexed. */
  files: number;
  /** Rows of chunks.jsonl and chunk-vectors.f32, of which the first baseChunks are the indexed ones. */
  chunks: number;
  baseChunks: number;
  /** Lines of nodes.jsonl. */
  nodes: number;
  /** Lines of tasks.jsonl and rows of query-vectors.f32. */
  tasks: number;
  /** Files left out of the index, and why (binary, too-large, invalid-utf8, unreadable, symlink). */
  skipped: { path: string; reason: string }[];
}

export interface ChunkRow {
  /** The row of this chunk in chunk-vectors.f32. */
  i: number;
  /** SHA-256 of the text: what the cache keys the embedding by. */
  hash: string;
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /**
   * UTF-8 byte offsets, end exclusive, in the file's text as the index reads it: after a leading
   * byte order mark, which the index drops (so for such a file they are 3 less than on disk).
   */
  startByte: number;
  endByte: number;
  /** Embedder tokens of the text. */
  tokens: number;
  text: string;
}

export interface NodeRow {
  /** 16 hex digits, derived from the node's inputs (hierarchy.ts). */
  id: string;
  level: Level;
  /** An intermediate node of a file or directory with more than b children. */
  partial: boolean;
  /** The file (chunk, file) or directory (module, repo: "." for the root) the node belongs to. */
  path: string;
  /** 0 for chunks, else 1 + the highest child's. */
  height: number;
  /** Child node ids in order: what the fuser fuses. */
  children: string[];
  /** The source the node covers: line ranges of files, or whole directories (no lines). */
  spans: NodeSpan[];
  /**
   * Chunk nodes only: the row of its text and vector in chunks.jsonl. In a task's `added`, a chunk
   * whose text the base already has points to the first base row with that text (same vector);
   * the node's own lines are its span.
   */
  chunk?: number;
}

export interface TaskRow {
  /** metadata.task_id of the task file. */
  taskId: string;
  /** The target file inside the repository. */
  path: string;
  /** 0-based target line: the cursor is at its start. */
  lineNo: number;
  /** The task's row in query-vectors.f32. */
  query: number;
  /** Tokens of the query window embedded. */
  queryTokens: number;
  /** Ids of base nodes that are not in the task's view. */
  removed: string[];
  /** Nodes of the task's view that are not in the base, children before parents. */
  added: NodeRow[];
}
