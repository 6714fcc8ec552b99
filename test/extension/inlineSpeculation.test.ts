import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import type * as provider from "../../extension/completion/provider";
import type { CompleteParams, CompleteResult } from "../../common/protocol";
import { completionResult, fakeServices, fakeVscode, FakeUri, loadWithVscode } from "./fakeVscode";

const fake = fakeVscode();
const { registerInlineCompletions } = loadWithVscode<typeof provider>(
  "../../extension/completion/provider.ts",
  fake.api,
);

type Items = { insertText: string }[];
type Provide = (document: unknown, position: unknown, context: unknown, token: unknown) => Promise<Items>;

const SUFFIX = "\nprint(x)\n";

/** The editor asks at the end of `before`, with `after` following the cursor. */
function ask(before: string, after = SUFFIX): Promise<Items> {
  const text = before + after;
  const lines = before.split("\n");
  const document = {
    uri: FakeUri.file("/repo/shop/cart.py"),
    languageId: "python",
    version: 7,
    getText: () => text,
    offsetAt: (p: { line: number; character: number }) =>
      text
        .split("\n")
        .slice(0, p.line)
        .reduce((n, l) => n + l.length + 1, 0) + p.character,
  };
  const position = { line: lines.length - 1, character: lines.at(-1)!.length };
  const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
  return provide(document, position, { triggerKind: fake.api.InlineCompletionTriggerKind.Automatic }, token);
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const texts = (items: Items) => items.map((item) => item.insertText);

let sidecar: ReturnType<typeof fakeServices>;
let answer: (params: CompleteParams) => CompleteResult;
let provide: Provide;

beforeEach(() => {
  answer = () => completionResult("compute(1)");
  sidecar = fakeServices((params) => answer(params));
  fake.registered.inlineProviders.length = 0;
  registerInlineCompletions({ subscriptions: [] } as never, sidecar.services);
  provide = (...args) =>
    (
      fake.registered.inlineProviders[0]!.provider as { provideInlineCompletionItems: Provide }
    ).provideInlineCompletionItems(...args);
});

describe("speculative next", () => {
  test("a shown suggestion is speculated on: accepting it is answered from memory, without a request, and speculated on again", async () => {
    assert.deepEqual(texts(await ask("x = ")), ["x = compute(1)"]);
    assert.equal(sidecar.speculations.length, 1);
    const { params } = sidecar.speculations[0]!;
    // The document as the sidecar holds it, with the suggestion inserted at the cursor.
    assert.deepEqual(
      [params.textDocument, params.position, params.insert],
      [{ uri: "file:///repo/shop/cart.py", version: 7 }, { line: 0, character: 4 }, "compute(1)"],
    );
    sidecar.speculations[0]!.answer(completionResult(" + 2"));
    await flush();

    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) + 2"]);
    assert.equal(sidecar.requests.length, 1, "accepting asked the sidecar nothing");
    assert.deepEqual(
      sidecar.speculations.map((s) => s.params.insert),
      ["compute(1)", " + 2"],
    );
  });

  test("typing the suggestion through keeps the speculation, and typing it to its end is accepting it", async () => {
    await ask("x = ");
    sidecar.speculations[0]!.answer(completionResult(" + 2"));
    await flush();
    assert.deepEqual(texts(await ask("x = comp")), ["x = compute(1)"]);
    assert.equal(sidecar.speculations.length, 1, "still the same suggestion: no new speculation");
    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) + 2"]);
    assert.equal(sidecar.requests.length, 1);
  });

  test("a keystroke elsewhere discards it: the document accepting would have made is no longer answered from memory", async () => {
    await ask("x = ");
    sidecar.speculations[0]!.answer(completionResult(" + 2"));
    await flush();
    answer = () => completionResult("other()");
    await ask("x = ", "\nprint(y)\n");
    assert.equal(sidecar.requests.length, 2);
    // Even back in the exact state accepting makes, it asks anew.
    answer = () => completionResult(" * 3");
    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) * 3"]);
    assert.equal(sidecar.requests.length, 3);
  });

  test("a speculation still running when the user moves on is stopped before the real request goes out", async () => {
    await ask("x = ");
    const speculation = sidecar.speculations[0]!;
    let stoppedFirst: boolean | undefined;
    answer = () => ((stoppedFirst = speculation.token.isCancellationRequested), completionResult("1"));
    await ask("y = ");
    assert.equal(stoppedFirst, true);
    // Its answer, were it to come late, is not kept.
    speculation.answer(completionResult(" + 2"));
    await flush();
    answer = () => completionResult(" * 3");
    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) * 3"]);
    assert.deepEqual(sidecar.logs, [], "a stopped speculation is not a failure");
  });

  test("accepting before the speculation has answered waits for it instead of asking", async () => {
    await ask("x = ");
    const accepting = ask("x = compute(1)");
    await flush();
    sidecar.speculations[0]!.answer(completionResult(" + 2"));
    assert.deepEqual(texts(await accepting), ["x = compute(1) + 2"]);
    assert.equal(sidecar.requests.length, 1);
  });

  test("a speculation that comes to nothing (blank, failed) leaves accepting to ask the sidecar", async () => {
    await ask("x = ");
    const accepting = ask("x = compute(1)");
    sidecar.speculations[0]!.answer(completionResult("  \n"));
    answer = () => completionResult(" + 2");
    assert.deepEqual(texts(await accepting), ["x = compute(1) + 2"]);
    assert.equal(sidecar.requests.length, 2);
  });

  test("a settings change stops it", async () => {
    await ask("x = ");
    sidecar.settingsChanges.fire(sidecar.state.settings);
    assert.equal(sidecar.speculations[0]!.token.isCancellationRequested, true);
    answer = () => completionResult(" + 2");
    await ask("x = compute(1)");
    assert.equal(sidecar.requests.length, 2);
  });
});
