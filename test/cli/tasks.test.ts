// `hef tasks` on a repositories folder holding samples/shop: the tasks target only files the index
// reads, parse as RepoEval tasks, are the same for the same seed, and `hef eval` runs them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { futureExcluded, parseTasks } from "../../sidecar/eval/tasks";
import { tempDir } from "../helpers/repos";

function hef(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratch = tempDir("hef-tasks-");
const repos = join(scratch, "repos");
cpSync("samples/shop", join(repos, "shop"), { recursive: true });
mkdirSync(join(repos, "empty"));
mkdirSync(join(repos, ".git"));
// Files the index leaves out must never be targets: an excluded folder, a binary file.
mkdirSync(join(repos, "shop/build"));
writeFileSync(
  join(repos, "shop/build/generated.py"),
  Array.from({ length: 50 }, (_, i) => `generated_${i} = ${i}`).join("\n"),
);
writeFileSync(join(repos, "shop/shop/blob.py"), Buffer.concat([Buffer.from("x = 1\n".repeat(20)), Buffer.from([0])]));

function tasksFile(
  name: string,
  args: string[],
): {
  path: string;
  json: { repos: { repo: string; files: number; candidates: number; tasks: number }[]; tasks: number };
} {
  const path = join(scratch, name);
  const out = hef(["tasks", repos, "--out", path, "--json", ...args]);
  assert.equal(out.code, 0, out.stderr);
  return { path, json: JSON.parse(out.stdout) };
}

describe("hef tasks", () => {
  test("line tasks: RepoEval format, prompts cut exactly before the target, caps kept, only indexed files", () => {
    const { path, json } = tasksFile("line.jsonl", ["--per-file", "2", "--per-repo", "12"]);
    assert.deepEqual(
      json.repos.map((r) => r.repo),
      ["empty", "shop"],
      "hidden folders are no repositories",
    );
    assert.deepEqual(json.repos[0], { repo: "empty", files: 0, candidates: 0, tasks: 0 });
    const shop = json.repos[1]!;
    assert.equal(shop.files, 10, "the files `hef index` indexes");
    assert.ok(shop.candidates > 12);
    assert.equal(shop.tasks, 12);
    assert.equal(json.tasks, 12);

    const tasks = parseTasks(readFileSync(path, "utf8"), path);
    assert.equal(tasks.length, 12);
    const perFile = new Map<string, number>();
    for (const task of tasks) {
      assert.equal(task.repo, "shop");
      assert.ok(!task.path.startsWith("build/") && task.path !== "shop/blob.py", task.path);
      const text = readFileSync(join(repos, "shop", task.path), "utf8");
      assert.equal(task.prompt, futureExcluded(text, task.lineNo));
      assert.equal(task.groundTruth, text.split("\n")[task.lineNo]);
      assert.ok(task.lineNo >= 3 && task.groundTruth.trim().length >= 4);
      assert.equal(task.metadata.kind, "line");
      perFile.set(task.path, (perFile.get(task.path) ?? 0) + 1);
    }
    assert.ok([...perFile.values()].every((n) => n <= 2));
    assert.ok(perFile.size > 6, "spread over the files");

    const table = hef(["tasks", repos, "--out", join(scratch, "table.jsonl"), "--per-file", "2", "--per-repo", "12"]);
    assert.match(
      table.stdout,
      /^repo\s+files\s+candidates\s+tasks\nempty\s+0\s+0\s+0\nshop\s+10\s+\d+\s+12\ntotal\s+12\n$/,
    );
  });

  test("the same seed writes the same file; another seed other tasks", () => {
    const a = readFileSync(tasksFile("a.jsonl", ["--seed", "3", "--per-repo", "20"]).path);
    const b = readFileSync(tasksFile("b.jsonl", ["--seed", "3", "--per-repo", "20"]).path);
    const c = readFileSync(tasksFile("c.jsonl", ["--seed", "4", "--per-repo", "20"]).path);
    assert.ok(a.equals(b));
    assert.ok(!a.equals(c));
  });

  test("--cross-file: every target uses a name another file defines, recorded in metadata.names", () => {
    const { path, json } = tasksFile("cross.jsonl", ["--cross-file", "--per-repo", "30"]);
    const tasks = parseTasks(readFileSync(path, "utf8"));
    assert.equal(tasks.length, json.tasks);
    assert.ok(tasks.length > 5);
    for (const task of tasks) {
      assert.equal(task.metadata.kind, "cross-file");
      const names = task.metadata.names as string[];
      assert.ok(names.length > 0);
      for (const name of names) assert.ok(task.groundTruth.includes(name), `${name} in ${task.groundTruth}`);
      assert.ok(task.path.endsWith(".py"), "files without a grammar give no cross-file tasks");
      const lines = readFileSync(join(repos, task.repo, task.path), "utf8")
        .split("\n")
        .slice(0, task.lineNo);
      const quotes = lines.join("\n").split('"""').length - 1;
      assert.equal(quotes % 2, 0, `${task.taskId}: not inside a docstring`);
    }
    assert.ok(tasks.some((t) => (t.metadata.names as string[]).includes("Cart") && t.path !== "shop/cart.py"));
  });

  test("`hef eval` runs the task file", () => {
    const { path } = tasksFile("eval.jsonl", ["--per-repo", "3"]);
    const out = hef(["eval", path, "--repos", repos, "--mode", "none", "--json"], {
      HEF_CACHE_HOME: join(scratch, "cache"),
    });
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout);
    assert.equal(json.results.length, 3);
    assert.equal(json.summaries[0].count, 3);
  });

  test("usage errors exit 2", () => {
    for (const args of [
      ["tasks", repos],
      ["tasks", repos, "--out", join(scratch, "x.jsonl"), "--per-file", "0"],
      ["tasks", repos, "--out", join(scratch, "x.jsonl"), "--seed", "-1"],
    ]) {
      const out = hef(args);
      assert.equal(out.code, 2, args.join(" "));
      assert.match(out.stderr, /Usage:/);
    }
  });
});
