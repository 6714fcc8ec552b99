import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headTokens, stableHead, stableTail, tailTokens } from "../../sidecar/completion/window";

/** Lines of varying length, as code has. */
function code(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `${" ".repeat(i % 8)}x${i} = f(${"a".repeat((i * 7) % 23)})\n`).join(
    "",
  );
}

const isLineStart = (text: string, at: number) => at === 0 || text[at - 1] === "\n";

describe("stableTail", () => {
  it("takes the whole text when it fits", () => {
    assert.equal(stableTail("abc\ndef", 100, 10), 0);
  });

  it("stays put while characters are appended within a step, and never exceeds maxChars", () => {
    const maxChars = 400;
    const step = 50;
    const full = code(200);
    let previous: { start: number; bucket: number } | undefined;
    let moves = 0;
    for (let n = 0; n <= full.length; n++) {
      const text = full.slice(0, n);
      const start = stableTail(text, maxChars, step);
      assert.ok(text.length - start <= maxChars, `window of ${text.length - start} > ${maxChars} at n=${n}`);
      assert.ok(text.length <= maxChars || isLineStart(text, start), `start ${start} is not a line start at n=${n}`);
      const bucket = n <= maxChars ? -1 : Math.floor((n - maxChars) / step);
      if (previous && previous.bucket === bucket) assert.equal(start, previous.start, `moved within a step at n=${n}`);
      if (previous && previous.start !== start) moves++;
      previous = { start, bucket };
    }
    assert.ok(moves <= Math.ceil((full.length - maxChars) / step) + 1);
  });

  it("keeps at least maxChars - 2 * step characters", () => {
    const full = code(300);
    for (let n = 500; n <= full.length; n += 37) assert.ok(n - stableTail(full.slice(0, n), 400, 50) >= 300);
  });

  it("does not depend on edits before the window that keep the length", () => {
    const text = code(100);
    const start = stableTail(text, 300, 30);
    const edited = "y".repeat(start - 5) + text.slice(start - 5);
    assert.equal(edited.length, text.length);
    assert.equal(stableTail(edited, 300, 30), start);
  });

  it("cuts a line longer than the window at the quantized offset", () => {
    const text = `short\n${"z".repeat(1000)}`;
    const start = stableTail(text, 200, 25);
    // n = 1006, b = floor(806 / 25) = 32, q = 33 * 25 = 825: no line start in [825, 850).
    assert.equal(start, 825);
    assert.equal(stableTail(text + "zzz", 200, 25), 825);
  });

  it("rejects a step more than half the window", () => {
    assert.throws(() => stableTail("x", 10, 6), RangeError);
    assert.throws(() => stableTail("x", 10, 0), RangeError);
  });
});

describe("stableHead", () => {
  it("ends after the last whole line that fits", () => {
    assert.equal(stableHead("ab\ncd\nef", 100), 8);
    assert.equal(stableHead("ab\ncd\nefgh", 7), 6);
    assert.equal(stableHead("abcdefgh\nij", 4), 4);
  });
});

describe("token cuts", () => {
  it("keep the last or first tokens", () => {
    const tokens = Int32Array.from([1, 2, 3, 4, 5]);
    assert.deepEqual([...tailTokens(tokens, 2, 1)], [4, 5]);
    assert.deepEqual([...tailTokens(tokens, 2, 2)], [5]);
    assert.deepEqual([...tailTokens(tokens, 9)], [1, 2, 3, 4, 5]);
    assert.deepEqual([...headTokens(tokens, 2)], [1, 2]);
    assert.deepEqual([...tailTokens(tokens, 0)], []);
    // The cut moves only once per step of tokens appended.
    const starts = new Set(
      Array.from(
        { length: 64 },
        (_, n) =>
          tailTokens(
            Int32Array.from({ length: 577 + n }, (_, i) => i),
            512,
          )[0],
      ),
    );
    assert.equal(starts.size, 1);
  });
});
