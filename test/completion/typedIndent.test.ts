import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { afterTypedIndent, typedIndent } from "../../sidecar/completion/typedIndent";

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

  test("takes the place of the model's own indentation for the first line only", () => {
    const cases: [string, string, string][] = [
      ["        self._items = []", "        ", "self._items = []"],
      ["    return x\n    y = 2", "    ", "return x\n    y = 2"],
      ["    else:", "        ", "else:"],
      ["\tpass", "    ", "pass"],
      ["return total", "    ", "return total"],
      ["    x", "", "    x"],
    ];
    for (const [completion, indent, shown] of cases) assert.equal(afterTypedIndent(completion, indent), shown, JSON.stringify([completion, indent]));
  });
});
