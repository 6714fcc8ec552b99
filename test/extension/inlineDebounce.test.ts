import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BURST_GAP_MS,
  completed,
  debounceDelay,
  initialDebounce,
  keystroke,
  MIN_DELAY_MS,
  type DebounceState,
} from "../../extension/completion/debounce";

function typed(times: number[], state: DebounceState = initialDebounce()): DebounceState {
  return times.reduce((s, t) => keystroke(s, t), state);
}

describe("adaptive debounce", () => {
  test("the first key after a pause is answered sooner than the base delay", () => {
    assert.equal(debounceDelay(typed([0]), 150), 75);
    assert.equal(debounceDelay(typed([0, 5000]), 150), 75);
  });

  test("a fast burst waits past the user's usual gap, a slow one waits the base delay", () => {
    const fast = typed([0, 100, 200, 290, 400]);
    assert.equal(debounceDelay(fast, 150), 200);
    const slow = typed([0, 300, 600, 900]);
    assert.equal(debounceDelay(slow, 150), 150);
  });

  test("a gap of a second ends the burst", () => {
    const state = typed([0, 100, 200, 200 + BURST_GAP_MS]);
    assert.deepEqual(state.gaps, []);
    assert.equal(debounceDelay(state, 150), 75);
  });

  test("the typing speed is the median of the last gaps, so one hesitation does not change it", () => {
    assert.equal(debounceDelay(typed([0, 80, 160, 900, 980, 1060]), 150), 160);
  });

  test("slow completions make the wait mid-burst longer, by the base delay at most", () => {
    const burst = typed([0, 100, 200]);
    assert.equal(debounceDelay(completed(burst, 400), 150), 300);
    assert.equal(debounceDelay(completed(burst, 60_000), 150), 350);
    assert.equal(debounceDelay(completed(typed([0, 140, 280]), 60_000), 50), 100);
  });

  test("the latency is smoothed, so one slow completion does not dominate", () => {
    const state = completed(completed(initialDebounce(), 100), 1100);
    assert.equal(state.latencyMs, 400);
  });

  test("the wait never drops below the floor", () => {
    assert.equal(debounceDelay(typed([0]), 10), MIN_DELAY_MS);
  });
});
