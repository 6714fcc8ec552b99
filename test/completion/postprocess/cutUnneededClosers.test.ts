import { describe } from "node:test";
import { cutUnneededClosers } from "../../../sidecar/completion/postprocess/cutUnneededClosers";
import { golden } from "./golden";

describe("cutUnneededClosers", () => {
  golden(
    (completion, { prefix, suffix }) => cutUnneededClosers(completion, prefix, suffix),
    [
      {
        why: "cuts a closer the rest of the line already has",
        document: "print(║)\n",
        completion: '"hello")',
        shown: '"hello"',
      },
      { why: "cuts several kinds of closers the line has", document: "f([║])\n", completion: "a, b])", shown: "a, b" },
      { why: "keeps closers the completion opened itself", document: "print(║)\n", completion: "g(x)", shown: "g(x)" },
      {
        why: "keeps a closer the document still needs (it closes g( while the line closes f()",
        document: "f(g(║)\n",
        completion: "x)",
        shown: "x)",
      },
      {
        why: "keeps a closer when nothing after the cursor closes it",
        document: "f(║\nnext()\n",
        completion: "x)",
        shown: "x)",
      },
      { why: "ignores brackets inside strings", document: "print(║)\n", completion: '")")', shown: '")"' },
    ],
  );
});
