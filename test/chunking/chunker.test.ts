/**
 * Budget rules, fallbacks and edge cases of the chunker: huge functions, minified code, syntax errors, files
 * without a grammar, parse timeouts, Unicode and CRLF spans, the wasm directory option, linear token counting.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createChunker, type Chunker } from "../../sidecar/cache/chunking/chunker";
import { chunkLines } from "../../sidecar/cache/chunking/lineChunker";
import { LANGUAGES, languageForPath } from "../../sidecar/languages";
import { grammarPath, wasmAssets } from "../../sidecar/cache/chunking/parser";
import {
  assertChunkInvariants,
  assertStartsChunk,
  byteCounter,
  goFixture,
  javaFixture,
  meteredCounter,
  NODE_MODULES,
  nodeModulesFile,
  pythonFixture,
  REPO,
  wordCounter,
} from "./helpers";

let chunker: Chunker;
before(async () => {
  chunker = await createChunker();
});
after(() => chunker.dispose());

describe("budget rules", () => {
  it("splits a huge single function so that no chunk exceeds maxTokens, header first", () => {
    // A real function body repeated: 1,500 statements in one Python function (about 20k tokens).
    const body = Array.from(
      { length: 1500 },
      (_, i) => `    total_${i} = compute(values[${i}], scale=${i} * factor)  # step ${i}\n`,
    ).join("");
    const file = {
      path: "gen/huge.py",
      text: `import math\n\n\ndef huge(values, factor):\n${body}    return total_0\n\n\ndef after():\n    """Runs after huge, big enough (over minTokens) to be a chunk of its own."""\n${Array.from({ length: 6 }, (_, i) => `    print("after", ${i}, math.sqrt(${i}))\n`).join("")}`,
    };
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    assert.equal(result.method, "syntax");
    assert.ok(result.chunks.length >= 40, `${result.chunks.length} chunks`);
    assertChunkInvariants(file, result, wordCounter, 512);
    // The tiny import before it is merged in front of the function's first part.
    assert.ok(result.chunks[0]!.text.startsWith("import math\n\n\ndef huge(values, factor):\n    total_0 = "));
    assertStartsChunk(file, result.chunks, "def after():");
    // Chunks of the body are filled up (statements packed in runs), not one per line.
    const mean = result.chunks.reduce((n, c) => n + c.tokens, 0) / result.chunks.length;
    assert.ok(mean > 300, `mean chunk ${mean} tokens`);
  });

  it("splits a huge function of a real file at a tiny budget", (t) => {
    const file = nodeModulesFile("node-llama-cpp/dist/evaluator/LlamaChat/LlamaChat.js");
    if (!file) return t.skip("node-llama-cpp is not installed");
    for (const maxTokens of [16, 4]) {
      const small = { path: file.path, text: file.text.slice(0, 20000) };
      const result = chunker.chunkFile(small.path, small.text, wordCounter, { maxTokens });
      assertChunkInvariants(small, result, wordCounter, maxTokens);
    }
  });

  it("splits minified code (one very long line) inside the line", (t) => {
    for (const rel of ["immediate/dist/immediate.min.js", "tar/dist/esm/index.min.js"]) {
      const file = nodeModulesFile(rel);
      if (!file) return t.skip(`${rel} is not installed`);
      for (const [count, maxTokens] of [
        [wordCounter, 512],
        [byteCounter, 64],
      ] as const) {
        const result = chunker.chunkFile(file.path, file.text, count, { maxTokens });
        assertChunkInvariants(file, result, count, maxTokens);
        assert.ok(result.chunks.length > 1);
      }
    }
    // The same through the line chunker alone (a file without grammar, e.g. minified CSS).
    const file = nodeModulesFile("tar/dist/esm/index.min.js")!;
    const asText = { path: "bundle.min.css", text: file.text };
    const result = chunker.chunkFile(asText.path, asText.text, wordCounter, { maxTokens: 256 });
    assert.equal(result.method, "lines");
    assertChunkInvariants(asText, result, wordCounter, 256);
    const longLine = file.text.split("\n").findIndex((l) => l.length > 50000) + 1;
    assert.ok(
      result.chunks.filter((c) => c.startLine === longLine && c.endLine === longLine).length > 10,
      "the long line is cut",
    );
  });

  it("merges tiny neighbouring units while the merge fits, and keeps big units apart", () => {
    const tiny = Array.from({ length: 6 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join("\n\n");
    const file = {
      path: "tiny.py",
      text: `${tiny}\n\nclass Big:\n${Array.from({ length: 12 }, (_, i) => `    def m${i}(self, a, b):\n        return self.combine(a, b, ${i})\n`).join("\n")}`,
    };
    const merged = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512, minTokens: 48 });
    assertChunkInvariants(file, merged, wordCounter, 512);
    // f0..f5 (about 10 tokens each) are merged; the class is big enough to be a unit of its own.
    assert.ok(merged.chunks[0]!.text.includes("def f0") && merged.chunks[0]!.text.includes("def f5"));
    assertStartsChunk(file, merged.chunks, "class Big:");
    const apart = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512, minTokens: 0 });
    assertChunkInvariants(file, apart, wordCounter, 512);
    assert.ok(apart.chunks.length >= 7, "with minTokens 0 every function is a chunk of its own");
    // A class over the budget is split into its methods; the header goes with the first ones.
    const split = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 60, minTokens: 20 });
    assertChunkInvariants(file, split, wordCounter, 60);
    assertStartsChunk(file, split.chunks, "class Big:");
    const header = split.chunks.find((c) => c.text.includes("class Big:"))!;
    assert.ok(header.text.includes("def m0(self, a, b):"), "the class header goes with the first method");
    for (let i = 1; i < 12; i++) assertStartsChunk(file, split.chunks, new RegExp(`^    def m${i}\\(`, "m"));
  });

  it("rejects a budget below one token", () => {
    assert.throws(() => chunker.chunkFile("a.py", "x = 1\n", wordCounter, { maxTokens: 0 }), RangeError);
  });
});

describe("fallbacks", () => {
  it("keeps the syntax chunker for a local syntax error", () => {
    const real = pythonFixture();
    const file = { path: real.path, text: real.text.replace("def dedent(text):", "def dedent(text:") };
    assert.notEqual(file.text, real.text);
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    assert.equal(result.method, "syntax");
    assert.equal(result.fallbackReason, undefined);
    assertChunkInvariants(file, result, wordCounter, 512);
    assertStartsChunk(file, result.chunks, "def shorten(text, width, **kwargs):");
    assertStartsChunk(file, result.chunks, "def indent(text, prefix, predicate=None):");
  });

  it("falls back to lines when syntax errors cover most of the file (an unclosed brace)", (t) => {
    const real = nodeModulesFile("node-llama-cpp/dist/evaluator/LlamaChat/LlamaChat.js");
    if (!real) return t.skip("node-llama-cpp is not installed");
    const file = {
      path: real.path,
      text: real.text.replace("export class LlamaChat {", "export class LlamaChat {{{ ("),
    };
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512 });
    assert.equal(result.method, "lines");
    assert.equal(result.language, "javascript");
    assert.match(result.fallbackReason ?? "", /syntax errors cover \d+% of the file/);
    assertChunkInvariants(file, result, wordCounter, 512);
  });

  it("falls back to lines for a file in the wrong language", () => {
    const file = { path: "misnamed.go", text: pythonFixture().text };
    const result = chunker.chunkFile(file.path, file.text, byteCounter, { maxTokens: 200 });
    assert.equal(result.method, "lines");
    assertChunkInvariants(file, result, byteCounter, 200);
  });

  it("chunks files without a grammar by lines, cutting at blank lines", () => {
    const readme = readFileSync(join(NODE_MODULES, "typescript", "README.md"), "utf8");
    const file = { path: "docs/README.md", text: readme };
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 128 });
    assert.equal(result.method, "lines");
    assert.equal(result.language, undefined);
    assert.equal(result.fallbackReason, "no grammar");
    assertChunkInvariants(file, result, wordCounter, 128);
    assert.ok(result.chunks.length > 3);
    // Where a chunk ends, a blank line or a heading follows in most cases.
    const lines = file.text.split("\n");
    const clean = result.chunks.slice(0, -1).filter((c) => {
      const next = lines[c.endLine] ?? "";
      return next.trim() === "" || next.startsWith("#");
    });
    assert.ok(
      clean.length >= (result.chunks.length - 1) / 2,
      `${clean.length} of ${result.chunks.length - 1} cuts at blank lines`,
    );
  });

  it("chunks JSON and other data by lines within the budget", () => {
    const pkg = { path: "package-lock.json", text: readFileSync(join(REPO, "package-lock.json"), "utf8") };
    const result = chunker.chunkFile(pkg.path, pkg.text, byteCounter, { maxTokens: 512 });
    assert.equal(result.method, "lines");
    assertChunkInvariants(pkg, result, byteCounter, 512);
  });

  it("falls back to lines when the parse times out", (t) => {
    const file = nodeModulesFile("typescript/lib/lib.dom.d.ts");
    if (!file) return t.skip("typescript is not installed");
    const slow = createChunker({ parseTimeoutMs: 0 });
    return slow.then((c) => {
      const result = c.chunkFile(file.path, file.text, byteCounter, { maxTokens: 512 });
      assert.equal(result.method, "lines");
      assert.match(result.fallbackReason ?? "", /timed out/);
      assertChunkInvariants(file, result, byteCounter, 512);
      // The parser is usable again after a cancelled parse.
      const again = chunker.chunkFile("small.ts", "export function f(): number {\n  return 1;\n}\n", wordCounter);
      assert.equal(again.method, "syntax");
      c.dispose();
    });
  });

  it("returns no chunks for an empty or blank file", () => {
    for (const path of ["empty.py", "empty.md"]) {
      for (const text of ["", "\n\n   \n\t\n"]) {
        const result = chunker.chunkFile(path, text, wordCounter);
        assert.deepEqual(result.chunks, []);
      }
    }
  });
});

describe("spans", () => {
  it("reports UTF-8 byte offsets and lines for non-ASCII text", () => {
    const text = [
      "# -*- coding: utf-8 -*-",
      '"""Grüße, 日本語, emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢."""',
      "",
      "def größe(wert):",
      '    """Gibt die Größe zurück — 大きさ."""',
      "    return len(wert) * 2  # 😀😀",
      "",
      "",
      "class Ωmega:",
      "    π = 3.14159",
      "    def ünïcode(self):",
      '        return "ß" * 3 + "😀"',
      "",
    ].join("\n");
    const file = { path: "unicode.py", text };
    for (const maxTokens of [512, 8, 2]) {
      for (const count of [wordCounter, byteCounter]) {
        const result = chunker.chunkFile(file.path, file.text, count, { maxTokens, minTokens: 0 });
        assertChunkInvariants(file, result, count, maxTokens);
      }
    }
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 512, minTokens: 0 });
    assertStartsChunk(file, result.chunks, "def größe(wert):");
    const fn = result.chunks.find((c) => c.text.startsWith("def größe"))!;
    assert.equal(fn.startLine, 4);
    assert.equal(fn.startByte, Buffer.byteLength(text.slice(0, text.indexOf("def größe"))));
  });

  it("keeps CRLF line endings intact", () => {
    const go = goFixture("main.go");
    const file = { path: go.path, text: go.text.replace(/\n/g, "\r\n") };
    const result = chunker.chunkFile(file.path, file.text, wordCounter, { maxTokens: 128 });
    assert.equal(result.method, "syntax");
    assertChunkInvariants(file, result, wordCounter, 128);
  });

  it("is deterministic", () => {
    const os = pythonFixture();
    const a = chunker.chunkFile(os.path, os.text, wordCounter);
    const b = chunker.chunkFile(os.path, os.text, wordCounter);
    assert.deepEqual(a, b);
  });
});

describe("cost", () => {
  it("counts tokens on about linear amounts of text", (t) => {
    const files = [
      nodeModulesFile("typescript/lib/lib.dom.d.ts"),
      nodeModulesFile("tar/dist/esm/index.min.js"),
      nodeModulesFile("node-llama-cpp/dist/evaluator/LlamaChat/LlamaChat.js"),
      pythonFixture(),
      javaFixture(),
    ].filter((f) => f !== undefined);
    if (files.length === 0) return t.skip("no real file installed");
    for (const file of files) {
      const counter = meteredCounter(wordCounter);
      const result = chunker.chunkFile(file.path, file.text, counter, { maxTokens: 512 });
      assertChunkInvariants(file, result, wordCounter, 512);
      const ratio = counter.chars / file.text.length;
      assert.ok(ratio < 6, `${file.path}: counted ${ratio.toFixed(1)}x its length in ${counter.calls} calls`);
    }
  });
});

describe("grammar wasm files", () => {
  it("lists every wasm file, all resolvable from node_modules", () => {
    const assets = wasmAssets();
    assert.deepEqual(
      assets.map((a) => a.name).sort(),
      ["web-tree-sitter.wasm", ...new Set(LANGUAGES.map((l) => l.wasmFile))].sort(),
    );
    for (const asset of assets) assert.ok(asset.path && statSync(asset.path).size > 0, asset.name);
  });

  it("loads grammars from a wasm directory (as a bundle would ship them)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hef-wasm-"));
    try {
      for (const asset of wasmAssets()) copyFileSync(asset.path!, join(dir, asset.name));
      assert.equal(readdirSync(dir).length, 7);
      const spec = languageForPath("a.go")!;
      assert.equal(grammarPath(spec, dir), join(dir, "tree-sitter-go.wasm"));
      const bundled = await createChunker({ wasmDir: dir });
      const go = "package main\n\nfunc main() {\n\tprintln(1)\n}\n";
      const result = bundled.chunkFile("main.go", go, wordCounter);
      assert.equal(result.method, "syntax");
      assert.equal(result.chunks.length, 1);
      bundled.dispose();
      // A directory without the file: the npm package's copy is used.
      assert.notEqual(grammarPath(spec, join(dir, "missing")), join(dir, "missing", "tree-sitter-go.wasm"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("maps extensions to grammars", () => {
    const cases: Record<string, string | undefined> = {
      "a.py": "python",
      "a.pyi": "python",
      "a.js": "javascript",
      "a.mjs": "javascript",
      "a.cjs": "javascript",
      "a.jsx": "javascript",
      "a.ts": "typescript",
      "a.d.ts": "typescript",
      "a.mts": "typescript",
      "A.TSX": "tsx",
      "a.java": "java",
      "a.go": "go",
      "a.rs": undefined,
      Makefile: undefined,
      ".py": undefined,
    };
    for (const [path, id] of Object.entries(cases)) assert.equal(chunker.languageOf(path), id, path);
  });
});

describe("line chunker", () => {
  it("keeps every line and stays within the budget on a real file", (t) => {
    const file = nodeModulesFile("typescript/lib/lib.es5.d.ts");
    if (!file) return t.skip("typescript is not installed");
    for (const maxTokens of [512, 64]) {
      const chunks = chunkLines(file.path, file.text, wordCounter, { maxTokens, minTokens: 48 });
      assertChunkInvariants(file, { chunks, method: "lines" }, wordCounter, maxTokens);
    }
  });
});
