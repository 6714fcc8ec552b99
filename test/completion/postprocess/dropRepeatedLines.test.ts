import { describe } from "node:test";
import { dropRepeatedLines } from "../../../sidecar/completion/postprocess/dropRepeatedLines";
import { golden } from "./golden";

describe("dropRepeatedLines", () => {
  golden(
    (completion, { suffix }) => dropRepeatedLines(completion, suffix),
    [
      {
        why: "drops trailing lines that are the document's next lines",
        document: "    ║\n\n    return x\nafter()\n",
        completion: "x = 1\nreturn x",
        shown: "x = 1",
      },
      {
        why: "drops a closing brace written again",
        document: "function f() {\n║\n}\n",
        completion: "  a();\n}\n",
        shown: "  a();",
      },
      {
        why: "keeps the first line even when it repeats the next",
        document: "║\nreturn x\n",
        completion: "return x",
        shown: "return x",
      },
      {
        why: "keeps a block's own closer",
        document: "║\n}\n",
        completion: "if (x) {\n  y();\n}",
        shown: "if (x) {\n  y();\n}",
      },
    ],
  );
});
