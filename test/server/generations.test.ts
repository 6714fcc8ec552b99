import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { Generations } from "../../sidecar/server/generations";

const REST_MS = 1_000;

/** Whether the promise has settled, and how, after the microtasks queued so far ran. */
async function state(promise: Promise<void>): Promise<"pending" | "resolved" | "rejected"> {
  let settled: "pending" | "resolved" | "rejected" = "pending";
  promise.then(
    () => (settled = "resolved"),
    () => (settled = "rejected"),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return settled;
}

describe("background work waits for generations", () => {
  // The clock is Date's here: mock.timers moves it, not performance.now (the default).
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  test("a rest is over at once when nothing was generated yet or the last end is long past", async () => {
    const generations = new Generations(() => Date.now());
    assert.equal(await state(generations.rest(REST_MS)), "resolved");
    generations.begin()();
    mock.timers.tick(REST_MS);
    assert.equal(await state(generations.rest(REST_MS)), "resolved");
  });

  test("the rest lasts until every generation ended and then REST_MS more, counted from the last end", async () => {
    const generations = new Generations(() => Date.now());
    const completion = generations.begin();
    const speculation = generations.begin();
    const rest = generations.rest(REST_MS);
    mock.timers.tick(5 * REST_MS);
    completion();
    mock.timers.tick(5 * REST_MS);
    assert.equal(await state(rest), "pending", "a speculation still runs");
    speculation();
    speculation();
    mock.timers.tick(REST_MS - 1);
    assert.equal(await state(rest), "pending");
    mock.timers.tick(1);
    assert.equal(await state(rest), "resolved");
  });

  test("a generation that starts during the rest starts it again", async () => {
    const generations = new Generations(() => Date.now());
    generations.begin()();
    const rest = generations.rest(REST_MS);
    mock.timers.tick(REST_MS - 1);
    const keystroke = generations.begin();
    mock.timers.tick(REST_MS);
    assert.equal(await state(rest), "pending");
    keystroke();
    mock.timers.tick(REST_MS - 1);
    assert.equal(await state(rest), "pending");
    mock.timers.tick(1);
    assert.equal(await state(rest), "resolved");
  });

  test("an aborted wait rejects with the signal's reason", async () => {
    const generations = new Generations(() => Date.now());
    generations.begin();
    const controller = new AbortController();
    const rest = generations.rest(REST_MS, controller.signal);
    controller.abort(new Error("closing"));
    await assert.rejects(rest, /closing/);
    await assert.rejects(generations.rest(REST_MS, controller.signal), /closing/, "aborted before it began");
  });
});
