import { createHash } from "node:crypto";

/** A contiguous region of one source file. Lines are 1-based and inclusive; bytes are UTF-8 offsets, end exclusive. */
export interface SourceSpan {
  /** Repository-relative POSIX path. */
  path: string;
  startLine: number;
  endLine: number;
  startByte: number;
  endByte: number;
}

/** A unit of source that is embedded as one vector: at most the embedder's token budget. */
export interface Chunk extends SourceSpan {
  text: string;
  /** contentHash(text): what the embedding cache is keyed by, so equal text is embedded once. */
  hash: string;
  /** Length of text in the embedder's tokens. */
  tokens: number;
}

/** Counts tokens exactly as the embedder will see them. */
export type TokenCounter = (text: string) => number;

export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
