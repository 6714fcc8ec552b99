import { relative } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import * as vscode from "vscode";
import { createPathFilter, normalizeRel } from "../common/pathFilter";
import type { FilesChangedParams } from "../common/protocol";
import { folderExcludes } from "../common/excludes";
import { DebouncedChanges, type FileEvent } from "./changeBatch";

/** Excluded directories walked all the same, for the ignore file they hold (.git/info/exclude). */
const IGNORE_FILE_DIRS = new Set([".git", ".git/info"]);

/** Watches one workspace folder and sends its changes, debounced, as hef/filesChanged. */
export async function watchFolder(
  root: string,
  exclude: readonly string[],
  send: (params: FilesChangedParams) => void,
  log: vscode.LogOutputChannel,
): Promise<vscode.Disposable> {
  // Exactly what the folder's cache ignores, or the watcher reports files never indexed (or misses indexed ones).
  const filter = await createPathFilter(root, { exclude: folderExcludes(exclude) });
  let rulesChanged = false;
  const changes = new DebouncedChanges(root, (params) => {
    if (rulesChanged) {
      rulesChanged = false;
      // Chokidar chose the directories to watch when it walked the tree: only a new walk watches
      // those the new rules un-ignore. Once per batch, as a branch switch may touch many ignore files.
      void watcher.close();
      watcher = start();
    }
    send(params);
  });
  const record = (event: FileEvent) => (path: string) => {
    if (filter.isIgnoreFile(relative(root, path))) {
      filter.invalidate();
      rulesChanged = true;
    }
    // The sidecar gets ignore files too: it re-reads the rules and syncs the whole folder.
    changes.record(event, path);
  };
  const start = (): FSWatcher =>
    watch(root, {
      ignoreInitial: true,
      ignored: (path, stats) => {
        const rel = relative(root, path);
        if (rel === "" || filter.isIgnoreFile(rel) || IGNORE_FILE_DIRS.has(normalizeRel(rel) ?? "")) return false;
        // Without stats chokidar asks again once it knows; until then only the ignore rules can tell.
        if (!stats) return filter.isIgnored(rel, false);
        return stats.isDirectory() ? filter.isIgnored(rel, true) : !filter.accepts(rel);
      },
    })
      .on("add", record("add"))
      .on("change", record("change"))
      .on("unlink", record("unlink"))
      .on("error", (error) => log.warn(`watching ${root}: ${(error as Error).message}`));
  let watcher = start();
  return {
    dispose: () => {
      // A watcher going away needs no new walk, whatever its last batch holds.
      rulesChanged = false;
      changes.flush();
      void watcher.close();
    },
  };
}

/** One watcher per workspace folder, kept in line with the folders and the excludes. */
export class FolderWatchers implements vscode.Disposable {
  private readonly watchers = new Map<string, Promise<vscode.Disposable>>();

  constructor(
    private readonly send: (params: FilesChangedParams) => void,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Watches the current folders; `anew` restarts every watcher (the excludes changed). */
  async watch(exclude: readonly string[], anew = false): Promise<void> {
    const roots = new Set(
      (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath),
    );
    for (const [root, watcher] of this.watchers) {
      if (anew || !roots.has(root)) {
        this.watchers.delete(root);
        (await watcher).dispose();
      }
    }
    for (const root of roots) {
      if (this.watchers.has(root)) continue;
      this.watchers.set(
        root,
        watchFolder(root, exclude, this.send, this.log).catch((error: Error) => {
          this.log.warn(`not watching ${root}: ${error.message}`);
          return { dispose() {} };
        }),
      );
    }
  }

  dispose(): void {
    for (const watcher of this.watchers.values()) void watcher.then((w) => w.dispose());
    this.watchers.clear();
  }
}
