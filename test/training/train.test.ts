// `hef train` as a user runs it: the smoke preset end to end on a few small repositories, then
// `hef complete` loading what it wrote; and the errors a user meets before any training starts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { parse, UsageError } from "../../sidecar/cli/args";
import { trainArguments, trainingPython } from "../../sidecar/cli/train";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { trainingPython as setUpPython } from "../helpers/python";
import { copyOfRepo, tempDir } from "../helpers/repos";

function hef(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 900_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("hef train: arguments and environment", () => {
  test("--repos takes several folders; presets and backends are checked", () => {
    const { values, positionals } = parse([
      "train",
      "--repos",
      "a",
      "b",
      "--out",
      "o",
      "--preset",
      "smoke",
      "--set",
      "seed=3",
      "--set",
      "regime.k=8",
    ]);
    const args = trainArguments(values, positionals.slice(1));
    assert.deepEqual(args.slice(0, 6), ["-m", "hef_training", "train", "--repos", resolve("a"), resolve("b")]);
    assert.deepEqual(args.slice(-4), ["--set", "seed=3", "--set", "regime.k=8"]);
    assert.throws(() => trainArguments(parse(["train", "--out", "o"]).values, []), UsageError);
    assert.throws(() => trainArguments(parse(["train", "--repos", "a"]).values, []), /--out/);
    assert.throws(
      () => trainArguments(parse(["train", "--repos", "a", "--out", "o", "--preset", "huge"]).values, []),
      /--preset must be one of smoke, cpu, gpu/,
    );
  });

  test("without the training environment: one line saying how to make it", () => {
    const root = tempDir("hef-no-venv-");
    assert.throws(() => trainingPython(root), /the training environment is not set up .*run `npm run setup:training`/);
  });
});

const skip = buildNativeAddon();

describe("hef train --preset smoke, then hef complete with what it wrote", { skip }, () => {
  const out = join(tempDir("hef-train-smoke-"), "run");
  const cacheHome = tempDir("hef-train-cache-");
  const repos = [
    copyOfRepo("samples/shop"),
    copyOfRepo("node_modules/vscode-jsonrpc/lib/common"),
    copyOfRepo("node_modules/vscode-languageserver-protocol/lib/common"),
    copyOfRepo("sidecar/completion"),
  ];
  // Two export processes: the repositories split between them, the first export beside pre-training.
  const args = [
    "train",
    "--repos",
    ...repos,
    "--out",
    out,
    "--preset",
    "smoke",
    "--backend",
    "cpu",
    "--set",
    "export_processes=2",
  ];
  let train: ReturnType<typeof hef>;

  before(() => {
    setUpPython();
    train = hef(args);
  });

  test("every stage ran and lowered its loss (on held-out examples where it has them); the record and logs are kept", () => {
    assert.equal(train.code, 0, train.stderr);
    const record = JSON.parse(readFileSync(join(out, "recipe.json"), "utf8"));
    for (const stage of ["generator", "embedder", "fuser", "warmup", "separate", "e2e"]) {
      const report = record.stages[stage];
      assert.ok(report, `stage ${stage} ran`);
      // A fixed held-out batch where the stage has one: one step's loss is one random batch's.
      const before = report.initial_diagnostics.gold_loss ?? report.first_loss;
      const after = report.diagnostics.gold_loss ?? report.last_loss;
      assert.ok(after < before, `${stage}: loss ${before} -> ${after}`);
      assert.ok(existsSync(join(out, "logs", `${stage}.jsonl`)), `${stage} log`);
    }
    assert.equal(record.config.preset, "smoke");
    assert.ok(record.uwl.total > 0 && Object.keys(record.uwl.per_repo).length > 0);
    assert.match(
      train.stderr,
      /\[generator\] step 60\/60 .* tok\/s/,
      "a progress line with step, loss, tokens/s and time left",
    );
    assert.ok(existsSync(join(out, "models", "pretrained", "generator.gguf")), "the generator before the regimes");
  });

  test("the export ran in two processes, the first one before the generator's pre-training ended, and missed no repository", () => {
    const lines = train.stdout.split("\n");
    const exporting = lines.findIndex((l) => /exporting .*\(initial embedder, 2 processes\)/.test(l));
    const pretrained = lines.findIndex((l) => l.startsWith("hef train: generator: loss"));
    assert.ok(exporting >= 0 && exporting < pretrained, train.stdout);
    const record = JSON.parse(readFileSync(join(out, "recipe.json"), "utf8"));
    const retrieval = Object.keys(record.retrieval_repos).sort();
    assert.ok(retrieval.length >= 2);
    for (const name of ["initial", "final"]) {
      const done = JSON.parse(readFileSync(join(out, "exports", name, "done.json"), "utf8"));
      assert.equal(done.processes, 2);
      const exported = done.summary.repos.map((r: { repo: string }) => r.repo).sort();
      assert.deepEqual(exported, retrieval, `${name}: every repository exported once`);
    }
  });

  test("hef complete loads the generator, embedder and adapter and completes with pseudo-tokens", () => {
    const models = join(out, "models");
    const completion = hef(
      [
        "complete",
        repos[0]!,
        "--file",
        "shop/cart.py",
        "--line",
        "38",
        "--generator",
        join(models, "generator.gguf"),
        "--embedder",
        join(models, "embedder.gguf"),
        "--adapter",
        join(models, "adapter.gguf"),
        "--json",
      ],
      { HEF_CACHE_HOME: cacheHome },
    );
    assert.equal(completion.code, 0, completion.stderr);
    const json = JSON.parse(completion.stdout);
    assert.equal(typeof json.completion, "string");
    assert.equal(json.pseudoTokens, 16, "the smoke preset's K");
    assert.ok(json.generatedTokens > 0);
  });

  test("run again, it finds every step done and trains nothing", () => {
    const again = hef(args);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /step 1\//);
  });
});
