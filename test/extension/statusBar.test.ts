import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as commands from "../../extension/commands";
import type * as statusBar from "../../extension/statusBar";
import manifest from "../../package.json";
import type { SidecarStatus } from "../../common/protocol";
import { sidecarStatus } from "./fakeEditor";
import { fakeVscode, loadWithVscode } from "./fakeVscode";

const fake = fakeVscode();
const item = { name: "", text: "", tooltip: "", command: "", show() {}, dispose() {} };
const api = {
  ...fake.api,
  StatusBarAlignment: { Left: 1, Right: 2 },
  window: { ...fake.api.window, createStatusBarItem: () => item },
};
const { describeStatus, StatusBar, timeLeft } = loadWithVscode<typeof statusBar>("../../extension/statusBar.ts", api);

const { COMMANDS: ALL_COMMANDS } = loadWithVscode<typeof commands>("../../extension/commands.ts", fake.api);
/** The commands extension.ts hands the status bar, as the manifest declares them. */
const COMMANDS = { showLog: ALL_COMMANDS.showLog, restart: ALL_COMMANDS.restart };
const DECLARED = new Set(manifest.contributes.commands.map((c) => c.command));

const failedLoad: SidecarStatus = {
  backend: "none",
  models: { embedder: "", generator: "", adapter: "" },
  folders: [],
  error: "loading the models failed: no GGUF at /models/embedder.gguf",
};

describe("the status bar", () => {
  test("models that failed to load show an error and the reason, not a healthy node count", () => {
    const view = describeStatus("running", failedLoad, true, undefined);
    assert.equal(view.text, "$(error) HEF: models failed to load");
    assert.match(view.tooltip, /loading the models failed: no GGUF at \/models\/embedder\.gguf/);
    assert.match(view.tooltip, /Click for the log/);
  });

  test("a healthy sidecar still shows its node count and backend", () => {
    const ready = sidecarStatus({ nodes: 12 });
    assert.equal(describeStatus("running", ready, true, 41.6).text, "$(check) HEF 12 nodes · CPU · 42 ms");
  });

  test("clicking the item after a failed load shows the log", () => {
    const bar = new StatusBar(() => ({ state: "running", status: failedLoad, enabled: true }), COMMANDS);
    assert.equal(item.command, COMMANDS.showLog);
    assert.ok(DECLARED.has(item.command), `${item.command} is a command the extension declares`);
    assert.equal(item.text, "$(error) HEF: models failed to load");
    bar.dispose();
  });

  test("a sidecar stopped after crashes counts down to its restart, and a click restarts it now", () => {
    // It said "not running" with no countdown while the log said both "restarting in 30 s" and "will not be restarted".
    const view = describeStatus("stopped", undefined, true, undefined, 12_300);
    assert.equal(view.text, "$(debug-restart) HEF restarting in 13 s");
    assert.match(view.tooltip, /restarts by itself in 13 s\. Click to restart it now/);
    assert.equal(view.click, "restart");
    let nextRestart = Date.now() + 30_000;
    let state: "stopped" | "starting" = "stopped";
    const bar = new StatusBar(() => ({ state, status: undefined, enabled: true, nextRestart }), COMMANDS);
    assert.equal(item.text, "$(debug-restart) HEF restarting in 30 s");
    assert.equal(item.command, "hef.restartSidecar");
    nextRestart -= 20_000;
    bar.update();
    assert.equal(item.text, "$(debug-restart) HEF restarting in 10 s");
    state = "starting";
    bar.update();
    assert.equal(item.text, "$(sync~spin) HEF");
    assert.equal(item.command, "hef.showLog");
    bar.dispose();
  });

  test("a sidecar that is simply not running offers a start on click", () => {
    const view = describeStatus("stopped", undefined, false, undefined);
    assert.equal(view.click, "restart");
    assert.match(view.tooltip, /not running \(completions off\)\. Click to start it\./);
  });

  test("a first index shows the time left and says that completions already use what is indexed", () => {
    const indexing = sidecarStatus({
      root: "/lib",
      state: "indexing",
      progress: { phase: "embedding", done: 430, total: 1000, etaMs: 372_000 },
      files: 430,
      nodes: 5000,
      nodesPerLevel: { chunk: 4000, file: 430, module: 60, repo: 1 },
    });
    const view = describeStatus("running", indexing, true, undefined);
    assert.equal(view.text, "$(sync~spin) HEF indexing (embedding) 43% · ~6 min left");
    assert.match(view.tooltip, /Completions already use the 430 files indexed so far/);
    assert.deepEqual(
      [timeLeft(4_000), timeLeft(44_000), timeLeft(3_000_000), timeLeft(9_000_000)],
      ["~10 s left", "~40 s left", "~50 min left", "~3 h left"],
    );
  });

  test("the embedded defaults serving instead of the chosen models shows as a warning, with the reason", () => {
    const fallback =
      "loading the models failed: /m/g.gguf: not a GGUF file; completing with the embedded default models meanwhile";
    const view = describeStatus(
      "running",
      { backend: "CPU", models: { embedder: "e", generator: "g", adapter: "a" }, folders: [], fallback },
      true,
      undefined,
    );
    assert.match(view.text, /^\$\(warning\) HEF/);
    assert.ok(view.tooltip.includes(fallback));
  });
});
