import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { copyOfRepo, tempDir } from "../helpers/repos";

const SAMPLE = "samples/shop";

function hef(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("hef CLI", () => {
  const cacheHome = tempDir("hef-cli-cache-");

  test("index --json reports the run; a second run over an unchanged tree embeds and fuses nothing", () => {
    const root = copyOfRepo(SAMPLE);
    const first = hef(["index", root, "--json"], { HEF_CACHE_HOME: cacheHome });
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.files, 10);
    assert.ok(report.chunks >= 10);
    assert.equal(report.embedded, report.chunks);
    assert.equal(report.reused, 0);
    assert.deepEqual(Object.keys(report.nodesPerLevel).sort(), ["chunk", "file", "module", "partial", "repo"]);
    assert.equal(report.nodesPerLevel.repo, 1);
    assert.equal(report.fused, report.nodes - report.chunks);
    assert.deepEqual(report.skipped, []);
    assert.equal(typeof report.ms, "number");

    const second = JSON.parse(hef(["index", root, "--json"], { HEF_CACHE_HOME: cacheHome }).stdout);
    assert.equal(second.embedded, 0);
    assert.equal(second.fused, 0);
    assert.equal(second.nodes, report.nodes);

    const rebuilt = JSON.parse(hef(["index", root, "--json", "--rebuild"], { HEF_CACHE_HOME: cacheHome }).stdout);
    assert.equal(rebuilt.embedded, 0, "a rebuild reuses the chunk vectors");
    assert.equal(rebuilt.fused, report.fused, "and fuses every parent again");
    assert.equal(rebuilt.nodes, report.nodes);
  });

  test("index counts skipped files with their reasons", () => {
    const root = copyOfRepo(SAMPLE);
    writeFileSync(join(root, "shop/blob.py"), Buffer.from([0x70, 0x00, 0x01, 0x02]));
    writeFileSync(join(root, "shop/latin1.py"), Buffer.from("caf\xe9 = 1\n", "latin1"));
    const out = hef(["index", root, "--json", "--cache-dir", tempDir()]);
    assert.equal(out.code, 0, out.stderr);
    const report = JSON.parse(out.stdout);
    const reasons = Object.fromEntries(report.skipped.map((s: { path: string; reason: string }) => [s.path, s.reason]));
    assert.deepEqual(reasons, { "shop/blob.py": "binary", "shop/latin1.py": "invalid-utf8" });
    assert.equal(report.files, 10);
  });

  test("query --json returns the top k nodes of any level for a cursor", async () => {
    const root = copyOfRepo(SAMPLE);
    // The tiny lexical embedder with the mean fuser (an embedder given without an adapter): parents are the
    // means of their children, so nodes of several levels rank near the top.
    const tiny = ["--embedder", await ensureTinyModel("tiny-embed")];
    const out = hef(["query", root, "--file", "shop/cart.py", "--line", "38", "--k", "6", "--json", ...tiny], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout);
    assert.equal(result.nodes.length, 6);
    for (const node of result.nodes) {
      assert.match(node.id, /^[0-9a-f]{16}$/);
      assert.ok(["chunk", "file", "module", "repo"].includes(node.level));
      assert.ok(node.spans.length > 0);
      assert.ok(node.score <= 1.0001 && node.score > -1.0001);
    }
    const scores = result.nodes.map((n: { score: number }) => n.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
      "best first",
    );
    const levels = new Set(result.nodes.map((n: { level: string }) => n.level));
    assert.ok(levels.size > 1, "nodes of several levels are retrieved");
    const text = hef(["query", root, "--file", "shop/cart.py", "--line", "38", "--k", "3", ...tiny], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(text.stdout.trim().split("\n").length, 3);
  });

  test("a missing, truncated, foreign or non-embedding model gets a one-line error naming the file", async () => {
    const dir = tempDir();
    const good = await ensureTinyModel("tiny-embed");
    const truncated = join(dir, "truncated.gguf");
    writeFileSync(truncated, readFileSync(good).subarray(0, 2_000_000));
    const cutHeader = join(dir, "cut-header.gguf");
    writeFileSync(cutHeader, readFileSync(good).subarray(0, 100_000));
    const foreign = join(dir, "notes.gguf");
    writeFileSync(foreign, "these are not weights\n");
    const cases: [string, RegExp][] = [
      [join(dir, "missing.gguf"), /missing\.gguf: embedder model file not found/],
      [
        truncated,
        /truncated\.gguf: damaged: tensor description \d+ of \d+ places its data at offset \d+, past the end of the file \(2000000 bytes\)/,
      ],
      [
        cutHeader,
        /cut-header\.gguf: truncated or damaged: metadata entry \d+ of \d+ runs past the end of the file \(100000 bytes\)/,
      ],
      [foreign, /notes\.gguf: not a GGUF file$/m],
      [await ensureTinyModel("tiny-generator"), /tiny-generator\.gguf: not an embedding model/],
    ];
    for (const [model, message] of cases) {
      const out = hef(["index", SAMPLE, "--embedder", model, "--cache-dir", dir]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, message);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    }
  });

  test("usage errors exit 2 with the usage", () => {
    for (const args of [
      ["query", SAMPLE, "--line", "3"],
      ["frobnicate", SAMPLE],
      ["index", SAMPLE, "--b", "zero"],
      ["index", "no/such/dir"],
    ]) {
      const out = hef(args);
      assert.equal(out.code, 2, args.join(" "));
      assert.match(out.stderr, /Usage:/);
    }
  });
});
