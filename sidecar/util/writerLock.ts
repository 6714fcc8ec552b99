// One writer at a time across processes (a sidecar and a `hef index` on the same cache): a lock file
// created exclusively, holding the owner's pid. A lock whose owner is gone is taken over at once, as
// a process killed while saving (SIGKILL, a crash) leaves its lock behind. proper-lockfile judges
// staleness by age instead, which would make every writer after such a kill wait out the timeout.
// Only a lock with no pid in it (its writer killed between creating it and writing to it) is judged
// by age: a live writer fills it within microseconds.
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { WriteError } from "./atomicWrite";

export interface WriterLockOptions {
  /** Give up after this long (default 120 s) with an error naming the holder. */
  waitMs?: number;
  retryMs?: number;
}

/** Whether a process with this pid exists (one of another user's counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function holderOf(path: string): number | undefined {
  try {
    // Only a pid and nothing else: damaged content such as "1x…" must not name a live process (init) that never releases it.
    const text = readFileSync(path, "utf8");
    const pid = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file without a pid this old was left by a writer killed between creating and filling it. */
const EMPTY_LOCK_STALE_MS = 5_000;

/**
 * Removes the stale lock `seen` (as stat saw it), and nothing else: two waiters may judge the same
 * lock stale at once, and the second must not remove the lock the first has taken meanwhile. The
 * lock is moved aside (one mover wins), and put back if it turns out to be another file.
 */
function removeStale(path: string, seen: { ino: number; dev: number }): void {
  const aside = `${path}.stale-${process.pid}-${Date.now().toString(36)}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // Gone already: someone else removed it.
  }
  const moved = statSync(aside);
  if (moved.ino !== seen.ino || moved.dev !== seen.dev) {
    try {
      linkSync(aside, path);
    } catch {
      // A third writer took the free path meanwhile: it holds the lock now.
    }
  }
  rmSync(aside, { force: true });
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new WriteError(path, error);
  }
  try {
    writeSync(fd, String(process.pid));
  } catch (error) {
    rmSync(path, { force: true });
    throw new WriteError(path, error);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Runs `work` holding the lock file at `path`; waits while a live process holds it. */
export async function withWriterLock<T>(
  path: string,
  work: () => T | Promise<T>,
  options: WriterLockOptions = {},
): Promise<T> {
  const waitMs = options.waitMs ?? 120_000;
  const retryMs = options.retryMs ?? 50;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryCreate(path)) break;
    let seen;
    try {
      seen = statSync(path);
    } catch {
      continue; // Released meanwhile.
    }
    const holder = holderOf(path);
    // No pid yet: the holder is between creating the file and writing to it; wait for it, unless that was long ago.
    const stale =
      holder === undefined
        ? Date.now() - seen.mtimeMs > EMPTY_LOCK_STALE_MS
        : holder !== process.pid && !isAlive(holder);
    if (stale) {
      removeStale(path, seen);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${path} is held by process ${holder ?? "(unknown)"}, still there after ${Math.round(waitMs / 1000)} s`,
      );
    }
    await sleep(retryMs);
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
