// `hef complete` and `hef eval` as a user runs them, on the embedded default models.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { writeRandomAdapter } from "../../sidecar/syntheticModels/randomAdapter";
import { copyOfRepo, tempDir } from "../helpers/repos";

function hef(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cacheHome = tempDir("hef-complete-cache-");
const root = copyOfRepo("samples/shop");
const scratch = tempDir("hef-complete-scratch-");

describe("hef complete", () => {
  test("--json: the completion, prompt and pseudo-tokens, the retrieved nodes and every stage's time", () => {
    const out = hef(
      ["complete", root, "--file", "shop/cart.py", "--line", "38", "--k", "8", "--max-tokens", "4", "--json"],
      { HEF_CACHE_HOME: cacheHome },
    );
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout);
    assert.equal(typeof json.completion, "string");
    assert.equal(json.mode, "hef");
    assert.equal(json.pseudoTokens, 8);
    assert.equal(json.nodes.length, 8);
    assert.ok(json.promptTokens > 0);
    for (const stage of ["queryEmbed", "search", "projection", "prefill", "decode", "total"])
      assert.equal(typeof json.timings[stage], "number", stage);
    for (const mode of ["rag", "none"]) {
      const other = hef(
        ["complete", root, "--file", "shop/cart.py", "--line", "38", "--mode", mode, "--max-tokens", "4", "--json"],
        { HEF_CACHE_HOME: cacheHome },
      );
      assert.equal(other.code, 0, other.stderr);
      assert.equal(JSON.parse(other.stdout).mode, mode);
    }
  });

  test("--entities: the names the prompt listed, after the prompt's size", () => {
    const out = hef(["complete", root, "--file", "shop/cart.py", "--line", "38", "--max-tokens", "4", "--entities"], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(out.code, 0, out.stderr);
    const listed = /^names listed \((\d+) tokens\): (.+)$/m.exec(out.stdout);
    assert.ok(listed, out.stdout);
    assert.ok(Number(listed[1]) > 0 && Number(listed[1]) <= 64);
    // Names the shop defines in other files than cart.py, which the retrieved nodes hold.
    assert.match(listed[2]!, /\b(TaxTable|Discount|PercentOff|BuyNGetOne|Inventory)\b/);
  });

  test("an adapter made for other models is refused with every mismatch named", async () => {
    const adapter = join(scratch, "wrong.gguf");
    await writeRandomAdapter(adapter, {
      embedder: { name: "qwen3-embedding-0.6b", id: "", dim: 1024 },
      generator: { name: "qwen2.5-coder-1.5b", id: "", dim: 1536 },
      projectorHidden: 8,
    });
    const out = hef(["complete", root, "--file", "shop/cart.py", "--line", "38", "--adapter", adapter], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(out.code, 1);
    assert.match(
      out.stderr,
      /embedder d is \d+ \(.*\), the adapter was made for 1024 \(qwen3-embedding-0\.6b\); generator d_g is \d+ \(.*\), the adapter was made for 1536/,
    );
  });

  test("missing and truncated model files: one-line errors naming the file", () => {
    const missing = join(scratch, "nope.gguf");
    const out = hef(["complete", root, "--file", "shop/cart.py", "--line", "38", "--generator", missing], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(out.code, 1);
    assert.equal(out.stderr.trim(), `hef: ${missing}: generator model file not found`);
    const truncated = join(scratch, "truncated.gguf");
    writeFileSync(truncated, readFileSync(join(scratch, "wrong.gguf")).subarray(0, 64));
    const bad = hef(["complete", root, "--file", "shop/cart.py", "--line", "38", "--adapter", truncated], {
      HEF_CACHE_HOME: cacheHome,
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`${truncated}: .*truncated`));
  });
});

describe("hef eval", () => {
  test("prints n, EM, ES and latency per mode for a RepoEval task file", () => {
    const repos = join(scratch, "repos");
    mkdirSync(repos);
    const shop = join(repos, "shop");
    cpSync(root, shop, { recursive: true });
    const lines = readFileSync(join(shop, "shop/cart.py"), "utf8").split("\n");
    const tasks = [20, 30, 38].map((line, i) => ({
      prompt: lines.slice(0, line).join("\n") + "\n",
      groundtruth: lines[line],
      metadata: { task_id: `shop/${i}`, fpath_tuple: ["shop", "shop", "cart.py"], line_no: line },
    }));
    const file = join(scratch, "tasks.jsonl");
    writeFileSync(file, tasks.map((t) => JSON.stringify(t)).join("\n"));
    const out = hef(["eval", file, "--repos", repos, "--mode", "hef,none"], { HEF_CACHE_HOME: cacheHome });
    assert.equal(out.code, 0, out.stderr);
    const rows = out.stdout.trim().split("\n");
    assert.match(rows[0]!, /^mode\s+n\s+EM %\s+ES %\s+ID EM %\s+p50 ms\s+p95 ms\s+tokens$/);
    assert.match(rows[1]!, /^hef\s+3\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\s+\d+\s+\d+\s+\d+$/);
    assert.match(rows[2]!, /^none\s+3\s/);
    const json = JSON.parse(
      hef(["eval", file, "--repos", repos, "--mode", "none", "--json"], { HEF_CACHE_HOME: cacheHome }).stdout,
    );
    assert.equal(json.results.length, 3);
    assert.equal(json.summaries[0].count, 3);
  });
});
