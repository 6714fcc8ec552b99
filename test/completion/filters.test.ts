import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cutUnneededClosers,
  dropRepeatedLines,
  dropUnclosedTail,
  firstLine,
  postProcess,
  stopAtSuffixRepeat,
  trimTrailingWhitespace,
} from "../../sidecar/completion/filters";

describe("firstLine", () => {
  it("stops at the first line break", () => {
    assert.equal(firstLine("foo()\nbar()", "x = "), "foo()");
  });
  it("after a line with text, a completion starting with a break is the next line", () => {
    assert.equal(firstLine("\n    return total\n", "    total = 1"), "\n    return total");
    assert.equal(firstLine("\n\n  \nfoo()", "x = 1"), "\nfoo()");
  });
  it("on a blank line, leading breaks go and so does the indentation already typed", () => {
    assert.equal(firstLine("\n    return total", "def f():\n    "), "return total");
    assert.equal(firstLine("\n  x", "    "), "x");
    assert.equal(firstLine("\n\n", "a\n"), "");
  });
});

describe("cutUnneededClosers", () => {
  it("cuts a closer the rest of the line already has", () => {
    assert.equal(cutUnneededClosers('"hello")', "print(", ")\n"), '"hello"');
    assert.equal(cutUnneededClosers("a, b])", "f([", "])\n"), "a, b");
  });
  it("keeps closers the completion opened itself", () => {
    assert.equal(cutUnneededClosers("g(x)", "print(", ")\n"), "g(x)");
  });
  it("keeps a closer the document still needs", () => {
    assert.equal(cutUnneededClosers("x)", "f(g(", ")\n"), "x)"); // closes g( while the suffix closes f(
    assert.equal(cutUnneededClosers("x)", "f(", "\nnext()\n"), "x)"); // nothing after the cursor closes f(
  });
  it("ignores brackets inside strings", () => {
    assert.equal(cutUnneededClosers('")")', "print(", ")\n"), '")"');
  });
});

describe("stopAtSuffixRepeat", () => {
  it("cuts the whole rest of the line written again", () => {
    assert.equal(stopAtSuffixRepeat("foo();", ";\n"), "foo()");
    assert.equal(stopAtSuffixRepeat('"a.txt", encoding="utf-8"', ', encoding="utf-8")\n'), '"a.txt"');
  });
  it("leaves short partial overlaps and closing brackets alone", () => {
    assert.equal(stopAtSuffixRepeat("a * x", "x + 1\n"), "a * x");
    assert.equal(stopAtSuffixRepeat("foo(x)", ")\n"), "foo(x)");
    assert.equal(stopAtSuffixRepeat("anything", "\nnext"), "anything");
  });
});

describe("dropRepeatedLines", () => {
  it("drops trailing lines that are the document's next lines", () => {
    assert.equal(dropRepeatedLines("x = 1\nreturn x", "\n\n    return x\nafter()\n"), "x = 1");
    assert.equal(dropRepeatedLines("  a();\n}\n", "\n}\n"), "  a();");
  });
  it("keeps the first line and a block's own closer", () => {
    assert.equal(dropRepeatedLines("return x", "\nreturn x\n"), "return x");
    assert.equal(dropRepeatedLines("if (x) {\n  y();\n}", "\n}\n"), "if (x) {\n  y();\n}");
  });
});

describe("dropUnclosedTail", () => {
  it("cuts back to the last complete balanced line", () => {
    assert.equal(dropUnclosedTail("x = 1\ny = f(a,\n  b"), "x = 1");
    assert.equal(dropUnclosedTail("x = 1\ny = 2\nz = fo"), "x = 1\ny = 2");
  });
  it("leaves a completion with no balanced line end alone", () => {
    assert.equal(dropUnclosedTail("f(a,\n  b"), "f(a,\n  b");
    assert.equal(dropUnclosedTail("single"), "single");
  });
});

describe("trimTrailingWhitespace", () => {
  it("trims line ends, and the end when the cursor's line ends there", () => {
    assert.equal(trimTrailingWhitespace("a  \nb \n\n", "\nrest"), "a\nb");
    assert.equal(trimTrailingWhitespace("x ", "+ 2\n"), "x ");
    assert.equal(trimTrailingWhitespace(" \n\t", ""), "");
  });
});

describe("postProcess", () => {
  it("composes the filters", () => {
    assert.equal(postProcess('"hi")\nprint("again")', { prefix: "print(", suffix: ")\n", singleLine: true }), '"hi"');
    assert.equal(
      postProcess("total += item.price\n    return total\n", { prefix: "    for item in items:\n        ", suffix: "\n    return total\n", singleLine: false }),
      "total += item.price",
    );
    assert.equal(
      postProcess("a = 1\nb = g(1,\n   2", { prefix: "", suffix: "", singleLine: false, truncated: true }),
      "a = 1",
    );
    assert.equal(postProcess("   ", { prefix: "x", suffix: "", singleLine: true }), "");
  });
});
