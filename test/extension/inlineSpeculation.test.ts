import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import type * as provider from "../../extension/completion/provider";
import type { CompleteParams, CompleteResult } from "../../common/protocol";
import { cancellationToken, documentAt, registeredProvider, type Items, type Provide } from "./fakeEditor";
import type { SidecarState } from "../../extension/services";
import { completionResult, Emitter, fakeServices, fakeVscode, loadWithVscode, NODES } from "./fakeVscode";

const fake = fakeVscode();
const { registerInlineCompletions } = loadWithVscode<typeof provider>(
  "../../extension/completion/provider.ts",
  fake.api,
);

const SUFFIX = "\nprint(x)\n";

/** The editor asks at the end of `before`, with `after` following the cursor. */
function ask(before: string, after = SUFFIX): Promise<Items> {
  const { document, position } = documentAt(before, after);
  return provide(
    document,
    position,
    { triggerKind: fake.api.InlineCompletionTriggerKind.Automatic },
    cancellationToken(),
  );
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const texts = (items: Items) => items.map((item) => item.insertText);

let sidecar: ReturnType<typeof fakeServices>;
let answer: (params: CompleteParams) => CompleteResult;
let provide: Provide;
let sidecarState: Emitter<SidecarState>;

/** The sidecar stops or starts, as the client says it. */
function sidecarBecomes(state: SidecarState): void {
  sidecar.state.sidecar = state;
  sidecarState.fire(state);
}

beforeEach(() => {
  answer = () => completionResult("compute(1)");
  sidecar = fakeServices((params) => answer(params));
  sidecarState = new Emitter<SidecarState>();
  // The client with its state changes in the test's hands (fakeServices keeps them to itself).
  const client = Object.create(sidecar.services.client, { onDidChangeState: { value: sidecarState.event } });
  fake.registered.inlineProviders.length = 0;
  registerInlineCompletions({ subscriptions: [] } as never, { ...sidecar.services, client });
  provide = registeredProvider(fake);
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

/** What the panel shows: the last completion reported to it. */
const panel = () => {
  const event = sidecar.reported.at(-1)!;
  return event.result.kind === "completion" ? [event.result.text, event.result.nodes.map((n) => n.path)] : undefined;
};

describe("the panel shows the nodes of the suggestion on screen", () => {
  beforeEach(() => {
    answer = () => completionResult("compute(1)", { nodes: [NODES[0]!] });
  });

  test("accepting serves the speculated completion, and the panel shows its nodes, not those of the one accepted", async () => {
    await ask("x = ");
    assert.deepEqual(panel(), ["compute(1)", ["shop/cart.py"]]);
    sidecar.speculations[0]!.answer(completionResult(" + 2", { nodes: [NODES[1]!] }));
    await flush();
    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) + 2"]);
    assert.deepEqual(panel(), [" + 2", ["shop/tax.py"]]);
    // What the sidecar was asked for it: the speculation's request, with the accepted text inserted.
    assert.equal(sidecar.reported.at(-1)!.params.insert, "compute(1)");
    assert.equal(sidecar.requests.length, 1);
  });

  test("typing a suggestion through keeps its nodes, told to the panel once (a keystroke does not re-render it)", async () => {
    await ask("x = ");
    assert.deepEqual(texts(await ask("x = comp")), ["x = compute(1)"]);
    assert.equal(sidecar.reported.length, 1);
    sidecar.speculations[0]!.answer(completionResult(" + 2", { nodes: [NODES[1]!] }));
    await flush();
    await ask("x = compute(1)");
    assert.deepEqual(texts(await ask("x = compute(1) +")), ["x = compute(1) + 2"]);
    assert.deepEqual(panel(), [" + 2", ["shop/tax.py"]]);
    assert.equal(sidecar.reported.length, 2);
  });

  test("back at a place completed moments ago, the completion served from memory brings its nodes back", async () => {
    await ask("x = ");
    const first = sidecar.reported[0];
    answer = () => completionResult("other()", { nodes: [NODES[2]!] });
    await ask("x = ", "\nprint(y)\n");
    assert.deepEqual(panel(), ["other()", ["shop"]]);
    assert.deepEqual(texts(await ask("x = ")), ["x = compute(1)"]);
    assert.equal(sidecar.requests.length, 2, "served from memory");
    assert.equal(sidecar.reported.at(-1), first);
  });
});

describe("when the sidecar stops or restarts", () => {
  test("a running speculation is stopped, quietly; accepting then asks the sidecar anew once it runs again", async () => {
    await ask("x = ");
    const speculation = sidecar.speculations[0]!;
    sidecarBecomes("stopped");
    assert.equal(speculation.token.isCancellationRequested, true);
    assert.deepEqual(await ask("x = compute(1)"), [], "nothing to ask while it is down");
    sidecarBecomes("starting");
    sidecarBecomes("running");
    // The old sidecar's answer, were it to come, is not served.
    speculation.answer(completionResult(" + 2"));
    await flush();
    answer = () => completionResult(" * 3");
    assert.deepEqual(texts(await ask("x = compute(1)")), ["x = compute(1) * 3"]);
    assert.equal(sidecar.requests.length, 2);
    assert.deepEqual(panel(), [" * 3", []]);
    assert.deepEqual(sidecar.logs, []);
  });

  test("typing through a suggestion still serves it from memory while the sidecar is down, and the panel keeps its nodes", async () => {
    answer = () => completionResult("compute(1)", { nodes: [NODES[0]!] });
    await ask("x = ");
    sidecarBecomes("stopped");
    assert.deepEqual(texts(await ask("x = comp")), ["x = compute(1)"]);
    assert.equal(sidecar.speculations.length, 1, "no speculation is asked of a stopped sidecar");
    assert.deepEqual(panel(), ["compute(1)", ["shop/cart.py"]]);
    assert.equal(sidecar.reported.length, 1);
    assert.deepEqual(sidecar.logs, []);
  });
});
