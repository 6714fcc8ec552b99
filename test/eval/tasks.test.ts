import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { futureExcluded, groupByRepo, parseTasks } from "../../sidecar/eval/tasks";

const repoEvalLine = JSON.stringify({
  prompt: "import os\n",
  metadata: {
    task_id: "CarperAI--trlx/0",
    ground_truth: "x = 1\n",
    fpath_tuple: ["CarperAI_trlx", "trlx", "utils.py"],
    line_no: 17,
    context_start_lineno: 0,
  },
});
const issueLine = JSON.stringify({
  prompt: "p",
  groundtruth: "g",
  metadata: { task_id: 3, fpath: "repo_b/src/a.ts", line_no: 0 },
});

describe("parseTasks", () => {
  it("reads RepoEval's own format and the fpath form", () => {
    const tasks = parseTasks(`${repoEvalLine}\n\n${issueLine}\n`);
    assert.equal(tasks.length, 2);
    assert.deepEqual(
      tasks.map((t) => [t.taskId, t.repo, t.path, t.lineNo, t.groundTruth]),
      [
        ["CarperAI--trlx/0", "CarperAI_trlx", "trlx/utils.py", 17, "x = 1\n"],
        ["3", "repo_b", "src/a.ts", 0, "g"],
      ],
    );
    assert.equal(tasks[0]!.metadata.context_start_lineno, 0);
  });

  it("fails on a malformed line with its line number", () => {
    const cases: Array<[string, RegExp]> = [
      ["{not json", /: t\.jsonl:3: /],
      [
        JSON.stringify({ prompt: "p", metadata: { task_id: "a", fpath: "r/a.py", line_no: 1 } }),
        /: t\.jsonl:3: groundtruth/,
      ],
      [
        JSON.stringify({ prompt: "p", groundtruth: "g", metadata: { task_id: "a", fpath: "r/a.py", line_no: -1 } }),
        /line_no/,
      ],
      [JSON.stringify({ prompt: "p", groundtruth: "g", metadata: { task_id: "a", line_no: 1 } }), /fpath/],
      [
        JSON.stringify({ prompt: "p", groundtruth: "g", metadata: { task_id: "a", fpath: "a.py", line_no: 1 } }),
        /repository segment/,
      ],
      ["[1]", /not a JSON object/],
    ];
    for (const [bad, message] of cases)
      assert.throws(() => parseTasks(`${repoEvalLine}\n${issueLine}\n${bad}\n`, "t.jsonl"), message);
  });
});

describe("groupByRepo", () => {
  it("keeps file order within and across repositories", () => {
    const other = repoEvalLine.replace('"CarperAI--trlx/0"', '"CarperAI--trlx/1"');
    const groups = groupByRepo(parseTasks([repoEvalLine, issueLine, other].join("\n")));
    assert.deepEqual([...groups.keys()], ["CarperAI_trlx", "repo_b"]);
    assert.deepEqual(
      groups.get("CarperAI_trlx")!.map((t) => t.taskId),
      ["CarperAI--trlx/0", "CarperAI--trlx/1"],
    );
  });
});

describe("futureExcluded", () => {
  const file = "l0\nl1\r\nl2\nl3";
  it("keeps the lines before the target line", () => {
    assert.equal(futureExcluded(file, 0), "");
    assert.equal(futureExcluded(file, 2), "l0\nl1\r\n");
    assert.equal(futureExcluded(file, 3), "l0\nl1\r\nl2\n");
    assert.equal(futureExcluded("a\nb\n", 2), "a\nb\n"); // the empty last line
  });

  it("rejects a line past the end", () => {
    assert.throws(() => futureExcluded(file, 4), RangeError);
  });
});
