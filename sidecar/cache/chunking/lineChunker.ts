/**
 * Fallback chunker for files without a grammar or that do not parse: cuts at blank lines, top-level lines and
 * indentation decreases, under the same budget rules as the syntax chunker.
 */
import type { Chunk, TokenCounter } from "./chunk";
import { materialize, packPieces, splitLines, SourceText, type Budget } from "./budget";

export function chunkLines(path: string, text: string | SourceText, count: TokenCounter, budget: Budget): Chunk[] {
  const src = typeof text === "string" ? new SourceText(text) : text;
  if (src.text.length === 0) return [];
  const pieces = splitLines(src, 0, src.text.length, count, budget);
  return materialize(src, path, packPieces(pieces, budget), count, budget);
}
