/**
 * Finds and reads the text source files of a repository. Which paths count is the PathFilter's
 * decision; reading applies the content rules (size, binary, UTF-8). Nothing here throws for a
 * bad file: it is skipped with a reason.
 */
import { isUtf8 } from "node:buffer";
import type { Dirent } from "node:fs";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { isInside } from "../../common/paths";
import {
  createPathFilter,
  DEFAULT_MAX_FILE_BYTES,
  normalizeRel,
  type DiscoveryOptions,
  type PathFilter,
} from "../../common/pathFilter";

/**
 * Why a file was left out. "symlink": a link that escapes the root, loops, dangles or duplicates a listed
 * path, or a path through such a link; "invalid-utf8": the content or the name is not UTF-8;
 * "unreadable": no permission, not a regular file (a FIFO, a device), a directory that cannot be opened, or a
 * path longer than the system allows; "failed": read, but chunking it threw (the index goes on without it).
 */
export type SkipReason = "binary" | "too-large" | "invalid-utf8" | "unreadable" | "symlink" | "failed";

export interface SkippedFile {
  /** Repository-relative POSIX path (a name that is not UTF-8 with its other bytes as \\xHH). */
  path: string;
  reason: SkipReason;
  detail?: string;
}

export type ReadResult = { ok: true; text: string; bytes: number } | { ok: false; reason: SkipReason; detail: string };

function errorCode(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ?? (e?.message || String(error));
}

function toPosix(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}

/**
 * Paths at least this long (bytes) are checked against the system's limit before they are listed
 * (Linux allows 4,095, macOS 1,023): one lstat each, and only for them.
 */
const LONG_PATH_BYTES = 1000;

/** Why a path cannot be opened, for a skip's detail: a path over the system's limit says so. */
function unreadableDetail(error: unknown, absPath: string): string {
  const code = errorCode(error);
  return code === "ENAMETOOLONG" ? `path too long for the system (${Buffer.byteLength(absPath)} bytes)` : code;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A name that is not valid UTF-8, readable: its valid characters as they are, every other byte as \xHH. */
export function escapedName(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length) {
      try {
        out += utf8.decode(bytes.subarray(i, i + length));
        i += length;
        continue;
      } catch {
        // Not a character: the byte is escaped below.
      }
    }
    out += `\\x${b.toString(16).padStart(2, "0")}`;
    i++;
  }
  return out;
}

/** What kind of thing a directory entry is, when it is neither a file, a directory nor a link. */
function specialKind(entry: Dirent<Buffer>): string {
  if (entry.isFIFO()) return "a FIFO";
  if (entry.isSocket()) return "a socket";
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return "a device";
  return "not a regular file";
}

export interface WalkResult {
  /** Repository-relative POSIX paths of candidate source files, sorted. Their content is not checked yet. */
  files: string[];
  /**
   * Entries left out while walking, each with its reason: symlinks that escape, loop, dangle or duplicate;
   * unreadable directories; paths longer than the system allows; names that are not UTF-8 (the path shows
   * their other bytes as \xHH); FIFOs, sockets and devices. Only entries that would otherwise have been
   * indexed: ignored and non-source paths are left out silently.
   */
  skipped: SkippedFile[];
}

/**
 * Walks the tree under root, applying the PathFilter. Symbolic links are followed when their target is inside
 * the root and not already listed (otherwise skipped with reason "symlink"). Never throws for entries inside
 * the tree; throws only when the root itself cannot be read.
 */
export async function walkSourceFiles(
  root: string,
  options: DiscoveryOptions = {},
  filter?: PathFilter,
): Promise<WalkResult> {
  const pathFilter = filter ?? (await createPathFilter(root, options));
  const absRoot = pathFilter.root;
  const realRoot = await realpath(absRoot);
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  /** Real paths of the directories walked. */
  const visited = new Set<string>([realRoot]);
  const linkedDirs: Array<{ rel: string; real: string; parentReal: string }> = [];
  const linkedFiles: Array<{ rel: string; real: string }> = [];

  /** Whether a file's path is within the system's limit; if not, it is skipped with the reason. */
  const openable = async (rel: string): Promise<boolean> => {
    const abs = join(absRoot, rel);
    if (Buffer.byteLength(abs) < LONG_PATH_BYTES) return true;
    try {
      await lstat(abs);
      return true;
    } catch (error) {
      skipped.push({ path: rel, reason: "unreadable", detail: unreadableDetail(error, abs) });
      return false;
    }
  };

  const walkDir = async (relDir: string, realDir: string): Promise<void> => {
    const absDir = join(absRoot, relDir);
    let entries: Dirent<Buffer>[];
    try {
      // Names as bytes: a name that is not UTF-8 would otherwise come back with U+FFFD in place of its bytes,
      // a path that does not exist, and the file would vanish without a word.
      entries = await readdir(absDir, { withFileTypes: true, encoding: "buffer" });
    } catch (error) {
      if (relDir === "") throw error;
      skipped.push({ path: relDir, reason: "unreadable", detail: unreadableDetail(error, absDir) });
      return;
    }
    const named = entries.map((entry) => {
      const valid = isUtf8(entry.name);
      return { entry, valid, name: valid ? entry.name.toString("utf8") : escapedName(entry.name) };
    });
    named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const { entry, valid, name } of named) {
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      if (!valid) {
        if (entry.isDirectory() ? !pathFilter.isIgnored(rel, true) : pathFilter.accepts(rel)) {
          const what = entry.isDirectory()
            ? "the folder's name is not UTF-8: nothing under it is indexed"
            : "the name is not UTF-8";
          skipped.push({ path: rel, reason: "invalid-utf8", detail: what });
        }
      } else if (entry.isDirectory()) {
        if (!pathFilter.isIgnored(rel, true)) subdirs.push(name);
      } else if (entry.isFile()) {
        if (pathFilter.accepts(rel) && (await openable(rel))) files.push(rel);
      } else if (entry.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(join(absRoot, rel));
        } catch (error) {
          // Dangling link or a loop (ELOOP): only report those that would have been indexed.
          if (pathFilter.accepts(rel))
            skipped.push({ path: rel, reason: "symlink", detail: `cannot resolve: ${errorCode(error)}` });
          continue;
        }
        let info;
        try {
          info = await stat(real);
        } catch (error) {
          if (pathFilter.accepts(rel))
            skipped.push({ path: rel, reason: "unreadable", detail: unreadableDetail(error, real) });
          continue;
        }
        if (info.isDirectory()) {
          if (pathFilter.isIgnored(rel, true)) continue;
          if (!isInside(realRoot, real))
            skipped.push({ path: rel, reason: "symlink", detail: "directory outside the root" });
          else linkedDirs.push({ rel, real, parentReal: realDir });
        } else if (pathFilter.accepts(rel)) {
          if (!isInside(realRoot, real))
            skipped.push({
              path: rel,
              reason: "symlink",
              detail: info.isFile() ? "file outside the root" : "leads outside the root",
            });
          else if (!info.isFile())
            skipped.push({ path: rel, reason: "unreadable", detail: "links to something that is not a regular file" });
          else if (await openable(rel)) linkedFiles.push({ rel, real });
        }
      } else if (pathFilter.accepts(rel)) {
        skipped.push({ path: rel, reason: "unreadable", detail: specialKind(entry) });
      }
    }
    for (const name of subdirs) {
      const real = join(realDir, name);
      visited.add(real);
      await walkDir(relDir === "" ? name : `${relDir}/${name}`, real);
    }
  };

  await walkDir("", realRoot);
  // Linked directories after the real ones, so that a real path wins over a link to it.
  for (let i = 0; i < linkedDirs.length; i++) {
    const { rel, real, parentReal } = linkedDirs[i]!;
    if (visited.has(real) || isInside(real, parentReal)) {
      const detail = isInside(real, parentReal)
        ? "points to an ancestor (loop)"
        : `duplicate of ${toPosix(relative(realRoot, real)) || "."}`;
      skipped.push({ path: rel, reason: "symlink", detail });
      continue;
    }
    visited.add(real);
    await walkDir(rel, real);
  }
  const listed = new Set(files);
  for (const { rel, real } of linkedFiles) {
    const target = toPosix(relative(realRoot, real));
    if (listed.has(target)) skipped.push({ path: rel, reason: "symlink", detail: `duplicate of ${target}` });
    else files.push(rel);
  }
  files.sort();
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

/** Repository-relative POSIX paths of the source files under root, sorted (content not checked). */
export async function listSourceFiles(root: string, options: DiscoveryOptions = {}): Promise<string[]> {
  return (await walkSourceFiles(root, options)).files;
}

/**
 * Reads one file as UTF-8 text (a leading BOM removed). Skips, without throwing: files over maxFileBytes, binary
 * files (a NUL byte in the first 8 KiB), invalid UTF-8, anything unreadable (missing, permissions, not a regular
 * file, a path that resolves outside the root).
 */
export async function readSourceFile(
  root: string,
  relPath: string,
  options: DiscoveryOptions = {},
): Promise<ReadResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const rel = normalizeRel(relPath);
  if (rel === undefined || rel === "") return { ok: false, reason: "unreadable", detail: "not a path inside the root" };
  const absRoot = resolve(root);
  const abs = join(absRoot, rel);
  let buffer: Buffer;
  try {
    // Any component may be a link (a directory linked out of the tree, then a file under it), not only
    // the last: the whole path is resolved, checked, and the resolved path is what is read.
    const [real, realRoot] = await Promise.all([realpath(abs), realpath(absRoot)]);
    if (!isInside(realRoot, real)) return { ok: false, reason: "symlink", detail: "resolves outside the root" };
    const info = await stat(real);
    if (!info.isFile()) return { ok: false, reason: "unreadable", detail: "not a regular file" };
    if (info.size > maxBytes) return { ok: false, reason: "too-large", detail: `${info.size} bytes > ${maxBytes}` };
    buffer = await readFile(real);
  } catch (error) {
    return { ok: false, reason: "unreadable", detail: unreadableDetail(error, abs) };
  }
  return decodeSource(buffer, maxBytes);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The content rules of readSourceFile (size, binary, UTF-8, a leading BOM removed) on bytes already read. */
export function decodeSource(buffer: Uint8Array, maxBytes = DEFAULT_MAX_FILE_BYTES): ReadResult {
  if (buffer.length > maxBytes)
    return { ok: false, reason: "too-large", detail: `${buffer.length} bytes > ${maxBytes}` };
  const head = buffer.subarray(0, 8192);
  const nul = head.indexOf(0);
  if (nul !== -1) return { ok: false, reason: "binary", detail: `NUL byte at offset ${nul}` };
  try {
    return { ok: true, text: decoder.decode(buffer), bytes: buffer.length };
  } catch {
    return { ok: false, reason: "invalid-utf8", detail: "not valid UTF-8" };
  }
}

export interface DiscoveryResult {
  /** Readable text source files, sorted. */
  files: string[];
  skipped: SkippedFile[];
  /** skipped, counted by reason. */
  counts: Record<SkipReason, number>;
}

/**
 * Walks and reads every candidate (8 at a time) to find the text source files; what the indexer does in one go
 * is walkSourceFiles + readSourceFile per file, which avoids reading twice.
 */
export async function discoverSourceFiles(root: string, options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const walk = await walkSourceFiles(root, options);
  const ok = new Array<boolean>(walk.files.length).fill(false);
  const skipped = [...walk.skipped];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < walk.files.length) {
      const i = next++;
      const path = walk.files[i]!;
      const read = await readSourceFile(root, path, options);
      if (read.ok) ok[i] = true;
      else skipped.push({ path, reason: read.reason, detail: read.detail });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts: Record<SkipReason, number> = {
    binary: 0,
    "too-large": 0,
    "invalid-utf8": 0,
    unreadable: 0,
    symlink: 0,
    failed: 0,
  };
  for (const s of skipped) counts[s.reason]++;
  return { files: walk.files.filter((_, i) => ok[i]), skipped, counts };
}
