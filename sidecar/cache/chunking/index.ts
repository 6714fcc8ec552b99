export { contentHash, type Chunk, type SourceSpan, type TokenCounter } from "./chunk";
export {
  createChunker,
  resolveBudget,
  type ChunkMethod,
  type ChunkOptions,
  type ChunkResult,
  type Chunker,
  type ChunkerOptions,
} from "./chunker";
export { DEFAULT_MAX_TOKENS, DEFAULT_MIN_TOKENS, type Budget } from "./budget";
export { chunkLines } from "./lineChunker";
export { LANGUAGES, languageForPath, type LanguageId, type LanguageSpec } from "./languages";
export { wasmAssets, RUNTIME_WASM } from "./parser";
