import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes a file so that a reader, or a process killed at any instant, sees either the old
 * content or the new, never a torn file: write a sibling temp file, flush it, rename over.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const temp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    writeFileDurably(temp, data);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(dirname(path));
}

/** Writes a file and flushes it to the disk before returning: what a rename may then publish. */
export function writeFileDurably(path: string, data: Uint8Array | string): void {
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
  syncDirectory(temp);
  const old = `${dir}.old-${process.pid}-${Date.now().toString(36)}`;
  const hadOld = existsSync(dir);
  if (hadOld) renameSync(dir, old);
  renameSync(temp, dir);
  syncDirectory(dirname(dir));
  if (hadOld) rmSync(old, { recursive: true, force: true });
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Moves a finished temp file (written by a library with its own writer) into place durably. */
export function renameDurably(temp: string, path: string): void {
  const fd = openSync(temp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDirectory(dirname(path));
}
