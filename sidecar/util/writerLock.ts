// One writer at a time across processes (a sidecar and a `hef index` on the same cache): a lock file
// created exclusively, holding the owner's pid. A lock whose owner is gone is taken over at once, as
// a process killed while saving (SIGKILL, a crash) leaves its lock behind. proper-lockfile judges
// staleness by age instead, which would make every writer after such a kill wait out the timeout.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface WriterLockOptions {
  /** Give up after this long (default 120 s) with an error naming the holder. */
  waitMs?: number;
  retryMs?: number;
}

function isAlive(pid: number): boolean {
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
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Runs `work` holding the lock file at `path`; waits while a live process holds it. */
export async function withWriterLock<T>(path: string, work: () => T | Promise<T>, options: WriterLockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 120_000;
  const retryMs = options.retryMs ?? 50;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryCreate(path)) break;
    const holder = holderOf(path);
    // No pid yet: the holder is between creating the file and writing to it; wait for it.
    if (holder !== undefined && holder !== process.pid && !isAlive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${path} is held by process ${holder ?? "(unknown)"}, still there after ${Math.round(waitMs / 1000)} s`);
    }
    await sleep(retryMs);
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
