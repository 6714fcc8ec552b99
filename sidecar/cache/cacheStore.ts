import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  renameDurably,
  syncDirectory,
  TEMP_FILE,
  writeFileAtomic,
  writeFileDurably,
  WriteError,
  writing,
} from "../util/atomicWrite";
import { printable } from "../util/printable";
import { isAlive, withWriterLock } from "../util/writerLock";
import type { FileEntry } from "./hierarchy";
import type { StorageType } from "./nodeIndex";
import { CACHE_TAG, CACHE_TAG_SIGNATURE, holdsCacheTag } from "../../common/pathFilter";
import { VectorTable } from "./vectorTable";

/**
 * The cache on disk. Each save writes a complete new generation folder, then switches the CURRENT
 * pointer with one atomic rename: a process killed at any instant leaves CURRENT naming a
 * complete generation. The embedding cache sits beside the generations, one file per embedder,
 * so a rebuild for any other reason (fuser, b, format) still never re-embeds a known chunk.
 */

export const FORMAT_VERSION = 1;

/** What a cache was built with: any difference from the models in use means a rebuild. */
export interface CacheIdentity {
  format: number;
  embedder: { id: string; dim: number; name: string };
  fuser: string;
  b: number;
  maxChunkTokens: number;
  storage: StorageType;
}

export interface Manifest extends CacheIdentity {
  generation: number;
  root: string;
  files: number;
  nodes: number;
  savedAt: string;
  /** SHA-256 of index.usearch: usearch trusts its file, and damaged bytes abort the process natively. */
  indexSha256: string;
}

export interface LoadedGeneration {
  manifest: Manifest;
  files: FileEntry[];
  fused: VectorTable;
  indexPath: string;
  /** Why index.usearch must not be handed to usearch (then it is rebuilt from the stored vectors). */
  indexProblem?: string;
}

export type LoadResult = { ok: true; generation: LoadedGeneration } | { ok: false; reason: string };

const CURRENT = "CURRENT";
/** The walk leaves a folder holding this out (pathFilter.ts): a cache put inside the indexed tree is never indexed itself. */
const CACHE_TAG_TEXT = `${CACHE_TAG_SIGNATURE}\n# This file is a cache directory tag created by HEF Code (hef-code).\n# For information about cache directory tags see https://bford.info/cachedir/\n`;
const FUSED_KEY_BYTES = 8;
const CONTENT_KEY_BYTES = 32;

/** Names the first field in which a cache differs from the identity in use, or undefined. */
export function identityMismatch(found: CacheIdentity, wanted: CacheIdentity): string | undefined {
  if (found.format !== wanted.format) return `format ${found.format}, this version writes ${wanted.format}`;
  if (found.embedder.id !== wanted.embedder.id || found.embedder.dim !== wanted.embedder.dim) {
    return `embedder ${found.embedder.name} (${found.embedder.id.slice(0, 12)}, d=${found.embedder.dim}), now ${wanted.embedder.name} (${wanted.embedder.id.slice(0, 12)}, d=${wanted.embedder.dim})`;
  }
  if (found.fuser !== wanted.fuser) return `fuser ${found.fuser}, now ${wanted.fuser}`;
  if (found.b !== wanted.b) return `branching factor ${found.b}, now ${wanted.b}`;
  if (found.maxChunkTokens !== wanted.maxChunkTokens)
    return `chunk budget ${found.maxChunkTokens}, now ${wanted.maxChunkTokens}`;
  if (found.storage !== wanted.storage) return `index storage ${found.storage}, now ${wanted.storage}`;
  return undefined;
}

function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function indexFileProblem(path: string, expected: string | undefined): string | undefined {
  if (typeof expected !== "string") return "the manifest has no checksum of it";
  try {
    return sha256Of(path) === expected ? undefined : "its checksum does not match the manifest";
  } catch (error) {
    return `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/**
 * A cache file's JSON. Damage is said without quoting the file: JSON.parse's message quotes the text
 * around the fault, and random bytes there put control characters into a terminal or the log.
 */
function readJson(path: string): unknown {
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${basename(path)} is not valid JSON`);
  }
}

const isCount = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;

/**
 * What is wrong with files.json's entries, if anything: valid JSON of another shape (`[null]`,
 * `[{"path": "x"}]`) would otherwise load and fail every later index and query.
 */
export function fileEntriesProblem(files: unknown): string | undefined {
  if (!Array.isArray(files)) return "not a list";
  for (const [i, file] of files.entries()) {
    const entry = file as Partial<FileEntry> | null;
    if (
      typeof entry !== "object" ||
      entry === null ||
      typeof entry.path !== "string" ||
      typeof entry.hash !== "string" ||
      !Array.isArray(entry.chunks)
    ) {
      return `entry ${i} is not {path, hash, chunks}`;
    }
    for (const chunk of entry.chunks as unknown[]) {
      const c = chunk as Record<string, unknown> | null;
      if (
        typeof c !== "object" ||
        c === null ||
        typeof c.hash !== "string" ||
        ![c.startLine, c.endLine, c.startByte, c.endByte, c.tokens].every(isCount)
      ) {
        return `entry ${i} (${printable(entry.path.slice(0, 200))}) has a malformed chunk`;
      }
    }
  }
  return undefined;
}

export class CacheStore {
  constructor(readonly dir: string) {}

  /**
   * Runs `write` as the only writer of this cache, across processes: two writers numbered the same
   * generation and renamed each other's files away (2 of 12 concurrent `hef index` runs failed).
   */
  async exclusively<T>(write: () => T): Promise<T> {
    this.create();
    return withWriterLock(join(this.dir, "write.lock"), () => {
      this.tag();
      try {
        this.removeLeftovers();
      } catch {
        // Tidying up is no reason to fail a save.
      }
      return write();
    });
  }

  /**
   * Creates the cache folder with its tag already in it (made aside and renamed into place), so that a
   * watcher of a tree the folder lies in never sees it untagged.
   */
  private create(): void {
    if (existsSync(this.dir)) return;
    writing(this.dir, () => {
      mkdirSync(dirname(this.dir), { recursive: true });
      const temp = `${this.dir}.tmp-${process.pid}-${Date.now().toString(36)}`;
      mkdirSync(temp);
      try {
        writeFileDurably(join(temp, CACHE_TAG), CACHE_TAG_TEXT);
        renameSync(temp, this.dir);
      } catch (error) {
        rmSync(temp, { recursive: true, force: true });
        // Another process made it meanwhile: that is as good.
        if (!existsSync(this.dir)) throw error;
      }
    });
  }

  /**
   * Marks the folder as a cache (CACHE_TAG), unless it is already (a damaged tag is written again).
   * Best effort: a save that cannot write it fails on its own files, with their names.
   */
  private tag(): void {
    try {
      if (!holdsCacheTag(this.dir, realpathSync(this.dir))) writeFileAtomic(join(this.dir, CACHE_TAG), CACHE_TAG_TEXT);
    } catch {
      // See above.
    }
  }

  /**
   * Removes what writers killed mid-save left behind: temp files (`*.tmp-<pid>-…`) of processes that
   * are gone, or of this one (its writes are synchronous and none is under way now), and generations
   * other than the current one (a save killed before its switch, or before it removed the previous
   * one). Runs only while holding the writer lock, so no other writer is at work; generations are
   * left alone unless CURRENT names a complete one.
   */
  private removeLeftovers(): void {
    const current = this.currentGeneration();
    const currentIsComplete = current !== undefined && existsSync(join(this.dir, current, "manifest.json"));
    for (const dir of [this.dir, join(this.dir, "embeddings")]) {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        const temp = TEMP_FILE.exec(entry);
        const stale = temp
          ? Number(temp[1]) === process.pid || !isAlive(Number(temp[1]))
          : dir === this.dir && currentIsComplete && /^gen-\d+$/.test(entry) && entry !== current;
        if (stale) rmSync(join(dir, entry), { recursive: true, force: true });
      }
    }
  }

  private embeddingsPath(embedderId: string): string {
    return join(this.dir, "embeddings", `${embedderId.slice(0, 32)}.bin`);
  }

  /** The persisted embedding cache of this embedder; a missing or damaged one is empty (and said). */
  loadEmbeddings(embedderId: string, dim: number): { table: VectorTable; problem?: string } {
    const path = this.embeddingsPath(embedderId);
    if (!existsSync(path)) return { table: new VectorTable(dim, CONTENT_KEY_BYTES) };
    try {
      return { table: VectorTable.parse(readFileSync(path), { dim, keyBytes: CONTENT_KEY_BYTES }) };
    } catch (error) {
      return { table: new VectorTable(dim, CONTENT_KEY_BYTES), problem: `${path}: ${(error as Error).message}` };
    }
  }

  saveEmbeddings(embedderId: string, table: VectorTable): void {
    try {
      writing(join(this.dir, "embeddings"), () => mkdirSync(join(this.dir, "embeddings"), { recursive: true }));
      writeFileAtomic(this.embeddingsPath(embedderId), table.serialize());
    } catch (error) {
      throw new WriteError(this.embeddingsPath(embedderId), error, "the chunk vectors saved before are kept");
    }
  }

  static emptyFusedTable(dim: number): VectorTable {
    return new VectorTable(dim, FUSED_KEY_BYTES);
  }

  static emptyEmbeddingTable(dim: number): VectorTable {
    return new VectorTable(dim, CONTENT_KEY_BYTES);
  }

  /** The generation CURRENT names; undefined when there is none, or CURRENT holds anything but a generation's name. */
  private currentGeneration(): string | undefined {
    try {
      const name = readFileSync(join(this.dir, CURRENT), "utf8").trim();
      // Damaged content must not lead the reads elsewhere ("../…").
      return /^gen-\d{6,12}$/.test(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }

  /** Loads the current generation if it was built with `identity`; otherwise says why not (any damage means a rebuild). */
  load(identity: CacheIdentity): LoadResult {
    // A cache written before caches were tagged: tagged now, before its repository is walked.
    if (existsSync(this.dir)) this.tag();
    const name = this.currentGeneration();
    if (!name)
      return {
        ok: false,
        reason: existsSync(join(this.dir, CURRENT)) ? `${join(this.dir, CURRENT)} names no generation` : "no cache yet",
      };
    const dir = join(this.dir, name);
    let manifest: Manifest;
    try {
      manifest = readJson(join(dir, "manifest.json")) as Manifest;
      if (typeof manifest !== "object" || manifest === null || typeof manifest.embedder !== "object") {
        throw new Error("manifest is not an object with an embedder");
      }
    } catch (error) {
      return { ok: false, reason: `manifest ${join(dir, "manifest.json")} is unreadable: ${(error as Error).message}` };
    }
    const mismatch = identityMismatch(manifest, identity);
    if (mismatch) return { ok: false, reason: `cache was built with ${mismatch}` };
    try {
      const files: unknown = readJson(join(dir, "files.json"));
      const problem = fileEntriesProblem(files);
      if (problem) throw new Error(`files.json: ${problem}`);
      const fused = VectorTable.parse(readFileSync(join(dir, "fused.bin")), {
        dim: identity.embedder.dim,
        keyBytes: FUSED_KEY_BYTES,
      });
      const indexPath = join(dir, "index.usearch");
      const indexProblem = indexFileProblem(indexPath, manifest.indexSha256);
      return {
        ok: true,
        generation: {
          manifest,
          files: files as FileEntry[],
          fused,
          indexPath,
          ...(indexProblem ? { indexProblem } : {}),
        },
      };
    } catch (error) {
      return { ok: false, reason: `generation ${name} is damaged: ${(error as Error).message}` };
    }
  }

  /**
   * Writes a new generation and makes it current. `writeIndex` saves the usearch index to the
   * path it is given (usearch writes its own files).
   */
  save(
    manifest: Omit<Manifest, "generation" | "savedAt" | "indexSha256">,
    files: FileEntry[],
    fused: VectorTable,
    writeIndex: (path: string) => void,
  ): Manifest {
    this.create();
    const previous = this.currentGeneration();
    const generation = (previous ? Number.parseInt(previous.slice(4), 10) || 0 : 0) + 1;
    const name = `gen-${String(generation).padStart(6, "0")}`;
    const dir = join(this.dir, name);
    let full: Manifest;
    try {
      rmSync(dir, { recursive: true, force: true });
      writing(dir, () => mkdirSync(dir));
      writeFileAtomic(join(dir, "files.json"), JSON.stringify(files));
      writeFileAtomic(join(dir, "fused.bin"), fused.serialize());
      const indexTemp = join(dir, "index.usearch.tmp");
      writing(indexTemp, () => writeIndex(indexTemp));
      full = { ...manifest, generation, savedAt: new Date().toISOString(), indexSha256: sha256Of(indexTemp) };
      renameDurably(indexTemp, join(dir, "index.usearch"));
      // The manifest goes last: a generation folder without one was never finished.
      writeFileAtomic(join(dir, "manifest.json"), JSON.stringify(full, null, 2));
      syncDirectory(dir);
      writeFileAtomic(join(this.dir, CURRENT), name);
    } catch (error) {
      // While CURRENT names the previous generation the unfinished one only takes space (on a full disk, the space needed).
      const switched = this.currentGeneration() === name;
      if (!switched) rmSync(dir, { recursive: true, force: true });
      const kept = switched
        ? `${name} is current but may not be on the disk yet`
        : previous
          ? `the previous cache (${previous}) is kept`
          : "no cache was saved";
      throw new WriteError(dir, error, kept);
    }
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith("gen-") && entry !== name) rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
    return full;
  }
}
