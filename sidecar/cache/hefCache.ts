import { existsSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { CacheStore, FORMAT_VERSION, type CacheIdentity } from "./cacheStore";
import { contentHash, type Chunk } from "./chunking/chunk";
import { createChunker, type Chunker } from "./chunking/chunker";
import { decodeSource, readSourceFile, walkSourceFiles, type ReadResult, type SkippedFile } from "./discovery";
import { createPathFilter, type DiscoveryOptions, type PathFilter } from "../../common/pathFilter";
import { MeanFuser, type Fuser } from "./fuser";
import {
  allNodes,
  countByLevel,
  DEFAULT_BRANCHING,
  emptyHierarchy,
  updateHierarchy,
  type FileEntry,
  type HNode,
  type Hierarchy,
  type HierarchyUpdate,
  type Level,
} from "./hierarchy";
import { byFocus, FIRST_BATCH_FILES, type Focus, focusRank, nextBatchFiles, NO_FOCUS } from "./indexOrder";
import { NodeIndex, type StorageType } from "./nodeIndex";
import { selectHits, type RetrievedNode } from "./retrieval";
import type { VectorTable } from "./vectorTable";
import type { Embedder } from "../models/embedder";
import { oneLine } from "../util/errorText";
import { printable } from "../util/printable";

export interface HefCacheOptions {
  /** The repository to index (absolute). */
  root: string;
  /** Where the cache lives: outside the indexed tree. */
  cacheDir: string;
  embedder: Embedder;
  fuser?: Fuser;
  /** Branching factor: at most this many children fuse into one parent. */
  b?: number;
  storage?: StorageType;
  discovery?: DiscoveryOptions;
  /** Ignore the persisted hierarchy and index and build them anew (chunk vectors are still reused). */
  rebuild?: boolean;
  /**
   * While embedding, the embedding cache is written every this many ms (default 30 s) or chunks
   * (default 2,000, whichever comes first), so an index run that is killed or fails resumes without
   * embedding again what it had done.
   */
  checkpointMs?: number;
  checkpointChunks?: number;
  /**
   * A run commits what it has done about this often (default 5 s; queries then see those files)
   * and writes the generation every `persistMs` (default 60 s; a crash resumes from there).
   */
  batchMs?: number;
  persistMs?: number;
  log?: (message: string) => void;
  /**
   * Awaited before each model call of a run (a chunk embedded, a layer of parents fused; also the
   * fusing when a cache is opened), with the run's signal where it has one: lets the owner pause
   * indexing, as the sidecar does while it generates, and resume it without losing what was done.
   */
  beforeModelWork?: (signal?: AbortSignal) => Promise<void>;
}

export type Phase = "reading" | "embedding" | "fusing";
export type Progress = (phase: Phase, done: number, total: number) => void;

/** What one indexing or refresh run did. */
export interface RunReport {
  /** Files indexed after the run. */
  files: number;
  skipped: SkippedFile[];
  chunks: number;
  nodes: number;
  nodesPerLevel: Record<Level, number> & { partial: number };
  /** Files whose content changed, appeared or disappeared in this run. */
  changedFiles: number;
  /** Chunks embedded in this run. */
  embedded: number;
  /** Chunks of changed files whose vectors came from the embedding cache. */
  reused: number;
  /** Parent nodes fused in this run. */
  fused: number;
  /** Index entries removed in this run. */
  removed: number;
  ms: number;
}

/** A file's content for a run: what was read, or null where the file is gone. */
type Reader = (path: string) => Promise<ReadResult | null>;

interface Prepared {
  changes: Map<string, FileEntry | null>;
  /** The chunks of the changed files, with their text; the embedding cache holds their vectors. */
  chunks: Chunk[];
  skipped: SkippedFile[];
  /** Chunks embedded now; the others' vectors were cached. */
  embedded: number;
}

/** The cache as it would be with one file changed: see HefCache.preview. */
export interface Preview {
  update: HierarchyUpdate;
  /** The file's chunks with their text (none when the file is unchanged, ignored, unreadable or deleted). */
  chunks: Chunk[];
  /** The embedding of each chunk, as the cache stores it. */
  vectors: Float32Array[];
}

/** What one batch of a run did. */
interface BatchResult {
  prepared: Prepared;
  /** Index entries removed, and the parents fused. */
  removed: number;
  fusedIds: string[];
}

/** The next batch of a run: the files in view go alone in their own batch, committed within seconds whatever the size of the tree. */
function nextBatch(remaining: readonly string[], focus: Focus, size: number): { batch: string[]; rest: string[] } {
  const ordered = byFocus(remaining, focus);
  const inView = ordered.findIndex((path) => focusRank(path, focus) > 0);
  const take = inView > 0 ? Math.min(inView, size) : size;
  return { batch: ordered.slice(0, take), rest: ordered.slice(take) };
}

/** A run's counts, batch by batch. */
class RunTally {
  private readonly skipped: SkippedFile[] = [];
  private changedFiles = 0;
  private embedded = 0;
  private reused = 0;
  private removed = 0;
  /** Parents fused by this run; an ancestor re-fused by a later batch counts once. */
  private readonly fusedIds = new Set<string>();

  add({ prepared, removed, fusedIds }: BatchResult): void {
    this.skipped.push(...prepared.skipped);
    this.changedFiles += prepared.changes.size;
    this.embedded += prepared.embedded;
    this.reused += prepared.chunks.length - prepared.embedded;
    this.removed += removed;
    for (const id of fusedIds) this.fusedIds.add(id);
  }

  /** `exists`: whether a node is still in the cache (a parent fused and later removed does not count). */
  report(
    exists: (id: string) => boolean,
  ): Pick<RunReport, "skipped" | "changedFiles" | "embedded" | "reused" | "removed" | "fused"> {
    const { skipped, changedFiles, embedded, reused, removed } = this;
    return { skipped, changedFiles, embedded, reused, removed, fused: [...this.fusedIds].filter(exists).length };
  }
}

/**
 * The hierarchical cache of one repository: Algorithm 1 of the paper kept up to date file by
 * file. Runs are serialised; each does its slow work (reading, embedding, fusing) against the
 * current state and then commits synchronously, so a query, which runs on the same event loop,
 * sees the state before a run or after it, never half of each.
 */
export class HefCache {
  private hierarchy: Hierarchy;
  private readonly nodes = new Map<string, HNode>();
  private dirty = false;
  /** Chunk hashes the persisted generation refers to: the embedding file keeps them until a newer generation is current. */
  private persistedHashes = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Why each skipped file was last skipped: the same file skipped for the same reason is logged once, not on every run. */
  private readonly skipsLogged = new Map<string, string>();

  private constructor(
    readonly root: string,
    private readonly options: Required<Pick<HefCacheOptions, "b" | "storage" | "log">> & HefCacheOptions,
    private readonly fuser: Fuser,
    private readonly identity: CacheIdentity,
    private readonly store: CacheStore,
    private readonly filter: PathFilter,
    private readonly chunker: Chunker,
    private readonly embeddings: VectorTable,
    private fusedVectors: VectorTable,
    private index: NodeIndex,
  ) {
    this.hierarchy = emptyHierarchy(options.b);
  }

  static async open(options: HefCacheOptions): Promise<HefCache> {
    const full = {
      b: DEFAULT_BRANCHING,
      storage: "f16" as StorageType,
      log: (m: string) => process.stderr.write(`${m}\n`),
      ...options,
    };
    const { embedder, log } = full;
    const fuser = full.fuser ?? new MeanFuser();
    if (!existsSync(full.root)) throw new Error(`${full.root}: no such directory`);
    const identity: CacheIdentity = {
      format: FORMAT_VERSION,
      embedder: { id: embedder.id, dim: embedder.dim, name: embedder.name },
      fuser: fuser.id,
      b: full.b,
      maxChunkTokens: embedder.maxTokens,
      storage: full.storage,
    };
    const store = new CacheStore(full.cacheDir);
    const { table: embeddings, problem } = store.loadEmbeddings(embedder.id, embedder.dim);
    if (problem) log(`embedding cache unusable, starting it afresh: ${problem}`);
    const cache = new HefCache(
      full.root,
      full,
      fuser,
      identity,
      store,
      await createPathFilter(full.root, full.discovery),
      await createChunker(),
      embeddings,
      CacheStore.emptyFusedTable(embedder.dim),
      new NodeIndex(embedder.dim, full.storage),
    );
    await cache.restore(full.rebuild ?? false);
    return cache;
  }

  /**
   * Loads the persisted generation, repairing what can be repaired without the source files.
   * A rebuild keeps only the knowledge of which chunk vectors that generation still needs.
   */
  private async restore(rebuild: boolean): Promise<void> {
    const { log } = this.options;
    const loaded = this.store.load(this.identity);
    if (!loaded.ok) {
      if (loaded.reason !== "no cache yet") log(`rebuilding the cache of ${this.root}: ${loaded.reason}`);
      return;
    }
    const { files, fused, indexPath, indexProblem, manifest } = loaded.generation;
    this.persistedHashes = new Set(files.flatMap((file) => file.chunks.map((chunk) => chunk.hash)));
    if (rebuild) return;
    // A chunk whose vector is gone cannot be re-embedded without its text: leave its file out, the next sync reads it again.
    const complete = files.filter((file) => file.chunks.every((chunk) => this.embeddings.has(chunk.hash)));
    if (complete.length < files.length) {
      log(`${files.length - complete.length} files lost their chunk vectors and will be re-read`);
    }
    const update = updateHierarchy(this.hierarchy, new Map(complete.map((file) => [file.path, file])));
    this.fusedVectors = fused;
    const missing = await this.fuseMissing(update.current);
    for (const [id, vector] of missing) this.fusedVectors.set(id, vector);
    this.hierarchy = update.hierarchy;
    for (const node of update.current) this.nodes.set(node.id, node);
    this.fusedVectors.retain((id) => this.nodes.has(id));
    let repaired = false;
    try {
      if (indexProblem) throw new Error(indexProblem);
      this.index = NodeIndex.load(indexPath, this.identity.embedder.dim, this.identity.storage, this.nodes.size);
    } catch (error) {
      log(
        `index of generation ${manifest.generation} unusable (${(error as Error).message}); rebuilding it from the stored vectors`,
      );
      this.index = new NodeIndex(this.identity.embedder.dim, this.identity.storage);
      this.index.add([...this.nodes.values()].map((node) => ({ id: node.id, vector: this.vectorOf(node) })));
      repaired = true;
    }
    // A repaired index is saved at the next save, so that the repair is not repeated on every start.
    this.dirty = repaired || missing.size > 0 || complete.length < files.length;
  }

  private vectorOf(node: HNode, pending?: ReadonlyMap<string, Float32Array>): Float32Array {
    const vector = node.contentHash
      ? this.embeddings.get(node.contentHash)
      : (pending?.get(node.id) ?? this.fusedVectors.get(node.id));
    if (!vector) throw new Error(`no vector for ${node.level} node ${node.id} (${node.path})`);
    return vector;
  }

  /** Before each model call of a run: the owner's pause (options.beforeModelWork), then the run's cancellation. */
  private async beforeModelWork(signal?: AbortSignal): Promise<void> {
    await this.options.beforeModelWork?.(signal);
    signal?.throwIfAborted();
  }

  /** Fuses, lowest first, every parent among `nodes` that has no vector yet. */
  private async fuseMissing(
    nodes: readonly HNode[],
    progress?: Progress,
    signal?: AbortSignal,
  ): Promise<Map<string, Float32Array>> {
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const nodeOf = (id: string) => byId.get(id) ?? this.nodes.get(id)!;
    const todo = nodes.filter((node) => !node.contentHash && !this.fusedVectors.has(node.id));
    const fused = new Map<string, Float32Array>();
    const heights = [...new Set(todo.map((node) => node.height))].sort((a, b) => a - b);
    for (const height of heights) {
      const layer = todo.filter((node) => node.height === height);
      await this.beforeModelWork(signal);
      const vectors = await this.fuser.fuse(
        layer.map((node) => node.children.map((id) => this.vectorOf(nodeOf(id), fused))),
      );
      layer.forEach((node, i) => fused.set(node.id, vectors[i]!));
      progress?.("fusing", fused.size, todo.length);
    }
    return fused;
  }

  /**
   * Brings the cache in line with the files on disk: the whole tree is read, only changes are
   * redone. `focus` (paths relative to the root, asked again before each batch): the files the
   * user looks at, read first with their neighbours.
   */
  sync(progress?: Progress, signal?: AbortSignal, focus?: () => Focus): Promise<RunReport> {
    return this.serialised(() => this.syncAll(progress, signal, focus));
  }

  /**
   * Refreshes the given paths (absolute or relative to the root): changed, added, deleted or
   * renamed (pass both names) files. Directories are not expanded; the watcher reports files.
   * A changed .gitignore or .git/info/exclude makes it a sync: any file may have been ignored or
   * un-ignored, and only a walk of the whole tree tells which.
   */
  refresh(paths: readonly string[], progress?: Progress, signal?: AbortSignal): Promise<RunReport> {
    const changed = paths.map((p) => this.relativePath(p)).filter((p) => p !== undefined);
    return this.serialised(() =>
      changed.some((path) => this.filter.isIgnoreFile(path))
        ? this.syncAll(progress, signal)
        : this.apply(changed, progress, signal),
    );
  }

  /**
   * Refreshes one file (absolute or relative to the root) from `text`, the editor's unsaved version,
   * instead of the disk: its chunks and nodes become the text's, under the rules a file read from
   * disk passes. The disk's version returns with the file's next refresh (on save or close).
   */
  refreshText(path: string, text: string, signal?: AbortSignal): Promise<RunReport> {
    const rel = this.relativePath(path);
    if (rel === undefined) return Promise.reject(new Error(`${path} is not inside ${this.root}`));
    const read = this.textReader(text);
    return this.serialised(() => this.apply([rel], undefined, signal, undefined, read));
  }

  /** Reads any path as `text` (null: deleted), as readFromDisk would read a file holding it. */
  private textReader(text: string | null): Reader {
    const maxBytes = this.options.discovery?.maxFileBytes;
    return async () => (text === null ? null : decodeSource(Buffer.from(text), maxBytes));
  }

  private async syncAll(progress?: Progress, signal?: AbortSignal, focus?: () => Focus): Promise<RunReport> {
    // The ignore files are part of what is on disk: read them again too.
    this.filter.invalidate();
    const walk = await walkSourceFiles(this.root, this.options.discovery, this.filter);
    // What the walk leaves out (links out of the folder, FIFOs, names that are not UTF-8...) is reported with what reading skips.
    for (const skip of walk.skipped)
      this.logSkip(skip.path, `${skip.reason}${skip.detail ? ` (${printable(skip.detail)})` : ""}`);
    const known = [...this.hierarchy.files.keys()];
    const report = await this.apply([...new Set([...walk.files, ...known])], progress, signal, focus);
    return {
      ...report,
      skipped: [...walk.skipped, ...report.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }

  private relativePath(path: string): string | undefined {
    const rel = isAbsolute(path) ? relative(this.root, path) : path;
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return undefined;
    return rel.split(sep).join("/");
  }

  private serialised<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Reads, embeds and commits the paths in batches: each batch is committed (and so searchable)
   * as soon as it is done, the focused files and their neighbours first, and the generation is
   * written every `persistMs`, so that a big first index is useful within seconds and a crash
   * resumes from the last batch written instead of from the first file.
   */
  private async apply(
    paths: readonly string[],
    progress?: Progress,
    signal?: AbortSignal,
    focus?: () => Focus,
    read: Reader = (path) => this.readFromDisk(path),
  ): Promise<RunReport> {
    const started = performance.now();
    const { batchMs = 5_000, persistMs = 60_000 } = this.options;
    let remaining = [...new Set(paths)];
    const total = remaining.length;
    const tally = new RunTally();
    let batchFiles = FIRST_BATCH_FILES;
    let persisted = performance.now();
    while (remaining.length > 0) {
      const { batch, rest } = nextBatch(remaining, focus?.() ?? NO_FOCUS, batchFiles);
      remaining = rest;
      const before = total - remaining.length - batch.length;
      const batchStarted = performance.now();
      const overall: Progress = (phase, done) =>
        progress?.(phase, before + (phase === "reading" ? done : batch.length), total);
      tally.add(await this.indexBatch(batch, read, overall, signal));
      batchFiles = nextBatchFiles(batch.length, performance.now() - batchStarted, batchMs);
      if (remaining.length > 0 && this.dirty && performance.now() - persisted >= persistMs) {
        // Vectors of files not reached yet may be in the embedding table from an interrupted run: keep them.
        await this.persist({ prune: false });
        persisted = performance.now();
      }
    }
    return {
      ...this.counts(),
      ...tally.report((id) => this.nodes.has(id)),
      ms: Math.round(performance.now() - started),
    };
  }

  /** One batch: read, chunk and embed what changed, fuse the new parents, then commit them all at once. */
  private async indexBatch(
    batch: readonly string[],
    read: Reader,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<BatchResult> {
    const prepared = await this.prepare(batch, read, progress, signal);
    signal?.throwIfAborted();
    const update = updateHierarchy(this.hierarchy, prepared.changes);
    const fused = await this.fuseMissing(update.added, progress, signal);
    signal?.throwIfAborted();
    this.commit(update, fused);
    if (prepared.changes.size > 0) this.dirty = true;
    return { prepared, removed: update.removed.length, fusedIds: [...fused.keys()] };
  }

  /** From here to the end nothing awaits, so no query sees a half-applied batch. */
  private commit(update: HierarchyUpdate, fused: ReadonlyMap<string, Float32Array>): void {
    this.index.remove(update.removed);
    this.index.add(update.added.map((node) => ({ id: node.id, vector: this.vectorOf(node, fused) })));
    for (const node of update.previous) this.nodes.delete(node.id);
    for (const node of update.current) this.nodes.set(node.id, node);
    for (const id of update.removed) this.fusedVectors.delete(id);
    for (const [id, vector] of fused) this.fusedVectors.set(id, vector);
    this.hierarchy = update.hierarchy;
  }

  private logSkip(path: string, why: string): void {
    if (this.skipsLogged.get(path) === why) return;
    this.skipsLogged.set(path, why);
    this.options.log(`skipped ${printable(path)}: ${why}`);
  }

  /**
   * A file's current text under the index's reading rules (a regular file that resolves inside the
   * root, within the size limit, UTF-8); undefined when it cannot be read. What completion reads
   * (rag's snippets, entity names) goes through here, so no path in the index leads outside the root.
   */
  async readText(path: string): Promise<string | undefined> {
    const read = await readSourceFile(this.root, path, this.options.discovery);
    return read.ok ? read.text : undefined;
  }

  /** A file as the index reads it; null when it is gone (a file that exists but cannot be read is skipped, not removed). */
  private async readFromDisk(path: string): Promise<ReadResult | null> {
    const read = await readSourceFile(this.root, path, this.options.discovery);
    return read.ok || existsSync(join(this.root, path)) ? read : null;
  }

  /**
   * Reads, chunks and embeds the given paths: the part of a run that changes nothing a query sees.
   * New vectors go into the embedding cache, which is keyed by content: holding more is never wrong,
   * and the next save drops what no file uses.
   */
  private async prepare(
    paths: readonly string[],
    read: Reader,
    progress?: Progress,
    signal?: AbortSignal,
  ): Promise<Prepared> {
    const { changes, chunks, skipped } = await this.readChanges(paths, read, progress, signal);
    const embedded = await this.embedNew(chunks, progress, signal);
    return { changes, chunks, skipped, embedded };
  }

  /** The changed files among `paths` (null: gone or now ignored) and their chunks; unchanged files are left out. */
  private async readChanges(
    paths: readonly string[],
    read: Reader,
    progress?: Progress,
    signal?: AbortSignal,
  ): Promise<Omit<Prepared, "embedded">> {
    const changes = new Map<string, FileEntry | null>();
    const chunks: Chunk[] = [];
    const skipped: SkippedFile[] = [];
    const unique = [...new Set(paths)];
    for (const [i, path] of unique.entries()) {
      // Reading a large tree takes tens of seconds: a cancelled rebuild must stop here too, not only while embedding.
      signal?.throwIfAborted();
      progress?.("reading", i + 1, unique.length);
      const indexed = this.hierarchy.files.get(path);
      if (this.filter.isIgnored(path, false) || !this.filter.isSourcePath(path)) {
        if (indexed) changes.set(path, null);
        continue;
      }
      const source = await read(path);
      if (source === null) {
        if (indexed) changes.set(path, null);
        continue;
      }
      if (!source.ok) {
        // The version already indexed stays: a file caught mid-write or turned binary loses nothing.
        skipped.push({ path, reason: source.reason, detail: source.detail });
        this.logSkip(path, `${source.reason}${source.detail ? ` (${printable(source.detail)})` : ""}`);
        continue;
      }
      this.skipsLogged.delete(path);
      const hash = contentHash(source.text);
      if (indexed?.entry.hash === hash) continue;
      const chunked = this.chunkFile(path, source.text);
      if (!chunked.ok) {
        skipped.push(chunked.skipped);
        continue;
      }
      // A file with nothing to index (empty, blank) that was not indexed before changes nothing: counting
      // it as a change wrote a new cache generation on every run.
      if (chunked.chunks.length === 0 && !indexed) continue;
      changes.set(path, {
        path,
        hash,
        chunks: chunked.chunks.map(({ hash, startLine, endLine, startByte, endByte, tokens }) => ({
          hash,
          startLine,
          endLine,
          startByte,
          endByte,
          tokens,
        })),
      });
      chunks.push(...chunked.chunks);
    }
    return { changes, chunks, skipped };
  }

  /** A file's chunks within the embedder's token budget; a file the chunker cannot handle is skipped (its previous version, if any, stays). */
  private chunkFile(path: string, text: string): { ok: true; chunks: Chunk[] } | { ok: false; skipped: SkippedFile } {
    const { embedder } = this.options;
    try {
      return {
        ok: true,
        chunks: this.chunker.chunkFile(path, text, (t) => embedder.countTokens(t), { maxTokens: embedder.maxTokens })
          .chunks,
      };
    } catch (error) {
      // One file the chunker cannot handle must not stop the index.
      const detail = oneLine(error).slice(0, 200);
      this.logSkip(path, `chunking failed (${printable(detail)})`);
      return { ok: false, skipped: { path, reason: "failed", detail } };
    }
  }

  /**
   * Embeds the chunks whose text has no vector yet, writing the embedding cache every `checkpointMs`
   * or `checkpointChunks` so that an interrupted run resumes there. Returns how many were embedded.
   */
  private async embedNew(chunks: readonly Chunk[], progress?: Progress, signal?: AbortSignal): Promise<number> {
    const { embedder, checkpointMs = 30_000, checkpointChunks = 2_000 } = this.options;
    const toEmbed = new Map<string, string>();
    for (const chunk of chunks) if (!this.embeddings.has(chunk.hash)) toEmbed.set(chunk.hash, chunk.text);
    let embedded = 0;
    let checkpoint = { at: performance.now(), embedded: 0 };
    for (const [hash, text] of toEmbed) {
      await this.beforeModelWork(signal);
      const [vector] = await embedder.embed([text]);
      this.embeddings.set(hash, vector!);
      embedded++;
      progress?.("embedding", embedded, toEmbed.size);
      const due =
        performance.now() - checkpoint.at >= checkpointMs || embedded - checkpoint.embedded >= checkpointChunks;
      if (due && embedded < toEmbed.size) {
        await this.checkpoint();
        checkpoint = { at: performance.now(), embedded };
      }
    }
    return embedded;
  }

  /**
   * What the hierarchy would become if the file at `path` (absolute or relative to the root) held
   * `text` (null: if it were deleted), without changing the cache: the view `hef eval` indexes for
   * a task whose target file is cut at the cursor, for many tasks without writing a file. The text
   * passes the rules a file read from disk passes; an ignored path changes nothing, as on disk.
   */
  preview(path: string, text: string | null): Promise<Preview> {
    const rel = this.relativePath(path);
    if (rel === undefined) return Promise.reject(new Error(`${path} is not inside ${this.root}`));
    return this.serialised(async () => {
      const { changes, chunks } = await this.prepare([rel], this.textReader(text));
      return {
        update: updateHierarchy(this.hierarchy, changes),
        chunks,
        vectors: chunks.map((chunk) => this.embeddings.get(chunk.hash)!),
      };
    });
  }

  private counts(): Pick<RunReport, "files" | "chunks" | "nodes" | "nodesPerLevel"> {
    const nodesPerLevel = countByLevel(this.nodes.values());
    return { files: this.hierarchy.files.size, chunks: nodesPerLevel.chunk, nodes: this.nodes.size, nodesPerLevel };
  }

  /**
   * The top k nodes for a query vector (Retriever.query embeds the text before a cursor into one). `accept` narrows the levels (rag retrieves chunks only);
   * the index is then searched wider until k accepted nodes are found or it has no more.
   */
  search(vector: Float32Array, k: number, accept?: (node: HNode) => boolean): RetrievedNode[] {
    const nodeOf = (id: string): HNode | undefined => {
      const node = this.nodes.get(id);
      return node && (!accept || accept(node)) ? node : undefined;
    };
    // Over-fetch: single-child parents repeating their child are dropped from the top k.
    for (let wanted = 2 * k + 8; ; wanted *= 4) {
      const hits = this.index.search(vector, wanted);
      const selected = selectHits(hits, nodeOf, k);
      if (selected.length === k || hits.length < wanted) return selected;
    }
  }

  node(id: string): HNode | undefined {
    return this.nodes.get(id);
  }

  /** The stored vector of a node (its chunk embedding, or what the fuser made of its children). */
  nodeVector(id: string): Float32Array {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id} in the cache of ${this.root}`);
    return this.vectorOf(node);
  }

  /**
   * Tokens (the embedder's count) of the source text under these nodes, each chunk counted once:
   * what injecting their raw text would cost instead of one pseudo-token each.
   */
  sourceTokens(ids: readonly string[]): number {
    const seen = new Set<string>();
    let tokens = 0;
    const visit = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      const node = this.nodes.get(id);
      if (!node) return;
      if (!node.contentHash) return node.children.forEach(visit);
      const chunk = this.hierarchy.files.get(node.path)?.entry.chunks.find((entry) => entry.hash === node.contentHash);
      tokens += chunk?.tokens ?? 0;
    };
    ids.forEach(visit);
    return tokens;
  }

  get stats(): Pick<RunReport, "files" | "chunks" | "nodes" | "nodesPerLevel"> {
    return this.counts();
  }

  /**
   * Writes the chunk vectors embedded so far, without waiting for a running refresh: what an
   * interrupted run (Ctrl-C, SIGTERM) keeps. Vectors are keyed by content, valid whatever state the
   * hierarchy is in, so the next run embeds only what is left.
   */
  async checkpoint(): Promise<void> {
    await this.store.exclusively(() => this.store.saveEmbeddings(this.identity.embedder.id, this.embeddings));
  }

  /** Persists the cache if anything changed since the last save; waits for a running refresh. */
  save(): Promise<void> {
    return this.serialised(() => this.persist({ prune: true }));
  }

  /** `prune`: drop the vectors no file uses (at the end of a run; mid-run, later files may still need them). */
  private async persist({ prune }: { prune: boolean }): Promise<void> {
    if (!this.dirty) return;
    const files = this.indexedFiles();
    const live = new Set(files.flatMap((file) => file.chunks.map((chunk) => chunk.hash)));
    // Embeddings are written first and the generation switched after: a process killed in
    // between still finds every vector the previous generation needs.
    if (prune) this.embeddings.retain((hash) => live.has(hash) || this.persistedHashes.has(hash));
    await this.store.exclusively(() => {
      this.store.saveEmbeddings(this.identity.embedder.id, this.embeddings);
      this.store.save(
        { ...this.identity, root: this.root, files: files.length, nodes: this.nodes.size },
        files,
        this.fusedVectors,
        (path) => this.index.save(path),
      );
    });
    this.persistedHashes = live;
    this.dirty = false;
  }

  /** The indexed files: each one's content hash and chunk spans (the chunks' text is in the files). */
  indexedFiles(): FileEntry[] {
    return [...this.hierarchy.files.values()].map((tree) => tree.entry);
  }

  /** Every node, for tests and tools that inspect the hierarchy. */
  allNodes(): HNode[] {
    return allNodes(this.hierarchy);
  }
}
