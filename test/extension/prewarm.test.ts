import assert from "node:assert/strict";
import { beforeEach, describe, mock, test } from "node:test";
import type * as prewarm from "../../extension/completion/prewarm";
import type * as provider from "../../extension/completion/provider";
import type { CompleteParams } from "../../common/protocol";
import { completeParams, sidecarStatus } from "./fakeEditor";
import { completionResult, fakeServices, fakeVscode, FakeUri, loadWithVscode } from "./fakeVscode";

const fake = fakeVscode();
const { FOCUS_REST_MS, PrewarmTimer, REST_MS } = loadWithVscode<typeof prewarm>(
  "../../extension/completion/prewarm.ts",
  fake.api,
);
const { registerInlineCompletions } = loadWithVscode<typeof provider>(
  "../../extension/completion/provider.ts",
  fake.api,
);

const params = (line: number): CompleteParams =>
  completeParams({ textDocument: { uri: "file:///repo/a.py", version: 1 }, position: { line, character: 0 } });

describe("pre-warm", () => {
  beforeEach(() => mock.timers.reset());

  test("is sent once the cursor has rested, with what a completion there would ask; moving on starts the wait again", () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    const sent: CompleteParams[] = [];
    const timer = new PrewarmTimer((p) => sent.push(p), 1000);
    timer.moved(() => params(1));
    mock.timers.tick(600);
    timer.moved(() => params(2));
    mock.timers.tick(999);
    assert.equal(sent.length, 0);
    mock.timers.tick(1);
    assert.deepEqual(
      sent.map((p) => p.position.line),
      [2],
    );
    timer.moved(() => undefined);
    mock.timers.tick(1000);
    assert.equal(sent.length, 1, "nothing to warm where no completion could run");
  });

  test("typing cancels it: the provider asks itself then", () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    const sent: CompleteParams[] = [];
    const timer = new PrewarmTimer((p) => sent.push(p), 1000);
    timer.moved(() => params(1));
    timer.cancel();
    mock.timers.tick(2000);
    assert.equal(sent.length, 0);
  });

  test("the editor's cursor moves and focus changes reach the sidecar as pre-warms at the cursor; typed selections do not", () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    const sidecar = fakeServices(() => completionResult("x"));
    sidecar.state.status = sidecarStatus();
    const document = { uri: FakeUri.file("/repo/a.py"), languageId: "python", version: 3 };
    fake.api.window.activeTextEditor = { document, selection: { active: { line: 1, character: 0 } } } as never;
    registerInlineCompletions({ subscriptions: [] } as never, sidecar.services);
    fake.selectionChanges.fire({ kind: 3 });
    mock.timers.tick(REST_MS);
    assert.equal(sidecar.prewarms.length, 0, "a selection the editor made itself (typing, a command) is not a move");
    fake.selectionChanges.fire({ kind: 2 });
    mock.timers.tick(REST_MS);
    assert.deepEqual(
      sidecar.prewarms.map((p) => [p.textDocument, p.position, p.force]),
      [[{ uri: "file:///repo/a.py", version: 3 }, { line: 1, character: 0 }, false]],
    );
    fake.activeEditorChanges.fire(undefined);
    fake.documentChanges.fire({ document, contentChanges: [{ text: "x" }] });
    mock.timers.tick(REST_MS);
    assert.equal(sidecar.prewarms.length, 1, "typing after the focus change cancelled its pre-warm");
    fake.activeEditorChanges.fire(undefined);
    mock.timers.tick(FOCUS_REST_MS - 1);
    assert.equal(sidecar.prewarms.length, 1);
    mock.timers.tick(1);
    assert.equal(
      sidecar.prewarms.length,
      2,
      "a file that gains focus is warmed after a short settle, not the whole rest",
    );
    assert.ok(FOCUS_REST_MS < REST_MS);
  });
});
