// File-system events of one workspace folder, folded into one hef/filesChanged per quiet period.
// Pure (timers aside) so the folding rules are tested without a file system or an editor.
import type { FilesChangedParams } from "../common/protocol";

export type FileEvent = "add" | "change" | "unlink";
type Net = "added" | "changed" | "deleted";

/**
 * What one path amounts to after a second event within the same batch. A file created and deleted
 * in between reports nothing; deleted and recreated is a change.
 */
function fold(before: Net | undefined, event: FileEvent): Net | undefined {
  if (event === "unlink") return before === "added" ? undefined : "deleted";
  if (event === "add") return before === "deleted" || before === "changed" ? "changed" : "added";
  return before === "added" ? "added" : "changed";
}

/** The net effect of a sequence of events, keyed by absolute path. */
export class ChangeBatch {
  private readonly paths = new Map<string, Net>();

  record(event: FileEvent, path: string): void {
    const net = fold(this.paths.get(path), event);
    if (net) this.paths.set(path, net);
    else this.paths.delete(path);
  }

  get size(): number {
    return this.paths.size;
  }

  /** The batch as the sidecar receives it, emptying it (chokidar reports a rename as an unlink and an add). */
  take(root: string): FilesChangedParams {
    const of = (net: Net) => [...this.paths].filter(([, n]) => n === net).map(([path]) => path);
    const params = { root, changed: of("changed"), added: of("added"), deleted: of("deleted") };
    this.paths.clear();
    return params;
  }
}

export interface DebounceTiming {
  /** Flush after this long without events. */
  quietMs: number;
  /** Flush at the latest this long after the first event of a batch, however busy the disk. */
  maxMs: number;
}

export const WATCH_TIMING: DebounceTiming = { quietMs: 300, maxMs: 2000 };

/** Collects events and sends each batch once it goes quiet (or is old enough): a branch switch is one batch. */
export class DebouncedChanges {
  private readonly batch = new ChangeBatch();
  private quiet: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly root: string,
    private readonly send: (params: FilesChangedParams) => void,
    private readonly timing: DebounceTiming = WATCH_TIMING,
  ) {}

  record(event: FileEvent, path: string): void {
    this.batch.record(event, path);
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.flush(), this.timing.quietMs);
    this.deadline ??= setTimeout(() => this.flush(), this.timing.maxMs);
  }

  /** Sends what is gathered now (if anything). */
  flush(): void {
    clearTimeout(this.quiet);
    clearTimeout(this.deadline);
    this.quiet = this.deadline = undefined;
    if (this.batch.size > 0) this.send(this.batch.take(this.root));
  }
}
