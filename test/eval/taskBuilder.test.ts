// The task builder's rules on hand-made files: which lines may be targets, cross-file selection,
// seeded and capped sampling.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  buildRepoTasks,
  candidateLines,
  crossFileNames,
  fileLines,
  isCandidateLine,
  spreadSample,
  type RepoFile,
} from "../../sidecar/eval/taskBuilder";
import { futureExcluded, parseTasks } from "../../sidecar/eval/tasks";

const PY = [
  "import os", // 0: too little prefix
  "from shop.cart import Cart", // 1
  "", // 2
  "", // 3: blank
  "# a comment line", // 4: comment
  "    total = compute_total(cart)", // 5: candidate
  "    )", // 6: closing only
  "    x = 1", // 7: 5 characters stripped: candidate
  "    y=1", // 8: 3 characters: too short
  `    s = "${"a".repeat(200)}"`, // 9: too long
  "    return total  # trailing comment is fine", // 10: candidate
].join("\n");

describe("candidate lines", () => {
  test("blank, comment-only, bracket-only, short, long and early lines are rejected", () => {
    assert.deepEqual(candidateLines("shop/a.py", fileLines(PY)), [5, 7, 10]);
  });

  test("the comment marker is the language's; // languages also skip block comment lines", () => {
    assert.equal(isCandidateLine("a.py", "// not a comment in Python"), true);
    assert.equal(isCandidateLine("a.ts", "// a comment"), false);
    assert.equal(isCandidateLine("a.ts", " * @param cart the cart"), false);
    assert.equal(isCandidateLine("a.ts", "/* block */"), false);
    assert.equal(isCandidateLine("a.sql", "-- a comment"), false);
    assert.equal(isCandidateLine("a.ts", "# not a comment in TypeScript"), true);
  });

  test("lines of closing brackets and punctuation alone are rejected, code after a bracket is kept", () => {
    for (const line of ["  });", "  ]);,", "}))));", "  ) ) :"])
      assert.equal(isCandidateLine("a.ts", line), false, line);
    for (const line of ["} else {", "}).then(done);"]) assert.equal(isCandidateLine("a.ts", line), true, line);
  });

  test("CRLF files: the ground truth has no line end, the prompt keeps the file's", () => {
    const text = "a = 1\r\nb = 2\r\nc = 3\r\nvalue = a + b\r\n";
    const { tasks } = buildRepoTasks("r", [{ path: "m.py", text }]);
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.groundtruth, "value = a + b");
    assert.equal(tasks[0]!.prompt, "a = 1\r\nb = 2\r\nc = 3\r\n");
  });
});

describe("cross-file selection", () => {
  test("names the repository defines outside the line's own file, in order of first use", () => {
    const repository = new Set(["Cart", "compute_total", "helper", "Stock"]);
    const own = new Set(["helper"]);
    assert.deepEqual(crossFileNames("x = compute_total(Cart(), helper(Cart))", own, repository), [
      "compute_total",
      "Cart",
    ]);
    assert.deepEqual(crossFileNames("x = helper(1)", own, repository), []);
  });

  test("with definitions, only lines using another file's name are tasks, and carry the names", () => {
    const files: RepoFile[] = [
      {
        path: "a.py",
        text: "def compute_total(cart):\n    return 1\n\n\nvalue = compute_total(None)\nother = local_thing()\n",
      },
      { path: "b.py", text: "import a\n\n\nresult = compute_total(cart)\nplain = local_thing()\n" },
      { path: "notes.md", text: "one\ntwo\nthree\ncompute_total is used here\n" },
    ];
    const definitions = new Map([
      ["a.py", ["compute_total", "value", "other"]],
      ["b.py", ["result", "plain", "local_thing"]],
    ]);
    const { tasks, candidates } = buildRepoTasks("r", files, { definitions });
    assert.equal(candidates, 2);
    assert.deepEqual(
      tasks.map((t) => [t.metadata.fpath_tuple.join("/"), t.metadata.line_no, t.metadata.kind, t.metadata.names]),
      [
        ["r/a.py", 5, "cross-file", ["local_thing"]],
        ["r/b.py", 3, "cross-file", ["compute_total"]],
      ],
    );
  });

  test("lines inside a string literal (a docstring's prose) are not cross-file targets", () => {
    const files: RepoFile[] = [
      { path: "a.py", text: "def compute_total(cart):\n    return 1\n" },
      {
        path: "b.py",
        text: 'import a\n\n\ndef f():\n    """\n    calls compute_total on it\n    """\n    return compute_total(cart)\n',
      },
    ];
    const definitions = new Map([
      ["a.py", ["compute_total"]],
      ["b.py", ["f"]],
    ]);
    const all = buildRepoTasks("r", files, { definitions });
    assert.deepEqual(
      all.tasks.map((t) => t.metadata.line_no),
      [5, 7],
    );
    const code = buildRepoTasks("r", files, { definitions, prose: new Map([["b.py", new Set([5, 6])]]) });
    assert.deepEqual(
      code.tasks.map((t) => t.metadata.line_no),
      [7],
    );
  });
});

function manyFiles(count: number, linesEach: number): RepoFile[] {
  return Array.from({ length: count }, (_, f) => ({
    path: `pkg/m${String(f).padStart(2, "0")}.py`,
    text: Array.from({ length: linesEach }, (_, i) => `value_${i} = compute(${f}, ${i})`).join("\n") + "\n",
  }));
}

describe("sampling", () => {
  test("the same seed gives the same tasks, another seed others; the format is what parseTasks reads", () => {
    const files = manyFiles(6, 40);
    const a = buildRepoTasks("repo", files, { seed: 7, perRepo: 20 });
    assert.deepEqual(buildRepoTasks("repo", files, { seed: 7, perRepo: 20 }), a);
    assert.notDeepEqual(buildRepoTasks("repo", files, { seed: 8, perRepo: 20 }).tasks, a.tasks);
    const parsed = parseTasks(a.tasks.map((t) => JSON.stringify(t)).join("\n"));
    assert.equal(parsed.length, 20);
    for (const [n, task] of parsed.entries()) {
      const file = files.find((f) => f.path === task.path)!;
      assert.equal(task.taskId, `repo/${n}`);
      assert.equal(task.repo, "repo");
      assert.equal(task.prompt, futureExcluded(file.text, task.lineNo));
      assert.equal(task.groundTruth, file.text.split("\n")[task.lineNo]);
      assert.equal(task.metadata.kind, "line");
      assert.deepEqual(task.metadata.names, []);
    }
    const order = parsed.map((t) => `${t.path}:${String(t.lineNo).padStart(3, "0")}`);
    assert.deepEqual(order, [...order].sort(), "file order, then line order");
  });

  test("at most perFile per file and perRepo in all, spread over the files", () => {
    const files = manyFiles(6, 40);
    const perFile = (tasks: { metadata: { fpath_tuple: string[] } }[]) => {
      const counts = new Map<string, number>();
      for (const t of tasks)
        counts.set(t.metadata.fpath_tuple.join("/"), (counts.get(t.metadata.fpath_tuple.join("/")) ?? 0) + 1);
      return [...counts.values()];
    };
    const capped = buildRepoTasks("r", files, { perFile: 3, perRepo: 100 });
    assert.equal(capped.tasks.length, 18);
    assert.deepEqual(perFile(capped.tasks), [3, 3, 3, 3, 3, 3]);
    const spread = buildRepoTasks("r", files, { perFile: 10, perRepo: 14 });
    assert.equal(spread.tasks.length, 14);
    assert.deepEqual(perFile(spread.tasks).sort(), [2, 2, 2, 2, 3, 3], "files take turns");
    assert.equal(spread.candidates, 6 * 37);
  });

  test("a group's picks do not depend on the other groups", () => {
    const one = spreadSample([[1, 2, 3, 4, 5, 6]], ["a.py"], "s", 3, 100);
    const two = spreadSample(
      [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ],
      ["a.py", "b.py"],
      "s",
      3,
      100,
    );
    assert.deepEqual(two.filter((x) => x <= 6).sort(), [...one].sort());
  });

  test("a repository without candidates gives no tasks", () => {
    assert.deepEqual(buildRepoTasks("r", []), { files: 0, candidates: 0, tasks: [] });
    assert.deepEqual(buildRepoTasks("r", [{ path: "a.py", text: "\n\n\n\n# only comments\n" }]).tasks, []);
  });
});
