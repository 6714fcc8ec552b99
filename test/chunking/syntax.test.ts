/**
 * Syntax chunking of real files, one or more per language: JavaScript and TypeScript from node_modules, the
 * others from the fixtures committed under test/fixtures/ (each with its origin and licence there): Python from
 * CPython's stdlib, TSX from @tanstack/react-query, Java from Apache Santuario, Go from git's contrib sources.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Node } from "web-tree-sitter";
import type { TokenCounter } from "../../sidecar/cache/chunking/chunk";
import { createChunker, type Chunker } from "../../sidecar/cache/chunking/chunker";
import { languageForPath } from "../../sidecar/languages";
import { loadGrammarSync, Parser } from "../../sidecar/cache/chunking/parser";
import {
  assertChunkInvariants,
  assertStartsChunk,
  assertWithinOneChunk,
  byteCounter,
  GO_FIXTURES,
  goFixture,
  javaFixture,
  nodeModulesFile,
  pythonFixture,
  tsxFile,
  wordCounter,
  type RealFile,
} from "./helpers";

let chunker: Chunker;
before(async () => {
  chunker = await createChunker();
});

/**
 * Every unit node (function, method, class...) that fits in the budget lies within a single chunk. "Fits" leaves
 * a 10% margin: the chunker counts a unit with its indentation and the blank lines after it, which with a
 * whitespace-counting counter (byteCounter) can tip a unit just under the budget over it.
 * Returns how many units were checked.
 */
function assertUnitsKept(
  file: RealFile,
  chunks: Parameters<typeof assertWithinOneChunk>[1],
  count: TokenCounter,
  maxTokens: number,
): number {
  const spec = languageForPath(file.path)!;
  const parser = new Parser();
  parser.setLanguage(loadGrammarSync(spec));
  const tree = parser.parse(file.text)!;
  let checked = 0;
  try {
    const stack: Node[] = [tree.rootNode];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (spec.units.has(node.type) && count(file.text.slice(node.startIndex, node.endIndex)) <= maxTokens * 0.9) {
        assertWithinOneChunk(
          file,
          chunks,
          node.startIndex,
          node.endIndex,
          `${node.type} at line ${node.startPosition.row + 1}`,
        );
        checked++;
        continue;
      }
      stack.push(...node.namedChildren);
    }
  } finally {
    tree.delete();
    parser.delete();
  }
  return checked;
}

interface Case {
  file: RealFile;
  language: string;
  maxTokens: number;
  count: TokenCounter;
  startsChunk?: Array<string | RegExp>;
  minChunks?: number;
}

function checkRealFile({ file, language, maxTokens, count, startsChunk = [], minChunks = 2 }: Case): void {
  const result = chunker.chunkFile(file.path, file.text, count, { maxTokens });
  assert.equal(result.method, "syntax", `${file.origin}: ${result.fallbackReason}`);
  assert.equal(result.language, language);
  assert.equal(result.fallbackReason, undefined);
  assert.ok(result.chunks.length >= minChunks, `${file.origin}: only ${result.chunks.length} chunks`);
  assertChunkInvariants(file, result, count, maxTokens);
  for (const needle of startsChunk) assertStartsChunk(file, result.chunks, needle);
  const units = assertUnitsKept(file, result.chunks, count, maxTokens);
  assert.ok(units > 0, `${file.origin}: no unit checked`);
}

function need(file: RealFile | undefined, what: string, t: { skip(message?: string): void }): file is RealFile {
  if (!file) t.skip(`${what} is not installed on this machine`);
  return file !== undefined;
}

describe("syntax chunking of real files", () => {
  it("Python: CPython's textwrap.py (a class over the budget, split into its methods)", () => {
    const file = pythonFixture();
    checkRealFile({
      file,
      language: "python",
      maxTokens: 512,
      count: wordCounter,
      startsChunk: [
        "class TextWrapper:",
        "    def _wrap_chunks(self, chunks):",
        "def shorten(text, width, **kwargs):",
        "def dedent(text):",
        'if __name__ == "__main__":',
      ],
      minChunks: 15,
    });
    checkRealFile({ file, language: "python", maxTokens: 64, count: byteCounter, minChunks: 100 });
  });

  it("JavaScript: node-llama-cpp's LlamaChat.js (a class far over the budget)", (t) => {
    const file = nodeModulesFile("node-llama-cpp/dist/evaluator/LlamaChat/LlamaChat.js");
    if (!need(file, "node-llama-cpp", t)) return;
    checkRealFile({
      file,
      language: "javascript",
      maxTokens: 512,
      count: wordCounter,
      startsChunk: ["export class LlamaChat {", "function removeRawFromHistoryItem(historyItem) {"],
      minChunks: 30,
    });
    // The class is split into its members: the header (with the fields) first, then a chunk per method.
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    const header = result.chunks.find((c) => c.text.includes("export class LlamaChat {"))!;
    assert.ok(header.text.startsWith("export class LlamaChat {"), "the class header starts its chunk");
    assert.ok(header.text.includes("onDispose = new EventRelay();"), "the fields go with the class header");
    assertStartsChunk(file, result.chunks, "    constructor({ contextSequence, chatWrapper");
    assertStartsChunk(file, result.chunks, "    async generateResponse(history, options = {}) {");
    checkRealFile({ file, language: "javascript", maxTokens: 128, count: byteCounter, minChunks: 100 });
  });

  it("JavaScript: a .mjs from node_modules chunks with the JavaScript grammar", (t) => {
    const file = nodeModulesFile("usearch/numkong/test/test-wasm.mjs");
    if (!need(file, "usearch", t)) return;
    checkRealFile({ file, language: "javascript", maxTokens: 256, count: wordCounter });
  });

  it("TypeScript: @huggingface/jinja's runtime.ts", (t) => {
    const file = nodeModulesFile("@huggingface/jinja/src/runtime.ts");
    if (!need(file, "@huggingface/jinja", t)) return;
    checkRealFile({
      file,
      language: "typescript",
      maxTokens: 512,
      count: wordCounter,
      startsChunk: [
        "export class StringValue extends RuntimeValue<string> {",
        "function toJSON(",
        "export class ObjectValue",
      ],
      minChunks: 30,
    });
    checkRealFile({ file, language: "typescript", maxTokens: 96, count: byteCounter, minChunks: 100 });
  });

  it("TypeScript: typescript's lib.es5.d.ts (declarations only)", (t) => {
    const file = nodeModulesFile("typescript/lib/lib.es5.d.ts");
    if (!need(file, "typescript", t)) return;
    checkRealFile({
      file,
      language: "typescript",
      maxTokens: 512,
      count: wordCounter,
      startsChunk: ["interface Array<T> {"],
      minChunks: 50,
    });
  });

  it("TSX: react-query's HydrationBoundary.tsx and QueryErrorResetBoundary.tsx", () => {
    for (const name of ["HydrationBoundary", "QueryErrorResetBoundary"]) {
      const file = tsxFile(name);
      checkRealFile({ file, language: "tsx", maxTokens: 512, count: wordCounter });
      checkRealFile({ file, language: "tsx", maxTokens: 64, count: wordCounter, minChunks: 8 });
    }
    const file = tsxFile("QueryErrorResetBoundary");
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    assertStartsChunk(file, result.chunks, "export const QueryErrorResetBoundary = ({");
  });

  it("Java: Apache Santuario's NameSpaceSymbTable.java (three classes, the first split into its methods)", () => {
    const file = javaFixture();
    checkRealFile({
      file,
      language: "java",
      maxTokens: 512,
      count: wordCounter,
      startsChunk: [
        "public class NameSpaceSymbTable {",
        "    public boolean addMapping(String prefix, String uri, Attr n) {",
        "class NameSpaceSymbEntry implements Cloneable {",
        "class SymbMap implements Cloneable {",
      ],
      minChunks: 15,
    });
    checkRealFile({ file, language: "java", maxTokens: 100, count: byteCounter, minChunks: 40 });
  });

  it("Go: git's contrib/persistent-https sources", () => {
    for (const name of GO_FIXTURES) {
      const file = goFixture(name);
      checkRealFile({ file, language: "go", maxTokens: 512, count: wordCounter, minChunks: 2 });
      checkRealFile({ file, language: "go", maxTokens: 48, count: byteCounter, minChunks: 8 });
    }
    const file = goFixture("proxy.go");
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    assertStartsChunk(file, result.chunks, "func (p *Proxy) Run() error {");
    assertStartsChunk(file, result.chunks, "func (p *Proxy) handleUnixConn(");
  });
});
