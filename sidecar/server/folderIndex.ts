import { isAbsolute, relative, sep } from "node:path";
import type { HefCache, Phase, RunReport } from "../cache/hefCache";
import type { CompletionEngine, RepositoryOptions } from "../completion/types";
import type { CompleteParams, CompleteResult, FolderState, FolderStatus, RebuildResult } from "../../common/protocol";
import { focusWithImports } from "../cache/imports";
import { type Focus, NO_FOCUS } from "../cache/indexOrder";
import { oneLine } from "../util/errorText";
import type { TextAtCursor } from "./documents";
import { toCompletion } from "./wire";
import { printable } from "../util/printable";

export type FolderRebuild = RebuildResult["folders"][number];

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

/** "a.py, lib/b.py and 3 more": which files a refresh was about, short enough for one log line. */
export function namedPaths(root: string, paths: readonly string[], shown = 3): string {
  const names = paths.slice(0, shown).map((path) => printable(relative(root, path).split(sep).join("/")));
  const more = paths.length - names.length;
  return more > 0 ? `${names.join(", ")} and ${more} more` : names.join(", ");
}

/** Time left at the pace so far; none until a few seconds and files give a pace worth quoting. */
export function estimateMs(elapsedMs: number, done: number, total: number): number | undefined {
  if (elapsedMs < 3_000 || done < 1 || done >= total) return undefined;
  return Math.round((elapsedMs * (total - done)) / done);
}

/**
 * The cache of one workspace folder and everything that changes it. Index runs (the first sync,
 * refreshes, rebuilds) run one at a time; file changes that arrive while one runs are gathered
 * into the single next refresh, so a branch switch costs one run, not one per batch.
 * Completions are served from the current cache meanwhile; a rebuild swaps in its new cache only
 * once it is complete and saved.
 */
export class FolderIndex {
  private state: FolderState = "waiting";
  private progress: FolderStatus["progress"];
  private error: string | undefined;
  private cache: HefCache | undefined;
  /** A rebuild's new cache while it is built (the old one serves meanwhile). */
  private building: HefCache | undefined;
  private indexed = false;
  private runs: Promise<unknown> = Promise.resolve();
  private running: AbortController | undefined;
  private readonly pending = new Set<string>();
  private refreshQueued = false;
  private closed = false;
  /** The files the user has in view and what they import, relative to the root: an index run reads them first. */
  private focused: Focus = NO_FOCUS;
  /** Files (absolute) whose cache entry is the editor's unsaved text, not the disk's. */
  private readonly unsavedIndexed = new Set<string>();

  constructor(
    readonly root: string,
    private readonly engine: CompletionEngine,
    private readonly repository: Omit<RepositoryOptions, "rebuild">,
    /** Called whenever status() would answer something else; the server throttles it. */
    private readonly changed: (urgent: boolean) => void,
    private readonly log: (line: string) => void,
    /** Called when a refresh changed what the index holds (a saved file, the editor's unsaved text). */
    private readonly indexChanged: () => void = () => undefined,
  ) {}

  status(): FolderStatus {
    const stats = this.cache?.stats;
    return {
      root: this.root,
      state: this.state,
      ...(this.progress ? { progress: this.progress } : {}),
      files: stats?.files ?? 0,
      nodes: stats?.nodes ?? 0,
      nodesPerLevel: stats?.nodesPerLevel ?? { chunk: 0, file: 0, module: 0, repo: 0 },
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Opens the persisted cache and brings it up to date with the disk (the first index when there is none). */
  index(): Promise<void> {
    return this.exclusive(async (signal) => {
      try {
        this.cache = await this.engine.openRepository(this.root, this.repository);
        const resumed = this.cache.stats.files > 0;
        const report = await this.run((progress) => this.cache!.sync(progress, signal, () => this.focused));
        this.indexed = true;
        const changed = resumed ? `; ${report.changedFiles} changed since the last run` : "";
        const skipped = report.skipped.length > 0 ? `; ${report.skipped.length} skipped (see above)` : "";
        this.log(
          `${this.root}: indexed ${report.files} files, ${report.nodes} nodes in ${report.ms} ms${changed}${skipped}`,
        );
        await this.cache.save();
        this.settle();
      } catch (error) {
        this.settle(error);
      }
    });
  }

  /** The files (absolute paths) the user has in view; a run in progress takes them up at its next batch. */
  focus(paths: readonly string[]): void {
    const inside = paths
      .map((path) => relative(this.root, path))
      .filter((rel) => rel !== "" && !rel.startsWith("..") && !isAbsolute(rel));
    const inView = new Set(inside.map((rel) => rel.split(sep).join("/")));
    this.focused = { inView, imported: new Set() };
    focusWithImports(this.root, inView)
      .then((focus) => {
        if (this.focused.inView === inView) this.focused = focus;
      })
      .catch((error: unknown) => this.log(`${this.root}: reading the files in view failed: ${oneLine(error)}`));
  }

  /** Paths (absolute) of changed, added or deleted files (a rename is both names); refreshed in the next run. */
  filesChanged(paths: readonly string[]): void {
    for (const path of paths) {
      this.pending.add(path);
      this.unsavedIndexed.delete(path);
    }
    if (this.refreshQueued || this.pending.size === 0 || this.closed) return;
    this.refreshQueued = true;
    void this.exclusive(async (signal) => {
      this.refreshQueued = false;
      const paths = [...this.pending];
      this.pending.clear();
      const cache = this.cache;
      if (!cache) return;
      try {
        // A refresh is not an indexing run: the cache serves throughout, so the status stays as it is and only the log hears of it.
        const report = await cache.refresh(paths, undefined, signal);
        this.log(
          `${this.root}: refreshed ${namedPaths(this.root, paths)} in ${report.ms} ms (${report.changedFiles} changed, ${report.embedded} chunks embedded)`,
        );
        if (report.changedFiles > 0) this.indexChanged();
        await cache.save();
        this.settle();
      } catch (error) {
        this.settle(error);
      }
    });
  }

  /**
   * Indexes the editor's unsaved text of one file (absolute path) in place of the disk's
   * (unsavedEdits.ts decides when), after the run in progress (a first index: a document opened
   * meanwhile is indexed once it is done). The disk's version comes back with the file's next
   * refresh, and on close. Never rejects: a failure is logged.
   */
  refreshText(path: string, text: string, signal: AbortSignal): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.exclusive(async (own) => {
      const cache = this.cache;
      if (!cache) return;
      try {
        const report = await cache.refreshText(path, text, AbortSignal.any([signal, own]));
        if (report.changedFiles === 0) return;
        this.unsavedIndexed.add(path);
        this.log(
          `${this.root}: refreshed ${namedPaths(this.root, [path])} from the editor's unsaved text in ${report.ms} ms (${report.embedded} chunks embedded)`,
        );
        this.indexChanged();
      } catch (error) {
        if (!isAbort(error))
          this.log(
            `${this.root}: indexing the unsaved text of ${namedPaths(this.root, [path])} failed: ${oneLine(error)}`,
          );
      }
    });
  }

  /** The editor closed the document: where its unsaved text was indexed, the disk's comes back. */
  documentClosed(path: string): void {
    if (this.unsavedIndexed.has(path)) this.filesChanged([path]);
  }

  /** Builds the cache anew (chunk vectors are reused); the signal cancels it and keeps the old cache. */
  rebuild(signal: AbortSignal): Promise<FolderRebuild> {
    // A rebuild redoes whatever runs now: a first index or a refresh need not finish first.
    this.running?.abort();
    return this.exclusive(async (own) => {
      const both = AbortSignal.any([signal, own]);
      const started = performance.now();
      try {
        both.throwIfAborted();
        const fresh = await this.engine.openRepository(this.root, { ...this.repository, rebuild: true });
        this.building = fresh;
        const report = await this.run((progress) => fresh.sync(progress, both, () => this.focused)).finally(
          () => (this.building = undefined),
        );
        await fresh.save();
        this.cache = fresh;
        this.indexed = true;
        this.log(`${this.root}: rebuilt, ${report.files} files, ${report.nodes} nodes in ${report.ms} ms`);
        this.settle();
        return {
          root: this.root,
          files: report.files,
          nodes: report.nodes,
          ms: Math.round(performance.now() - started),
        };
      } catch (error) {
        this.settle(error);
        const stats = this.cache?.stats;
        return {
          root: this.root,
          files: stats?.files ?? 0,
          nodes: stats?.nodes ?? 0,
          ms: Math.round(performance.now() - started),
          error: isAbort(error) ? "cancelled" : oneLine(error),
        };
      }
    });
  }

  /** Completes `text` (cut from the synced document) with the request's settings. */
  async complete(params: CompleteParams, text: TextAtCursor, signal: AbortSignal): Promise<CompleteResult> {
    // A first index commits as it goes, the files in view first: what is there already serves.
    if (!this.cache || (this.cache.stats.files === 0 && !params.force)) {
      const reason =
        this.state === "failed" ? `${this.root}: ${this.error}` : `${this.root} is being indexed for the first time`;
      return { kind: "notReady", reason };
    }
    const result = await this.engine.complete(this.cache, {
      path: relative(this.root, text.path).split(sep).join("/"),
      prefix: text.prefix,
      suffix: text.suffix,
      mode: params.mode,
      k: params.k,
      maxTokens: params.maxTokens,
      singleLine: params.singleLine,
      entities: params.entities,
      signal,
    });
    return toCompletion(result, this.root);
  }

  /** Writes the chunk vectors embedded so far by the cache being built (a signal's exit), without waiting for the run. */
  checkpoint(): Promise<void> {
    return (this.building ?? this.cache)?.checkpoint() ?? Promise.resolve();
  }

  /** Stops what runs, waits for it, and persists what is done. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    this.running?.abort();
    await this.runs;
    // The editor's unsaved text is no file: the cache written keeps what is on disk.
    if (this.unsavedIndexed.size > 0)
      await this.cache
        ?.refresh([...this.unsavedIndexed])
        .catch((error: unknown) => this.log(`${this.root}: reading the saved files back failed: ${oneLine(error)}`));
    await this.cache?.save().catch((error: unknown) => this.log(`${this.root}: saving failed: ${oneLine(error)}`));
  }

  private exclusive<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const next = this.runs.then(async () => {
      const controller = new AbortController();
      if (this.closed) controller.abort();
      this.running = controller;
      try {
        return await run(controller.signal);
      } finally {
        this.running = undefined;
      }
    });
    this.runs = next.catch(() => undefined);
    return next;
  }

  private async run(
    work: (progress: (phase: Phase, done: number, total: number) => void) => Promise<RunReport>,
  ): Promise<RunReport> {
    this.state = "indexing";
    this.changed(true);
    const started = performance.now();
    return work((phase, done, total) => {
      const etaMs = estimateMs(performance.now() - started, done, total);
      this.progress = { phase, done, total, ...(etaMs === undefined ? {} : { etaMs }) };
      this.changed(false);
    });
  }

  /** Back to rest after a run: ready when there is a usable cache, failed (with the reason) otherwise. */
  private settle(error?: unknown): void {
    this.progress = undefined;
    if (error === undefined) this.error = undefined;
    else if (isAbort(error)) this.log(`${this.root}: cancelled`);
    else {
      this.error = oneLine(error);
      this.log(`${this.root}: ${this.error}`);
    }
    // A failed refresh leaves the last good cache serving: the folder stays ready, with the error shown.
    this.state = this.indexed ? "ready" : error !== undefined && !isAbort(error) ? "failed" : "waiting";
    this.changed(true);
  }
}
