/** Shared helpers of the chunking tests: token counters, real source files, and the invariants every result keeps. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { contentHash, type Chunk, type TokenCounter } from "../../sidecar/cache/chunking/chunk";
import type { ChunkResult } from "../../sidecar/cache/chunking/chunker";

export const REPO = join(import.meta.dirname, "..", "..");
export const NODE_MODULES = join(REPO, "node_modules");
export const FIXTURES = join(REPO, "test", "fixtures");

/** Words and single punctuation marks: close to a code tokenizer, and subadditive like one. */
export const wordCounter: TokenCounter = (text) => {
  let n = 0;
  const re = /\w+|[^\w\s]/g;
  while (re.exec(text) !== null) n++;
  return n;
};

/** About 3.5 UTF-8 bytes per token. */
export const byteCounter: TokenCounter = (text) => Math.ceil(Buffer.byteLength(text, "utf8") / 3.5);

/** A counter that also records how many characters it was asked to count. */
export function meteredCounter(inner: TokenCounter): TokenCounter & { calls: number; chars: number } {
  const counter = Object.assign(
    (text: string) => {
      counter.calls++;
      counter.chars += text.length;
      return inner(text);
    },
    { calls: 0, chars: 0 },
  );
  return counter;
}

/** A real source file: committed under test/fixtures/, or shipped on this machine. */
export interface RealFile {
  /** Repository-like path given to the chunker (its extension picks the grammar). */
  path: string;
  text: string;
  /** Where it came from. */
  origin: string;
}

/**
 * A committed fixture, test/fixtures/<dir>/<name>.txt (stored with .txt so that no tool of the
 * language treats it as the project's own; see the README and LICENSE beside it), chunked under `path`.
 */
function fixture(dir: string, name: string, path: string): RealFile {
  const file = join(FIXTURES, dir, `${name}.txt`);
  return { path, text: readFileSync(file, "utf8"), origin: file };
}

/** CPython 3.11's Lib/textwrap.py (test/fixtures/python/README.md). */
export const pythonFixture = (): RealFile => fixture("python", "textwrap.py", "cpython/Lib/textwrap.py");

/** Apache Santuario's NameSpaceSymbTable.java, as the JDK bundles it (test/fixtures/java/README.md). */
export const javaFixture = (): RealFile =>
  fixture("java", "NameSpaceSymbTable.java", "santuario/c14n/implementations/NameSpaceSymbTable.java");

/** git's contrib/persistent-https sources (test/fixtures/go/README.md). */
export const GO_FIXTURES = ["proxy.go", "client.go", "main.go", "socket.go"] as const;
export const goFixture = (name: (typeof GO_FIXTURES)[number] = "proxy.go"): RealFile =>
  fixture("go", name, `persistent-https/${name}`);

/** Real TSX copied from @tanstack/react-query (test/fixtures/tsx/README.md). */
export const tsxFile = (name: string): RealFile => fixture("tsx", `${name}.tsx`, `react-query/${name}.tsx`);

function fromFile(file: string, path = file): RealFile | undefined {
  return existsSync(file) ? { path, text: readFileSync(file, "utf8"), origin: file } : undefined;
}

/** A file of an installed package (`npm install` has run wherever the tests run). */
export function nodeModulesFile(rel: string): RealFile | undefined {
  return fromFile(join(NODE_MODULES, rel), rel);
}

// The machine's own Python, JDK and git sources, where installed: only test/completion/entities.test.ts
// still reads these (the chunking tests use the fixtures above, which are always there).

export function pythonFile(): RealFile | undefined {
  try {
    const file = execFileSync("python3", ["-c", "import os; print(os.__file__)"], { encoding: "utf8" }).trim();
    return fromFile(file, "stdlib/os.py");
  } catch {
    return undefined;
  }
}

/** The JDK sources: OpenJDK 17's src.zip where the openjdk-17-source package is installed, else any JDK's. */
function jdkSrcZip(): string | undefined {
  const candidates = ["/usr/lib/jvm/java-17-openjdk-amd64/lib/src.zip"];
  try {
    for (const jdk of readdirSync("/usr/lib/jvm").sort()) candidates.push(join("/usr/lib/jvm", jdk, "lib", "src.zip"));
  } catch {
    // no JDK at all
  }
  return candidates.find((zip) => existsSync(zip)); // existsSync follows links: a dangling one does not count
}

export function javaFile(entry = "java.base/java/util/ArrayList.java"): RealFile | undefined {
  const zip = jdkSrcZip();
  if (!zip) return undefined;
  try {
    const text = execFileSync("unzip", ["-p", zip, entry], { encoding: "utf8", maxBuffer: 64 << 20 });
    return text.length > 0 ? { path: entry, text, origin: `${zip}:${entry}` } : undefined;
  } catch {
    return undefined;
  }
}

const GO_DIR = "/usr/share/doc/git/contrib/persistent-https";

export function goFile(name = "proxy.go"): RealFile | undefined {
  return fromFile(join(GO_DIR, name), `persistent-https/${name}`);
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function isBlank(text: string): boolean {
  return /^[\s\uFEFF\u00A0]*$/.test(text);
}

/**
 * The invariants of every chunking result: each chunk within the budget by the counter (and its `tokens` exact),
 * spans (bytes and lines) consistent with the file, chunks ordered and non-overlapping, only whitespace left out,
 * the text reassembling exactly, hashes of the text.
 */
export function assertChunkInvariants(
  file: { path: string; text: string },
  result: ChunkResult,
  count: TokenCounter,
  maxTokens: number,
): void {
  const bytes = utf8(file.text);
  let previousEnd = 0;
  let newlinesBefore = 0;
  let reassembled = "";
  for (const [i, chunk] of result.chunks.entries()) {
    const where = `${file.path} chunk ${i} (lines ${chunk.startLine}-${chunk.endLine})`;
    assert.equal(chunk.path, file.path, where);
    assert.ok(chunk.text.length > 0 && !isBlank(chunk.text), `${where}: empty or blank`);
    assert.equal(chunk.tokens, count(chunk.text), `${where}: tokens is not the counter's count`);
    assert.ok(chunk.tokens <= maxTokens, `${where}: ${chunk.tokens} tokens > ${maxTokens}`);
    assert.equal(chunk.hash, contentHash(chunk.text), `${where}: hash`);
    assert.ok(chunk.startByte >= previousEnd, `${where}: overlaps or is out of order`);
    assert.ok(chunk.endByte > chunk.startByte, `${where}: empty byte span`);
    assert.equal(
      bytes.subarray(chunk.startByte, chunk.endByte).toString("utf8"),
      chunk.text,
      `${where}: bytes do not match`,
    );
    const gap = bytes.subarray(previousEnd, chunk.startByte).toString("utf8");
    assert.ok(isBlank(gap), `${where}: non-whitespace left out before it: ${JSON.stringify(gap.slice(0, 80))}`);
    const startLine = newlinesBefore + newlines(gap) + 1;
    assert.equal(chunk.startLine, startLine, `${where}: startLine`);
    assert.equal(chunk.endLine, startLine + newlines(chunk.text), `${where}: endLine`);
    newlinesBefore = startLine - 1 + newlines(chunk.text);
    reassembled += gap + chunk.text;
    previousEnd = chunk.endByte;
  }
  const tail = bytes.subarray(previousEnd).toString("utf8");
  assert.ok(isBlank(tail), `${file.path}: non-whitespace left out at the end`);
  assert.equal(reassembled + tail, file.text, `${file.path}: chunks do not reassemble the file`);
}

/** Index of the chunk that holds the UTF-16 index `at` of the text. */
export function chunkAt(text: string, chunks: readonly Chunk[], at: number): number {
  const byte = Buffer.byteLength(text.slice(0, at), "utf8");
  return chunks.findIndex((c) => c.startByte <= byte && byte < c.endByte);
}

/**
 * Asserts that the definition found by `needle` begins a chunk: only comments, decorators/annotations and
 * whitespace may come before it in its chunk.
 */
export function assertStartsChunk(
  file: { path: string; text: string },
  chunks: readonly Chunk[],
  needle: string | RegExp,
): void {
  const at = typeof needle === "string" ? file.text.indexOf(needle) : file.text.search(needle);
  assert.ok(at >= 0, `${file.path}: ${String(needle)} not found`);
  const i = chunkAt(file.text, chunks, at);
  assert.ok(i >= 0, `${file.path}: ${String(needle)} is in no chunk`);
  const chunk = chunks[i]!;
  const chunkStart = Buffer.from(file.text, "utf8").subarray(0, chunk.startByte).toString("utf8").length;
  const before = file.text.slice(chunkStart, at);
  const leading = before
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(#|\/\/|\/\*|\*|@)/.test(l));
  assert.deepEqual(
    leading,
    [],
    `${file.path}: ${String(needle)} does not start its chunk (chunk ${i}, lines ${chunk.startLine}-${chunk.endLine})`,
  );
}

/** Asserts that [start, end) of the text (UTF-16 indices) lies within a single chunk. */
export function assertWithinOneChunk(
  file: { path: string; text: string },
  chunks: readonly Chunk[],
  start: number,
  end: number,
  what: string,
): void {
  const first = chunkAt(file.text, chunks, start);
  const last = chunkAt(file.text, chunks, end - 1);
  assert.ok(first >= 0 && first === last, `${file.path}: ${what} is cut across chunks ${first}..${last}`);
}
