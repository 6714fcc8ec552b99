import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { afterTypedIndent, typedIndent } from "../../../sidecar/completion/postprocess/typedIndent";
import { golden } from "./golden";

describe("indentation the editor typed before the completion", () => {
  test("is the whitespace-only rest of the cursor's line, and nothing when the line has text", () => {
    const cases: [string, string][] = [
      ["def f():\n    ", "    "],
      ["def f():\n\t\t", "\t\t"],
      ["    x = 1\n", ""],
      ["    x = ", ""],
      ["    ", "    "],
      ["", ""],
    ];
    for (const [prefix, indent] of cases) assert.equal(typedIndent(prefix), indent, JSON.stringify(prefix));
  });

  golden(
    (completion, { prefix }) => afterTypedIndent(completion, typedIndent(prefix)),
    [
      {
        why: "the model's indentation of the line takes the place of the typed one",
        document: "class A:\n    def f(self):\n        ║",
        completion: "        self._items = []",
        shown: "self._items = []",
      },
      {
        why: "deeper than typed: the rest of the model's indentation stays",
        document: "def f():\n    ║",
        completion: "        self.x = 1",
        shown: "    self.x = 1",
      },
      {
        why: "only the first line: the next lines keep their own indentation",
        document: "def f():\n    ║",
        completion: "    return x\n    y = 2",
        shown: "return x\n    y = 2",
      },
      {
        why: "less indented than typed: the words follow the typed indentation",
        document: "if x:\n        ║",
        completion: "    else:",
        shown: "else:",
      },
      {
        why: "tabs against spaces: the typed indentation stands",
        document: "def f():\n    ║",
        completion: "\tpass",
        shown: "pass",
      },
      {
        why: "the model starts at the cursor: nothing to drop",
        document: "def f():\n    ║",
        completion: "return total",
        shown: "return total",
      },
      {
        why: "text before the cursor: no typed indentation",
        document: "    x = ║",
        completion: "    1",
        shown: "    1",
      },
    ],
  );
});
