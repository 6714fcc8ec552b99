// One repository's training export (format: exportFormat.ts). Everything comes from the cache's
// own reading, chunking and embedding, the task views from HefCache.preview and the query vectors
// from the engine's query window, so training sees exactly what inference retrieves.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";
import { contentHash, type Chunk } from "../cache/chunking/chunk";
import { readSourceFile } from "../cache/discovery";
import { HefCache, type Phase } from "../cache/hefCache";
import { chunkNodeIds, type HNode } from "../cache/hierarchy";
import type { DiscoveryOptions } from "../../common/pathFilter";
import { embedQuery, type IncrementalEncoder } from "../completion/queryEncoder";
import { futureExcluded, type LineTask } from "../eval/tasks";
import type { Embedder } from "../models/embedder";
import { replaceDirectory, writeFileDurably } from "../util/atomicWrite";
import {
  type ChunkRow,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  ExportFile,
  type ExportManifest,
  type NodeRow,
  type TaskRow,
} from "./exportFormat";

export interface ExportOptions {
  /** The repository's folder name and its absolute path. */
  repo: string;
  root: string;
  /** The folder to write, <out>/<repo>; what was there is replaced once the new one is complete. */
  outDir: string;
  /** The repository's cache: outside the indexed tree. */
  cacheDir: string;
  embedder: Embedder;
  b: number;
  discovery?: DiscoveryOptions;
  /** This repository's tasks; undefined: no tasks.jsonl or query-vectors.f32. */
  tasks?: readonly LineTask[];
  /** The engine's query encoder over the embedder's GGUF; needed when there are tasks. */
  queryEncoder?: IncrementalEncoder;
  progress?: (phase: Phase | "tasks", done: number, total: number) => void;
  log?: (message: string) => void;
}

export interface ExportSummary {
  repo: string;
  files: number;
  chunks: number;
  baseChunks: number;
  nodes: number;
  tasks: number;
  ms: number;
}

type ChunkText = Omit<ChunkRow, "i">;

/** Rows of chunks.jsonl and chunk-vectors.f32 as they are found. */
class ChunkTable {
  readonly rows: ChunkRow[] = [];
  readonly vectors: Float32Array[] = [];
  private readonly byNode = new Map<string, number>();
  private readonly byHash = new Map<string, number>();

  addNode(node: HNode, chunk: ChunkText, vector: Float32Array): void {
    this.byNode.set(node.id, this.add(chunk, vector));
  }

  /** A task view's chunk: a row only for text the table does not have yet. */
  addText(chunk: Chunk, vector: Float32Array): void {
    if (this.byHash.has(chunk.hash)) return;
    const { hash, path, startLine, endLine, startByte, endByte, tokens, text } = chunk;
    this.add({ hash, path, startLine, endLine, startByte, endByte, tokens, text }, vector);
  }

  rowOf(node: HNode): number {
    const row = this.byNode.get(node.id) ?? this.byHash.get(node.contentHash!);
    if (row === undefined) throw new Error(`no chunk row for node ${node.id} (${node.path})`);
    return row;
  }

  private add(chunk: ChunkText, vector: Float32Array): number {
    const i = this.rows.length;
    this.rows.push({ i, ...chunk });
    this.vectors.push(vector);
    if (!this.byHash.has(chunk.hash)) this.byHash.set(chunk.hash, i);
    return i;
  }
}

/** Children before parents, depth first from the repository node: an order that depends on the hierarchy alone, not on the refreshes that built it. */
function depthFirst(nodes: readonly HNode[]): HNode[] {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const out: HNode[] = [];
  const visit = (node: HNode): void => {
    for (const child of node.children) visit(byId.get(child)!);
    out.push(node);
  };
  const root = nodes.find((node) => node.level === "repo" && !node.partial);
  if (root) visit(root);
  if (out.length !== nodes.length)
    throw new Error(`the hierarchy has ${nodes.length} nodes, ${out.length} of them under the repository node`);
  return out;
}

function nodeRow(node: HNode, chunks: ChunkTable): NodeRow {
  const { id, level, partial, path, height, children, spans } = node;
  return {
    id,
    level,
    partial,
    path,
    height,
    children,
    spans,
    ...(node.contentHash ? { chunk: chunks.rowOf(node) } : {}),
  };
}

/**
 * Each indexed chunk's text by node id, cut from its file read again (the cache keeps spans and
 * hashes, not text). Offsets count in the text as the index read it, after any byte order mark.
 */
async function indexedChunkTexts(
  cache: HefCache,
  root: string,
  discovery?: DiscoveryOptions,
): Promise<Map<string, ChunkText>> {
  const texts = new Map<string, ChunkText>();
  for (const file of cache.indexedFiles()) {
    const read = await readSourceFile(root, file.path, discovery);
    if (!read.ok || contentHash(read.text) !== file.hash)
      throw new Error(`${join(root, file.path)} changed during the export; run it again`);
    const bytes = Buffer.from(read.text);
    const ids = chunkNodeIds(file);
    file.chunks.forEach((chunk, i) => {
      const text = bytes.toString("utf8", chunk.startByte, chunk.endByte);
      if (contentHash(text) !== chunk.hash)
        throw new Error(
          `${file.path}:${chunk.startLine}: bytes ${chunk.startByte}-${chunk.endByte} do not hold the chunk's text`,
        );
      const { hash, startLine, endLine, startByte, endByte, tokens } = chunk;
      texts.set(ids[i]!, { hash, path: file.path, startLine, endLine, startByte, endByte, tokens, text });
    });
  }
  return texts;
}

/** Rows of float32 in little-endian order, whatever this machine's order. */
function float32Rows(vectors: readonly Float32Array[], dim: number): Buffer {
  const out = Buffer.alloc(vectors.length * dim * 4);
  const view = new Float32Array(out.buffer, out.byteOffset, vectors.length * dim);
  vectors.forEach((vector, i) => {
    if (vector.length !== dim)
      throw new Error(`a vector has ${vector.length} values, the embedder's dimension is ${dim}`);
    view.set(vector, i * dim);
  });
  if (endianness() === "BE") out.swap32();
  return out;
}

const jsonLines = (rows: readonly unknown[]): string => rows.map((row) => `${JSON.stringify(row)}\n`).join("");

/** Each task's view of the index (the target file cut before the target line) and its query vector. */
async function taskViews(
  cache: HefCache,
  chunks: ChunkTable,
  options: ExportOptions & { tasks: readonly LineTask[]; queryEncoder: IncrementalEncoder },
): Promise<{ rows: TaskRow[]; vectors: Float32Array[] }> {
  const { root, tasks, queryEncoder, embedder } = options;
  const rows: TaskRow[] = [];
  const vectors: Float32Array[] = [];
  for (const [i, task] of tasks.entries()) {
    const source = await readSourceFile(root, task.path, options.discovery);
    if (!source.ok) throw new Error(`task ${task.taskId}: ${task.path}: ${source.reason} (${source.detail})`);
    let view: string;
    try {
      view = futureExcluded(source.text, task.lineNo);
    } catch (error) {
      throw new Error(`task ${task.taskId}: ${task.path}: ${(error as Error).message}`);
    }
    const preview = await cache.preview(task.path, view);
    preview.chunks.forEach((chunk, j) => chunks.addText(chunk, preview.vectors[j]!));
    const query = await embedQuery(queryEncoder, task.prompt, embedder.maxTokens);
    rows.push({
      taskId: task.taskId,
      path: task.path,
      lineNo: task.lineNo,
      query: vectors.length,
      queryTokens: query.tokens,
      removed: preview.update.removed,
      added: preview.update.added.map((node) => nodeRow(node, chunks)),
    });
    vectors.push(query.vector);
    options.progress?.("tasks", i + 1, tasks.length);
  }
  return { rows, vectors };
}

/** Writes the files into a folder beside `outDir` and renames it into place once all are on disk. */
function publish(outDir: string, files: readonly (readonly [string, string | Buffer])[]): void {
  const parent = dirname(outDir);
  const name = basename(outDir);
  mkdirSync(parent, { recursive: true });
  // What a killed export left beside the folder holds a manifest too: a reader could take it for a repository.
  for (const entry of readdirSync(parent)) {
    if (entry.startsWith(`${name}.tmp-`) || entry.startsWith(`${name}.old-`))
      rmSync(join(parent, entry), { recursive: true, force: true });
  }
  const temp = `${outDir}.tmp-${process.pid}`;
  try {
    mkdirSync(temp);
    for (const [file, data] of files) writeFileDurably(join(temp, file), data);
    replaceDirectory(temp, outDir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

export async function exportRepository(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const { repo, root, embedder, tasks, queryEncoder } = options;
  if (tasks && tasks.length > 0 && !queryEncoder) throw new Error("exporting tasks needs the query encoder");
  const cache = await HefCache.open({
    root,
    cacheDir: options.cacheDir,
    embedder,
    b: options.b,
    ...(options.discovery ? { discovery: options.discovery } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const report = await cache.sync(options.progress);
  await cache.save();

  const chunks = new ChunkTable();
  const nodes = depthFirst(cache.allNodes());
  const texts = await indexedChunkTexts(cache, root, options.discovery);
  for (const node of nodes) if (node.contentHash) chunks.addNode(node, texts.get(node.id)!, cache.nodeVector(node.id));
  const baseChunks = chunks.rows.length;
  const nodeRows = nodes.map((node) => nodeRow(node, chunks));
  const views =
    tasks && queryEncoder
      ? await taskViews(cache, chunks, { ...options, tasks, queryEncoder })
      : { rows: [], vectors: [] };

  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    repo,
    root,
    embedder: { name: embedder.name, id: embedder.id, dim: embedder.dim, maxTokens: embedder.maxTokens },
    b: options.b,
    files: report.files,
    chunks: chunks.rows.length,
    baseChunks,
    nodes: nodeRows.length,
    tasks: views.rows.length,
    skipped: report.skipped.map(({ path, reason }) => ({ path, reason })),
  };
  publish(options.outDir, [
    [ExportFile.chunks, jsonLines(chunks.rows)],
    [ExportFile.chunkVectors, float32Rows(chunks.vectors, embedder.dim)],
    [ExportFile.nodes, jsonLines(nodeRows)],
    ...(tasks
      ? ([
          [ExportFile.tasks, jsonLines(views.rows)],
          [ExportFile.queryVectors, float32Rows(views.vectors, embedder.dim)],
        ] as const)
      : []),
    [ExportFile.manifest, `${JSON.stringify(manifest, null, 2)}\n`],
  ]);
  return {
    repo,
    files: report.files,
    chunks: chunks.rows.length,
    baseChunks,
    nodes: nodeRows.length,
    tasks: views.rows.length,
    ms: Math.round(performance.now() - started),
  };
}
