import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { onEmptyLine } from "../../sidecar/completion/emptyLine";

describe("onEmptyLine", () => {
  test("an empty line, with or without indentation typed, anywhere in a file", () => {
    assert.equal(onEmptyLine("", ""), true);
    assert.equal(onEmptyLine("import os\n", ""), true);
    assert.equal(onEmptyLine("def f():\n    ", "\nx = 1\n"), true);
    assert.equal(onEmptyLine("a = 1\r\n", "\r\nb = 2\r\n"), true);
    assert.equal(onEmptyLine("a = 1\n", "   \nb = 2"), true);
  });

  test("not after code on the line, nor before code at its start", () => {
    assert.equal(onEmptyLine("import o", "\n"), false);
    assert.equal(onEmptyLine("import os\n", "import sys\n"), false);
    assert.equal(onEmptyLine("", "x = 1"), false);
    assert.equal(onEmptyLine("def f():\n    ", "return 1\n"), false);
  });
});
