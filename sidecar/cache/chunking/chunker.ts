/**
 * Entry point of chunking: `(await createChunker()).chunkFile(path, text, countTokens)`.
 *
 * createChunker initialises the tree-sitter runtime (once per process); chunkFile is synchronous and loads each
 * grammar on first use.
 *
 * Files with a grammar (Python, JavaScript, TypeScript, TSX, Java, Go) are chunked along their syntax tree;
 * other files, files whose parse fails or times out, and files whose tree is mostly ERROR nodes are chunked by
 * lines. Either way no chunk exceeds maxTokens by the caller's token counter, chunks are in file order and do not
 * overlap, and only whitespace between chunks is left out.
 */
import type { Node, Parser as ParserType, Tree } from "web-tree-sitter";
import type { Chunk, TokenCounter } from "./chunk";
import { DEFAULT_MAX_TOKENS, DEFAULT_MIN_TOKENS, SourceText, type Budget } from "./budget";
import { languageForPath, type LanguageId, type LanguageSpec } from "../../languages";
import { chunkLines } from "./lineChunker";
import { initRuntime, loadGrammarSync, Parser } from "./parser";
import { chunkSyntaxTree } from "./syntaxChunker";

export interface ChunkerOptions {
  /**
   * Directory holding web-tree-sitter.wasm and the grammar wasm files (tree-sitter-python.wasm, ...), e.g. next
   * to a bundle. Files missing there are resolved from the npm packages. The runtime is initialised once per
   * process, so the first chunker's directory is the one used for web-tree-sitter.wasm.
   */
  wasmDir?: string;
  /** A parse running longer than this is cancelled and the file chunked by lines. Default 5000 ms. */
  parseTimeoutMs?: number;
  /**
   * Share of the file (by characters) inside ERROR nodes above which the tree is not trusted and the file is
   * chunked by lines. Default 0.25; local syntax errors below it keep the syntax chunker.
   */
  maxErrorRatio?: number;
}

export interface ChunkOptions {
  /** Default 512. */
  maxTokens?: number;
  /** Default 48 (capped at maxTokens). */
  minTokens?: number;
}

export type ChunkMethod = "syntax" | "lines";

export interface ChunkResult {
  chunks: Chunk[];
  method: ChunkMethod;
  /** The grammar's language, when the path has one (also when it fell back to lines). */
  language?: LanguageId;
  /** Why a file with a grammar was chunked by lines, or "no grammar" when it has none. */
  fallbackReason?: string;
}

export interface Chunker {
  /** Chunks one file's text (as read, BOM removed). Never throws for bad input: it falls back to lines. */
  chunkFile(path: string, text: string, countTokens: TokenCounter, options?: ChunkOptions): ChunkResult;
  /** The language the syntax chunker would use for a path. */
  languageOf(path: string): LanguageId | undefined;
  /** Frees the parsers (the process-wide runtime and grammars stay loaded). */
  dispose(): void;
}

export function resolveBudget(options?: ChunkOptions): Budget {
  const maxTokens = Math.floor(options?.maxTokens ?? DEFAULT_MAX_TOKENS);
  if (!(maxTokens >= 1)) throw new RangeError(`maxTokens must be at least 1, got ${options?.maxTokens}`);
  const minTokens = Math.min(Math.max(Math.floor(options?.minTokens ?? DEFAULT_MIN_TOKENS), 0), maxTokens);
  return { maxTokens, minTokens };
}

/** Share of the text inside ERROR nodes (outermost ones only). */
export function errorRatio(root: Node, length: number): number {
  if (!root.hasError || length === 0) return 0;
  if (root.isError) return 1;
  let inError = 0;
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.isError) {
      inError += node.endIndex - node.startIndex;
      continue;
    }
    if (!node.hasError) continue;
    for (const child of node.children) if (child.hasError || child.isError) stack.push(child);
  }
  return inError / length;
}

export async function createChunker(options: ChunkerOptions = {}): Promise<Chunker> {
  await initRuntime(options.wasmDir);
  const parseTimeoutMs = options.parseTimeoutMs ?? 5000;
  const maxErrorRatio = options.maxErrorRatio ?? 0.25;
  const parsers = new Map<LanguageId, ParserType>();

  function parserFor(spec: LanguageSpec): ParserType {
    const language = loadGrammarSync(spec, options.wasmDir);
    let parser = parsers.get(spec.id);
    if (!parser) {
      parser = new Parser();
      parser.setLanguage(language);
      parsers.set(spec.id, parser);
    }
    return parser;
  }

  function parse(parser: ParserType, text: string): { tree: Tree | null; timedOut: boolean } {
    const deadline = performance.now() + parseTimeoutMs;
    let timedOut = false;
    // The progress callback cancels the parse by returning true (typed as void in web-tree-sitter's d.ts).
    const progressCallback = ((): boolean => {
      if (performance.now() > deadline) timedOut = true;
      return timedOut;
    }) as () => void;
    const tree = parser.parse(text, null, { progressCallback });
    if (!tree) parser.reset();
    return { tree, timedOut };
  }

  return {
    languageOf: (path) => languageForPath(path)?.id,

    chunkFile(path, text, countTokens, chunkOptions) {
      const budget = resolveBudget(chunkOptions);
      const src = new SourceText(text);
      const spec = languageForPath(path);
      const lines = (fallbackReason: string): ChunkResult => ({
        chunks: chunkLines(path, src, countTokens, budget),
        method: "lines",
        ...(spec ? { language: spec.id } : {}),
        fallbackReason,
      });
      if (!spec) return lines("no grammar");
      if (text.trim().length === 0) return { chunks: [], method: "syntax", language: spec.id };

      let parser: ParserType;
      try {
        parser = parserFor(spec);
      } catch (error) {
        return lines(`grammar failed to load: ${(error as Error).message}`);
      }
      let tree: Tree | null;
      try {
        const parsed = parse(parser, text);
        if (!parsed.tree) return lines(parsed.timedOut ? `parse timed out after ${parseTimeoutMs} ms` : "parse failed");
        tree = parsed.tree;
      } catch (error) {
        parser.reset();
        return lines(`parse threw: ${(error as Error).message}`);
      }
      try {
        const root = tree.rootNode;
        const ratio = errorRatio(root, text.length);
        if (ratio > maxErrorRatio) {
          return lines(`syntax errors cover ${Math.round(ratio * 100)}% of the file`);
        }
        const chunks = chunkSyntaxTree({ src, path, root, spec, count: countTokens, budget });
        return { chunks, method: "syntax", language: spec.id };
      } finally {
        tree.delete();
      }
    },

    dispose() {
      for (const parser of parsers.values()) parser.delete();
      parsers.clear();
    },
  };
}
