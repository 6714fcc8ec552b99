// `hef eval`'s harness: the metrics of a hand-worked example, and the target's future kept out of
// the index (the target file is cut at the cursor, the previous target restored).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { HefCache } from "../../sidecar/cache/hefCache";
import type { CompletionEngine, CompletionRequest, CompletionResult } from "../../sidecar/completion/types";
import { runEval } from "../../sidecar/eval/runEval";
import { parseTasks } from "../../sidecar/eval/tasks";
import { tempDir } from "../helpers/repos";

const MOD = "def add(a, b):\n    return a + b\n\ny = 2\nx = compute(y)\n";
const OTHER = "import mod\nprint(x)\n";

/** Answers from a table keyed by ground truth, and records what the index could see at each request. */
function fakeEngine(
  predictions: Record<string, string>,
  seen: { path: string; onDisk: string; other: string; refreshed: string[] }[],
  requests: CompletionRequest[] = [],
): CompletionEngine {
  let refreshed: string[] = [];
  return {
    backend: "CPU",
    models: { embedder: "e", generator: "g", adapter: "a" },
    async openRepository(root) {
      return {
        root,
        sync: async () => undefined,
        refresh: async (paths: readonly string[]) => {
          refreshed = [...paths];
        },
      } as unknown as HefCache;
    },
    async complete(cache, request: CompletionRequest): Promise<CompletionResult> {
      requests.push(request);
      seen.push({
        path: request.path,
        onDisk: readFileSync(join(cache.root, request.path), "utf8"),
        other: readFileSync(join(cache.root, request.path === "pkg/mod.py" ? "main.py" : "pkg/mod.py"), "utf8"),
        refreshed,
      });
      const truth = request.prefix.split("\n").at(-1)!;
      return {
        text: predictions[truth]!,
        mode: request.mode,
        stopReason: "eog",
        promptTokens: 1,
        pseudoTokens: 0,
        contextTokens: 0,
        entityTokens: 0,
        entityNames: request.entities ? ["Helper"] : [],
        prefixChars: request.prefix.length,
        reused: 0,
        decoded: 1,
        generatedTokens: 1,
        nodes: [],
        timings: {
          queryEmbed: 0,
          search: 0,
          projection: 0,
          prefill: 1,
          decode: 1,
          total: 10 * (Object.keys(predictions).indexOf(truth) + 1),
        },
      };
    },
    resetCaches: async () => undefined,
    warmUp: async () => undefined,
    dispose: async () => undefined,
  };
}

describe("hef eval harness", () => {
  test("EM, ES and latency of a hand-worked example; the future of each target is not on disk", async () => {
    const repos = tempDir("hef-eval-repos-");
    mkdirSync(join(repos, "repoA", "pkg"), { recursive: true });
    writeFileSync(join(repos, "repoA", "pkg", "mod.py"), MOD);
    writeFileSync(join(repos, "repoA", "main.py"), OTHER);
    // The prompt's last line names the task (the fake engine keys its answer by it).
    const tasks = parseTasks(
      [
        {
          prompt: "def add(a, b):\nt1",
          groundtruth: "    return a + b",
          metadata: { task_id: "repoA/1", fpath_tuple: ["repoA", "pkg", "mod.py"], line_no: 1 },
        },
        {
          prompt: "y = 2\nt2",
          groundtruth: "x = compute(y)",
          metadata: { task_id: "repoA/2", fpath: "repoA/pkg/mod.py", line_no: 4 },
        },
        {
          prompt: "import mod\nt3",
          groundtruth: "print(x)",
          metadata: { task_id: "repoA/3", fpath: "repoA/main.py", line_no: 1 },
        },
      ]
        .map((t) => JSON.stringify(t))
        .join("\n"),
    );
    const seen: { path: string; onDisk: string; other: string; refreshed: string[] }[] = [];
    const requests: CompletionRequest[] = [];
    const engine = fakeEngine({ t1: "return a + b", t2: "x = compute(z)", t3: "" }, seen, requests);
    const { summaries, results } = await runEval({
      engine,
      tasks,
      reposDir: repos,
      modes: ["none"],
      workDir: tempDir("hef-eval-work-"),
    });

    // t1: same line once stripped: EM 1, ES 1. t2: one substitution in 14 characters: ES 13/14.
    // t3: nothing predicted for 8 characters: Levenshtein 8, ES 1 - 8/8 = 0.
    assert.deepEqual(
      results.map((r) => [r.exactMatch, r.editSimilarity]),
      [
        [true, 1],
        [false, 13 / 14],
        [false, 0],
      ],
    );
    // What the error analysis reads: the names the entity line listed and how much of the prompt the window held.
    assert.deepEqual(
      results.map((r) => [r.entityNames, r.prefixChars]),
      requests.map((r) => [[], r.prefix.length]),
    );
    const [summary] = summaries;
    assert.equal(summary!.count, 3);
    assert.equal(summary!.exactMatch, 1 / 3);
    assert.ok(Math.abs(summary!.editSimilarity - (1 + 13 / 14 + 0) / 3) < 1e-12);
    assert.equal(summary!.latency.p50, 20);
    assert.equal(summary!.latency.p95, 30);

    // What the index could read at each task: the target up to its cursor, every other file whole.
    assert.equal(seen[0]!.onDisk, "def add(a, b):\n");
    assert.equal(seen[1]!.onDisk, "def add(a, b):\n    return a + b\n\ny = 2\n");
    assert.equal(seen[2]!.onDisk, "import mod\n");
    assert.equal(seen[2]!.other, MOD, "the previous target is restored");
    assert.deepEqual(seen[2]!.refreshed, ["pkg/mod.py", "main.py"]);
    // The engine runs warm across tasks; its retrieval memory must not carry a task's nodes into the next (t1 -> t2, one file).
    assert.deepEqual(
      requests.map((r) => r.retrievalMemory),
      [false, false, false],
    );
    assert.equal(
      readFileSync(join(repos, "repoA", "pkg", "mod.py"), "utf8"),
      MOD,
      "the original repository is never written",
    );
    // rag's raw-context budget: the engine's own unless the run names one.
    assert.deepEqual(
      requests.map((r) => r.ragBudget),
      [undefined, undefined, undefined],
    );
    const budgeted: CompletionRequest[] = [];
    await runEval({
      engine: fakeEngine({ t1: "", t2: "", t3: "" }, [], budgeted),
      tasks,
      reposDir: repos,
      modes: ["rag"],
      workDir: tempDir("hef-eval-work-"),
      ragBudget: 1024,
      entities: true,
    });
    assert.deepEqual(
      budgeted.map((r) => [r.ragBudget, r.entities]),
      [
        [1024, true],
        [1024, true],
        [1024, true],
      ],
    );
  });

  test("ablations hand each request another task's query, zero pseudo-tokens, or another repository's cache", async () => {
    const repos = tempDir("hef-eval-ablation-repos-");
    for (const repo of ["repoA", "repoB"]) {
      mkdirSync(join(repos, repo, "pkg"), { recursive: true });
      writeFileSync(join(repos, repo, "pkg", "mod.py"), MOD);
      writeFileSync(join(repos, repo, "main.py"), OTHER);
    }
    const tasks = parseTasks(
      [
        ["repoA/1", "pkg/mod.py"],
        ["repoA/2", "pkg/mod.py"],
        ["repoA/3", "main.py"],
        ["repoB/1", "pkg/mod.py"],
        ["repoB/2", "main.py"],
      ]
        .map(([id, path], i) => ({
          prompt: `y = 2\nt${i + 1}`,
          groundtruth: "x",
          metadata: { task_id: id, fpath: `${id!.split("/")[0]}/${path}`, line_no: 1 },
        }))
        .map((t) => JSON.stringify(t))
        .join("\n"),
    );
    const run = async (ablation: "shuffled" | "zeroed" | "foreign") => {
      const requests: CompletionRequest[] = [];
      await runEval({
        engine: fakeEngine({ t1: "x", t2: "x", t3: "x", t4: "x", t5: "x" }, [], requests),
        tasks,
        reposDir: repos,
        modes: ["hef"],
        workDir: tempDir("hef-eval-ablation-work-"),
        ablation,
      });
      return requests;
    };
    const shuffled = await run("shuffled");
    // The next task in another file of the same repository, wrapping round: never the same file's next task.
    assert.deepEqual(
      shuffled.map((r) => r.retrieval?.prefix),
      ["y = 2\nt3", "y = 2\nt3", "y = 2\nt1", "y = 2\nt5", "y = 2\nt4"],
    );
    assert.ok((await run("zeroed")).every((r) => r.zeroPseudoTokens === true && r.retrieval === undefined));
    const foreign = await run("foreign");
    assert.deepEqual(
      foreign.map((r) => r.retrieval?.cache?.root.split(/[\\/]/).at(-1)),
      ["repoB", "repoB", "repoB", "repoA", "repoA"],
    );
    await assert.rejects(
      runEval({
        engine: fakeEngine({}, []),
        tasks: tasks.slice(0, 3),
        reposDir: repos,
        modes: ["hef"],
        workDir: tempDir("hef-eval-ablation-work-"),
        ablation: "foreign",
      }),
      /at least 2 repositories/,
    );
  });
});
