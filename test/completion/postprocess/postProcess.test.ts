import { describe } from "node:test";
import { postProcess } from "../../../sidecar/completion/postprocess";
import { golden } from "./golden";

describe("postProcess composes the filters", () => {
  golden(
    (completion, at) => postProcess(completion, { ...at, singleLine: true }),
    [
      {
        why: "single line: the closer the line has and the next line go",
        document: "print(║)\n",
        completion: '"hi")\nprint("again")',
        shown: '"hi"',
      },
      { why: "blank is nothing", document: "x║", completion: "   ", shown: "" },
    ],
  );
  golden(
    (completion, at) => postProcess(completion, { ...at, singleLine: false }),
    [
      {
        why: "multi-line: lines that follow the cursor are not written again",
        document: "    for item in items:\n        ║\n    return total\n",
        completion: "total += item.price\n    return total\n",
        shown: "total += item.price",
      },
    ],
  );
  golden(
    (completion, at) => postProcess(completion, { ...at, singleLine: false, truncated: true }),
    [
      {
        why: "multi-line cut by the token limit: back to the last balanced line",
        document: "║",
        completion: "a = 1\nb = g(1,\n   2",
        shown: "a = 1",
      },
    ],
  );
  golden(
    (completion, at) => postProcess(completion, { ...at, singleLine: true, truncated: true }),
    [
      {
        why: "single line cut by the token limit in a loop: nothing rather than the loop",
        document: "    def tax(║",
        completion: "self, tx: str, tx: str, tx: str, tx: str, tx: str, tx: str, tx:",
        shown: "",
      },
    ],
  );
  golden(
    (completion, at) => postProcess(completion, { ...at, singleLine: true }),
    [
      {
        why: "a line the model ended itself is not taken for a loop",
        document: "    x = f(║",
        completion: "a, a, a, a, a)",
        shown: "a, a, a, a, a)",
      },
    ],
  );
});
