import assert from "node:assert/strict";
import { beforeEach, describe, mock, test } from "node:test";
import type * as provider from "../../extension/completion/provider";
import type { CompleteParams, CompleteResult } from "../../common/protocol";
import {
  cancellationToken as token,
  completeParams,
  documentAt as at,
  registeredProvider,
  sidecarStatus,
  type Provide,
} from "./fakeEditor";
import { completionResult, fakeServices, fakeVscode, FakeUri, loadWithVscode } from "./fakeVscode";

const fake = fakeVscode();
const { registerInlineCompletions, COMPLETE_NOW } = loadWithVscode<typeof provider>(
  "../../extension/completion/provider.ts",
  fake.api,
);

const flush = () => new Promise((resolve) => setImmediate(resolve));

const automatic = { triggerKind: fake.api.InlineCompletionTriggerKind.Automatic };
const invoke = { triggerKind: fake.api.InlineCompletionTriggerKind.Invoke };

let sidecar: ReturnType<typeof fakeServices>;
let answer: (params: CompleteParams) => CompleteResult;
let provide: Provide;

function ask(before: string, after = "", context = automatic, cancel = token()) {
  const { document, position } = at(before, after);
  return provide(document, position, context, cancel);
}

beforeEach(() => {
  answer = () => completionResult("total += price");
  sidecar = fakeServices((params) => answer(params));
  fake.registered.inlineProviders.length = 0;
  fake.api.workspace.isTrusted = true;
  registerInlineCompletions({ subscriptions: [] } as never, sidecar.services);
  provide = registeredProvider(fake);
});

describe("the inline completion provider", () => {
  test("is registered for files and asks the sidecar with the settings, the document version, the cursor and VS Code's token", async () => {
    assert.deepEqual(fake.registered.inlineProviders[0]!.selector, { scheme: "file" });
    const cancel = token();
    const items = await ask("for price in prices:\n    ", "\nreturn total\n", automatic, cancel);
    assert.equal(sidecar.requests.length, 1);
    assert.equal(sidecar.requests[0]!.token, cancel);
    // The sidecar holds the text (LSP sync): the request names the document, its version and the cursor, not the file.
    assert.deepEqual(
      sidecar.requests[0]!.params,
      completeParams({
        textDocument: { uri: "file:///repo/shop/cart.py", version: 7 },
        position: { line: 1, character: 4 },
      }),
    );
    // The item replaces the line up to the cursor, so VS Code can split it by word and line.
    assert.deepEqual(
      items.map((i) => [i.insertText, i.range.start, i.range.end]),
      [["    total += price", { line: 1, character: 0 }, { line: 1, character: 4 }]],
    );
  });

  test("asks for several lines when hef.multiline is on", async () => {
    sidecar.state.settings = { ...sidecar.state.settings, multiline: true, maxTokens: 256 };
    await ask("def f():\n");
    assert.equal(sidecar.requests[0]!.params.singleLine, false);
    assert.equal(sidecar.requests[0]!.params.maxTokens, 256);
  });

  test("reports each result to the panel and its latency to the status bar", async () => {
    await ask("x = ");
    assert.equal(sidecar.reported.length, 1);
    assert.deepEqual(sidecar.reported[0]!.params.position, { line: 0, character: 4 });
    assert.equal(sidecar.reported[0]!.result.kind, "completion");
    assert.deepEqual(sidecar.latencies, [sidecar.reported[0]!.latencyMs]);
  });

  test("serves what the user types through, and backspace-and-retype, without asking again", async () => {
    await ask("    ");
    assert.deepEqual(
      (await ask("    tot")).map((i) => i.insertText),
      ["    total += price"],
    );
    assert.deepEqual(
      (await ask("    ")).map((i) => i.insertText),
      ["    total += price"],
    );
    assert.equal(sidecar.requests.length, 1);
    await ask("    tox");
    assert.equal(sidecar.requests.length, 2);
  });

  test("asks again after a settings change", async () => {
    await ask("x = ");
    sidecar.settingsChanges.fire(sidecar.state.settings);
    await ask("x = ");
    assert.equal(sidecar.requests.length, 2);
  });

  test("returns nothing, having asked nothing, when cancelled during the debounce", async () => {
    const cancel = token();
    const pending = ask("x = ", "", automatic, cancel);
    cancel.cancel();
    assert.deepEqual(await pending, []);
    assert.equal(sidecar.requests.length, 0);
  });

  test("asks nothing for a document typed on during the wait: the version it would name is gone", async () => {
    const { document, position } = at("x = ");
    const pending = provide(document, position, automatic, token());
    document.version++;
    assert.deepEqual(await pending, []);
    assert.equal(sidecar.requests.length, 0);
  });

  test("returns nothing when VS Code cancels while the sidecar works", async () => {
    const cancel = token();
    answer = () => (cancel.cancel(), completionResult("late"));
    assert.deepEqual(await ask("x = ", "", automatic, cancel), []);
  });

  test("asks nothing when disabled, untrusted, in a language left out, outside a folder or with the sidecar down", async () => {
    sidecar.state.settings = { ...sidecar.state.settings, enable: false };
    assert.deepEqual(await ask("x = "), []);
    sidecar.state.settings = { ...sidecar.state.settings, enable: true, enabledLanguages: ["typescript"] };
    assert.deepEqual(await ask("x = "), []);
    sidecar.state.settings = { ...sidecar.state.settings, enabledLanguages: ["python"] };
    fake.api.workspace.isTrusted = false;
    assert.deepEqual(await ask("x = "), []);
    fake.api.workspace.isTrusted = true;
    const { document, position } = at("x = ", "", "python", "/elsewhere/a.py");
    assert.deepEqual(await provide(document, position, automatic, token()), []);
    sidecar.state.sidecar = "stopped";
    assert.deepEqual(await ask("x = "), []);
    assert.equal(sidecar.requests.length, 0);
  });

  test("while the folder is first indexed it asks only when forced, and then with force", async () => {
    sidecar.state.status = sidecarStatus({
      state: "indexing",
      files: 0,
      nodes: 0,
      nodesPerLevel: { chunk: 0, file: 0, module: 0, repo: 0 },
    });
    assert.deepEqual(await ask("x = "), []);
    assert.equal(sidecar.requests.length, 0);
    await ask("x = ", "", invoke);
    assert.equal(sidecar.requests[0]!.params.force, true);
  });

  test("shows nothing for a notReady answer or a blank completion, and still reports the first", async () => {
    answer = () => ({ kind: "notReady", reason: "the cache of /repo is being built" });
    assert.deepEqual(await ask("x = "), []);
    answer = () => completionResult("  \n");
    assert.deepEqual(await ask("y = "), []);
    assert.deepEqual(
      sidecar.reported.map((e) => e.result.kind),
      ["notReady", "completion"],
    );
    assert.deepEqual(sidecar.latencies.length, 1);
  });

  test("logs a failed request", async () => {
    answer = () => {
      throw new Error("sidecar crashed");
    };
    assert.deepEqual(await ask("x = "), []);
    assert.deepEqual(sidecar.logs, ["completion failed: sidecar crashed"]);
  });

  test("hef.completeNow runs VS Code's inline-suggest trigger; the explicit request that follows asks at once, with force", async () => {
    fake.shown.executed.length = 0;
    fake.api.window.activeTextEditor = { document: at("x = ").document };
    sidecar.state.status = READY;
    await fake.registered.commands.get(COMPLETE_NOW)!();
    assert.deepEqual(fake.shown.executed, [{ command: "editor.action.inlineSuggest.trigger", args: [] }]);
    // VS Code answers the trigger with an Invoke request (its part, not tested here). With the clock
    // stopped, a typed request waits out the debounce; the explicit one asks the sidecar at once.
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const typed = ask("x = ");
      const explicit = ask("y = ", "", invoke);
      await flush();
      assert.deepEqual(
        sidecar.requests.map((r) => r.params.force),
        [true],
        "only the explicit request has asked",
      );
      mock.timers.runAll();
      assert.deepEqual(
        (await explicit).map((i) => i.insertText),
        ["y = total += price"],
      );
      await typed;
      assert.equal(sidecar.requests.length, 2, "the typed request asks once its wait is over");
    } finally {
      mock.timers.reset();
    }
  });

  test("hef.completeNow says why, once, where it cannot complete, instead of doing nothing", async () => {
    const cases: [string, () => void, RegExp][] = [
      [
        "completions off",
        () => (sidecar.state.settings = { ...sidecar.state.settings, enable: false }),
        /inline completions are off/,
      ],
      [
        "untitled file",
        () =>
          (fake.api.window.activeTextEditor = {
            document: { ...at("x = ").document, uri: new FakeUri("untitled", "Untitled-1") },
          }),
        /not saved/,
      ],
      [
        "outside the folders",
        () => (fake.api.window.activeTextEditor = { document: at("x = ", "", "python", "/elsewhere/a.py").document }),
        /outside the workspace folders/,
      ],
      [
        "language left out",
        () => (sidecar.state.settings = { ...sidecar.state.settings, enabledLanguages: ["typescript"] }),
        /does not include “python”/,
      ],
      ["sidecar down", () => (sidecar.state.sidecar = "stopped"), /not running; “HEF: Restart sidecar” starts it/],
      [
        "models broken",
        () =>
          (sidecar.state.status = { ...READY, backend: "none", error: "loading the models failed: not a GGUF file" }),
        /loading the models failed: not a GGUF file\. “HEF: Select models”/,
      ],
    ];
    for (const [name, make, reason] of cases) {
      sidecar.state.settings = { ...sidecar.state.settings, enable: true, enabledLanguages: ["*"] };
      sidecar.state.sidecar = "running";
      sidecar.state.status = READY;
      fake.api.window.activeTextEditor = { document: at("x = ").document };
      fake.shown.executed.length = 0;
      fake.shown.infos.length = 0;
      make();
      await fake.registered.commands.get(COMPLETE_NOW)!();
      assert.deepEqual(fake.shown.executed, [], name);
      assert.equal(fake.shown.infos.length, 1, name);
      assert.match(fake.shown.infos[0]!, reason, name);
    }
  });

  test("an explicit request that the sidecar cannot serve says why; a blank answer says so in the status bar", async () => {
    fake.shown.infos.length = 0;
    fake.shown.statusMessages.length = 0;
    answer = () => ({ kind: "notReady", reason: "/repo: the cache is being built for the first time" });
    assert.deepEqual(await ask("x = ", "", invoke), []);
    assert.deepEqual(fake.shown.infos, ["HEF: no completion: /repo: the cache is being built for the first time"]);
    answer = () => completionResult("  ");
    assert.deepEqual(await ask("y = ", "", invoke), []);
    assert.deepEqual(fake.shown.statusMessages, ["HEF: the model suggests nothing here"]);
    // While typing, the same answers stay silent.
    await ask("z = ");
    answer = () => ({ kind: "notReady", reason: "busy" });
    await ask("w = ");
    assert.equal(fake.shown.infos.length, 1);
    assert.equal(fake.shown.statusMessages.length, 1);
  });
});

const READY = sidecarStatus();
