import { describe } from "node:test";
import { firstLine } from "../../../sidecar/completion/postprocess/firstLine";
import { golden } from "./golden";

describe("firstLine", () => {
  golden(
    (completion, { prefix }) => firstLine(completion, prefix),
    [
      { why: "stops at the first line break", document: "x = ║", completion: "foo()\nbar()", shown: "foo()" },
      {
        why: "after a line with text, a completion starting with a break is the next line",
        document: "    total = 1║",
        completion: "\n    return total\n",
        shown: "\n    return total",
      },
      { why: "blank lines before it are skipped", document: "x = 1║", completion: "\n\n  \nfoo()", shown: "\nfoo()" },
      {
        why: "on a blank line, leading breaks go and so does the indentation already typed",
        document: "def f():\n    ║",
        completion: "\n    return total",
        shown: "return total",
      },
      { why: "indentation other than the typed one goes entirely", document: "    ║", completion: "\n  x", shown: "x" },
      { why: "nothing but line breaks is nothing", document: "a\n║", completion: "\n\n", shown: "" },
    ],
  );
});
