import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CompletionMemory, typeThrough, type Cursor } from "../../extension/completion/typeThrough";

const at = (prefix: string, suffix = "\nprint(total)\n", uri = "file:///repo/a.py"): Cursor => ({
  uri,
  prefix,
  suffix,
});
const last = { ...at("total = 0\nfor x in xs:\n    "), text: "total += x" };

describe("type-through", () => {
  test("typing the start of the suggestion serves the rest", () => {
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    ")), "total += x");
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    tot")), "al += x");
  });

  test("typing something else, or all of it, ends it", () => {
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    tx")), undefined);
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    total += x")), undefined);
  });

  test("a cursor moved elsewhere, or a change before or after the cursor, ends it", () => {
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n")), undefined);
    assert.equal(typeThrough(last, at("total = 1\nfor x in xs:\n    t")), undefined);
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    t", "\nprint(total + 1)\n")), undefined);
    assert.equal(typeThrough(last, at("total = 0\nfor x in xs:\n    t", undefined, "file:///repo/b.py")), undefined);
  });
});

describe("completion memory", () => {
  test("serves type-through and forgets the suggestion after a mismatch", () => {
    const memory = new CompletionMemory();
    memory.remember(at("x = "), "compute(1)");
    assert.equal(memory.recall(at("x = comp")), "ute(1)");
    assert.equal(memory.recall(at("x = compx")), undefined);
    assert.equal(
      memory.recall(at("x = comp")),
      undefined,
      "the suggestion is gone; only the exact place it was made is remembered",
    );
    assert.equal(memory.recall(at("x = ")), "compute(1)");
  });

  test("backspace and retype are served from recent completions, then type-through resumes", () => {
    const memory = new CompletionMemory();
    memory.remember(at("a = fo"), "o(1)");
    memory.remember(at("a = foo"), "(2)");
    assert.equal(memory.recall(at("a = fo")), "o(1)");
    assert.equal(memory.recall(at("a = foo")), "(1)");
  });

  test("keeps the most recently used completions up to its capacity", () => {
    const memory = new CompletionMemory(2);
    memory.remember(at("a"), "1");
    memory.remember(at("b"), "2");
    assert.equal(memory.recall(at("a")), "1");
    memory.remember(at("c"), "3");
    assert.equal(memory.recall(at("b")), undefined);
    assert.equal(memory.recall(at("a")), "1");
    assert.equal(memory.recall(at("c")), "3");
  });

  test("clear forgets everything", () => {
    const memory = new CompletionMemory();
    memory.remember(at("x = "), "1");
    memory.clear();
    assert.equal(memory.recall(at("x = ")), undefined);
  });
});
