import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** What a failed write means to a user, by error code, and what to do about it. */
const WRITE_FAILURES: Record<string, [what: string, todo: string]> = {
  ENOSPC: ["no space left on device", "free some space"],
  EDQUOT: ["disk quota exceeded", "free some space or raise the quota"],
  EFBIG: ["file too large for the file system", "choose a folder on another disk"],
  EACCES: ["permission denied", "make the folder writable or choose another one"],
  EPERM: ["operation not permitted", "make the folder writable or choose another one"],
  EROFS: ["read-only file system", "choose a folder on a writable disk"],
  ENAMETOOLONG: ["path too long", "choose a folder with a shorter path"],
  EMFILE: ["too many open files", "close some programs or raise the limit (ulimit -n)"],
  ENFILE: ["too many open files in the system", "close some programs"],
  EIO: ["input/output error", "check the disk"],
};

/**
 * A write that failed, naming the file and what to do: Node's own message for a full disk during a
 * write is "ENOSPC: no space left on device, write", which names no file.
 */
export class WriteError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    cause: unknown,
    /** What the caller adds: what was kept, where the folder is set. */
    context?: string,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const known = code === undefined ? undefined : WRITE_FAILURES[code];
    const first = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0]!.trim();
    const base =
      cause instanceof WriteError
        ? cause.message
        : known
          ? `${known[0]} writing ${path}: ${known[1]}`
          : `writing ${path} failed: ${first}`;
    super(context ? `${base}; ${context}` : base, { cause });
    this.name = "WriteError";
    this.code = code;
  }
}

/** Runs `write`; an error it throws becomes a WriteError naming `path` (one already naming its file is kept). */
export function writing<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw error instanceof WriteError ? error : new WriteError(path, error);
  }
}

/** `.tmp-<pid>-<time>`: the suffix of writeFileAtomic's temp files, with the writer's pid. */
export const TEMP_FILE = /\.tmp-(\d+)-[0-9a-z]+$/;

/**
 * Writes a file so that a reader, or a process killed at any instant, sees either the old
 * content or the new, never a torn file: write a sibling temp file, flush it, rename over.
 * A failure throws a WriteError naming `path`; the old content stays.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const temp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  writing(path, () => {
    try {
      writeDurably(temp, data);
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    fsyncDirectory(dirname(path));
  });
}

/** Writes a file and flushes it to the disk before returning: what a rename may then publish. */
export function writeFileDurably(path: string, data: Uint8Array | string): void {
  writing(path, () => writeDurably(path, data));
}

function writeDurably(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a finished folder (its files written durably) at `dir`, replacing what was there. A reader,
 * or a process killed at any instant, finds the old folder, the new one, or none, never a mix:
 * a folder cannot be renamed over a non-empty one, so the old one is moved aside first (to
 * `<dir>.old-…`, which a process killed at the wrong instant leaves behind).
 */
export function replaceDirectory(temp: string, dir: string): void {
  writing(dir, () => {
    fsyncDirectory(temp);
    const old = `${dir}.old-${process.pid}-${Date.now().toString(36)}`;
    const hadOld = existsSync(dir);
    if (hadOld) renameSync(dir, old);
    renameSync(temp, dir);
    fsyncDirectory(dirname(dir));
    if (hadOld) rmSync(old, { recursive: true, force: true });
  });
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
export function syncDirectory(dir: string): void {
  writing(dir, () => fsyncDirectory(dir));
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Moves a finished temp file (written by a library with its own writer) into place durably. */
export function renameDurably(temp: string, path: string): void {
  writing(path, () => {
    const fd = openSync(temp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    fsyncDirectory(dirname(path));
  });
}
