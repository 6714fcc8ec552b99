import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { renameDurably, syncDirectory, writeFileAtomic } from "../util/atomicWrite";
import type { FileEntry } from "./hierarchy";
import type { StorageType } from "./nodeIndex";
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
}

export interface LoadedGeneration {
  manifest: Manifest;
  files: FileEntry[];
  fused: VectorTable;
  indexPath: string;
}

export type LoadResult = { ok: true; generation: LoadedGeneration } | { ok: false; reason: string };

const CURRENT = "CURRENT";
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
  if (found.maxChunkTokens !== wanted.maxChunkTokens) return `chunk budget ${found.maxChunkTokens}, now ${wanted.maxChunkTokens}`;
  if (found.storage !== wanted.storage) return `index storage ${found.storage}, now ${wanted.storage}`;
  return undefined;
}

export class CacheStore {
  constructor(readonly dir: string) {}

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
    mkdirSync(join(this.dir, "embeddings"), { recursive: true });
    writeFileAtomic(this.embeddingsPath(embedderId), table.serialize());
  }

  static emptyFusedTable(dim: number): VectorTable {
    return new VectorTable(dim, FUSED_KEY_BYTES);
  }

  static emptyEmbeddingTable(dim: number): VectorTable {
    return new VectorTable(dim, CONTENT_KEY_BYTES);
  }

  private currentGeneration(): string | undefined {
    try {
      return readFileSync(join(this.dir, CURRENT), "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Loads the current generation if it was built with `identity`; otherwise says why not. */
  load(identity: CacheIdentity): LoadResult {
    const name = this.currentGeneration();
    if (!name) return { ok: false, reason: "no cache yet" };
    const dir = join(this.dir, name);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
      if (typeof manifest !== "object" || manifest === null || typeof manifest.embedder !== "object") {
        throw new Error("manifest is not an object with an embedder");
      }
    } catch (error) {
      return { ok: false, reason: `manifest ${join(dir, "manifest.json")} is unreadable: ${(error as Error).message}` };
    }
    const mismatch = identityMismatch(manifest, identity);
    if (mismatch) return { ok: false, reason: `cache was built with ${mismatch}` };
    try {
      const files = JSON.parse(readFileSync(join(dir, "files.json"), "utf8")) as FileEntry[];
      if (!Array.isArray(files)) throw new Error("files.json is not a list");
      const fused = VectorTable.parse(readFileSync(join(dir, "fused.bin")), {
        dim: identity.embedder.dim,
        keyBytes: FUSED_KEY_BYTES,
      });
      return { ok: true, generation: { manifest, files, fused, indexPath: join(dir, "index.usearch") } };
    } catch (error) {
      return { ok: false, reason: `generation ${name} is damaged: ${(error as Error).message}` };
    }
  }

  /**
   * Writes a new generation and makes it current. `writeIndex` saves the usearch index to the
   * path it is given (usearch writes its own files).
   */
  save(
    manifest: Omit<Manifest, "generation" | "savedAt">,
    files: FileEntry[],
    fused: VectorTable,
    writeIndex: (path: string) => void,
  ): Manifest {
    mkdirSync(this.dir, { recursive: true });
    const previous = this.currentGeneration();
    const generation = (previous ? Number.parseInt(previous.slice(4), 10) || 0 : 0) + 1;
    const name = `gen-${String(generation).padStart(6, "0")}`;
    const dir = join(this.dir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const full: Manifest = { ...manifest, generation, savedAt: new Date().toISOString() };
    writeFileAtomic(join(dir, "files.json"), JSON.stringify(files));
    writeFileAtomic(join(dir, "fused.bin"), fused.serialize());
    const indexTemp = join(dir, "index.usearch.tmp");
    writeIndex(indexTemp);
    renameDurably(indexTemp, join(dir, "index.usearch"));
    // The manifest goes last: a generation folder without one was never finished.
    writeFileAtomic(join(dir, "manifest.json"), JSON.stringify(full, null, 2));
    syncDirectory(dir);
    writeFileAtomic(join(this.dir, CURRENT), name);
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith("gen-") && entry !== name) rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
    return full;
  }
}
