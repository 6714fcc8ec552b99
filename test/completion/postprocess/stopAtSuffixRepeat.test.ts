import { describe } from "node:test";
import { stopAtSuffixRepeat } from "../../../sidecar/completion/postprocess/stopAtSuffixRepeat";
import { golden } from "./golden";

describe("stopAtSuffixRepeat", () => {
  golden(
    (completion, { suffix }) => stopAtSuffixRepeat(completion, suffix),
    [
      { why: "cuts the rest of the line written again", document: "foo║;\n", completion: "();", shown: "()" },
      {
        why: "cuts a longer repeat of the rest of the line",
        document: 'open(║, encoding="utf-8")\n',
        completion: '"a.txt", encoding="utf-8"',
        shown: '"a.txt"',
      },
      { why: "leaves a short partial overlap alone", document: "y = ║x + 1\n", completion: "a * x", shown: "a * x" },
      {
        why: "leaves a repeat that includes a closer to cutUnneededClosers",
        document: "print(║)\n",
        completion: "foo(x)",
        shown: "foo(x)",
      },
      {
        why: "nothing follows on the line: nothing to repeat",
        document: "x = ║\nnext",
        completion: "anything",
        shown: "anything",
      },
    ],
  );
});
