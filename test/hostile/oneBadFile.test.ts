// One file must never stop the whole index (issue 17, availability 5): deeply nested code is chunked
// by lines below a depth, and a file whose chunking throws anyway is skipped with its reason.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { HefCache } from "../../sidecar/cache/hefCache";
import type { NativeEmbedder } from "../../sidecar/models/embedder";
import { overriding, tinyEmbedder } from "../helpers/embedder";
import { tempDir } from "../helpers/repos";

let embedder: NativeEmbedder;
before(async () => {
  embedder = await tinyEmbedder();
});

function workspace(): string {
  const root = tempDir("hef-bad-file-");
  writeFileSync(join(root, "ok.py"), "def ok():\n    return 1\n");
  return root;
}

describe("one bad file does not stop the index", () => {
  test("3,000 levels of parentheses are chunked (by lines below the depth limit), the other files too", async () => {
    const root = workspace();
    const depth = 3000;
    writeFileSync(join(root, "deep.py"), `x = ${"(".repeat(depth)}1${")".repeat(depth)}\n`);
    const cache = await HefCache.open({ root, cacheDir: tempDir("hef-bad-cache-"), embedder, log: () => undefined });
    const report = await cache.sync();
    assert.deepEqual(report.skipped, []);
    const files = cache
      .allNodes()
      .filter((n) => n.level === "chunk")
      .map((n) => n.path);
    assert.ok(files.includes("deep.py") && files.includes("ok.py"), files.join(", "));
  });

  test("a file whose chunking throws is skipped with the reason and logged; the rest is indexed", async () => {
    const root = workspace();
    writeFileSync(join(root, "explodes.py"), "EXPLODE = True\n");
    const failing = overriding(embedder, {
      countTokens: (text) => {
        if (text.includes("EXPLODE"))
          throw new RangeError("Maximum call stack size exceeded\n    at piecesOf (syntaxChunker.ts:140:22)");
        return embedder.countTokens(text);
      },
    });
    const logs: string[] = [];
    const cache = await HefCache.open({
      root,
      cacheDir: tempDir("hef-bad-cache-"),
      embedder: failing,
      log: (m) => logs.push(m),
    });
    const report = await cache.sync();
    assert.deepEqual(report.skipped, [
      { path: "explodes.py", reason: "failed", detail: "Maximum call stack size exceeded" },
    ]);
    assert.ok(
      logs.includes("skipped explodes.py: chunking failed (Maximum call stack size exceeded)"),
      logs.join("\n"),
    );
    assert.deepEqual(
      cache.indexedFiles().map((f) => f.path),
      ["ok.py"],
    );
  });
});
