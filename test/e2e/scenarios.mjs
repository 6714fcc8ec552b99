// The real-editor scenarios, in the order they run in one editor session. Each is a small function
// over the Workbench driver. Every scenario must run and pass (test/e2e/realEditor.test.ts checks
// results.json): one whose `requires` the packaged extension no longer contributes fails, and
// PENDING is the one explicit opt-out. `--only` (run.mjs) runs chosen scenarios.
//
// What the scenarios expect from the extension:
// - output channel "HEF" with the lines "sidecar pid <n>" (each time the sidecar starts) and
//   "sidecar ready", a line matching /index(ed|ing) .*(done|ready|complete)|indexed/i when the first
//   index is built, and /refresh/i when a saved file has been re-indexed;
// - a status bar item whose text contains "HEF" and, once a completion request has answered, its
//   round trip ("· 118 ms"), changed by each request and by nothing else;
// - the activity-bar container titled "HEF" with the webview view hef.nodes listing nodes as elements
//   with data-testid="hef-node" (optional data-path / data-line), clicking one opens its span;
// - inline completions from the default model in Python files.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pythonDefinitions, pythonSyntaxErrors } from "./pythonSyntax.mjs";

/** Names the workspace's Python files other than `except` define. */
async function definedElsewhere(root, except) {
  const names = new Set();
  for (const file of readdirSync(root, { recursive: true })) {
    if (!file.endsWith(".py") || file === except) continue;
    for (const name of await pythonDefinitions(readFileSync(join(root, file), "utf8"))) names.add(name);
  }
  return names;
}

/**
 * Scenarios written ahead of the features they test, kept off until the lead switches them on by
 * taking their name out of this list (they still wait for their `requires` after that).
 * `node test/e2e/run.mjs --pending` (or HEF_E2E_PENDING=1) runs them anyway.
 */
export const PENDING = new Set([]);

const REBUILD = "HEF: Rebuild HEF cache";
const COMPLETE_NOW = "HEF: Complete now";
const SHOW_NODES = "HEF: Show retrieved nodes";
const TOGGLE_INLINE = "HEF: Toggle inline completions";
const SELECT_MODELS = "HEF: Select models";
const RESTART = "HEF: Restart sidecar";
const CHANNEL = "HEF";

/**
 * Features the packaged extension declares: "command:<palette label>", "view:<id>",
 * "container:<title>", "activation:<event>".
 */
export function features(manifest) {
  const contributes = manifest.contributes ?? {};
  const set = new Set();
  for (const c of contributes.commands ?? []) set.add(`command:${c.category ? `${c.category}: ` : ""}${c.title}`);
  for (const views of Object.values(contributes.views ?? {})) for (const v of views) set.add(`view:${v.id}`);
  for (const containers of Object.values(contributes.viewsContainers ?? {}))
    for (const c of containers) set.add(`container:${c.title}`);
  for (const event of manifest.activationEvents ?? []) set.add(`activation:${event}`);
  return set;
}

/**
 * Types `text` in a new paragraph at the end of the open file and waits for the ghost text that
 * follows (the first completion may come late while models load or the index is built).
 */
async function typeAtEndForGhostText(wb, text, timeoutMs = 20_000) {
  await wb.press("Control+End");
  await wb.press("Enter");
  await wb.press("Enter");
  await wb.type(text);
  return wb.ghostText(timeoutMs);
}

/**
 * Asks for a completion at the end of `file` until the panel lists nodes with a line span (the first
 * requests may come while the index is still being built) and returns their locator. The panel is
 * shown by its command: clicking its activity-bar icon again would close the sidebar.
 */
async function nodesFor(wb, file) {
  const rows = wb.webview().locator('[data-testid="hef-node"][data-line]');
  await wb.until(
    "nodes in the panel",
    async () => {
      await wb.openFile(file);
      await wb.press("Control+End");
      await wb.runCommand(COMPLETE_NOW);
      await wb.runCommand(SHOW_NODES);
      return rows
        .first()
        .waitFor({ timeout: 10_000 })
        .then(
          () => true,
          () => false,
        );
    },
    60_000,
  );
  return rows;
}

/** @typedef {{ wb: import("./driver.mjs").Workbench, manifest: any, features: Set<string>, state: Record<string, any>, log: (m: string) => void }} Context */

/** @type {{ name: string, requires: string[], run: (ctx: Context) => Promise<void> }[]} */
export const scenarios = [
  {
    name: "workbench",
    requires: [],
    async run({ wb, manifest, log }) {
      await wb.open();
      log("workbench ready");
      await wb.openFile("shop/cart.py");
      // With no activation events the extension starts on its first command; otherwise wait for it.
      if ((manifest.activationEvents ?? []).length > 0) {
        await wb.activation();
        log("extension activated");
      }
    },
  },
  {
    name: "indexing",
    requires: [`command:${SHOW_NODES}`],
    async run({ wb, state, log }) {
      await wb.activation();
      const pid = await wb.channelLine(CHANNEL, /sidecar pid (\d+)/);
      state.sidecarPid = Number(pid[1]);
      await wb.channelLine(CHANNEL, /sidecar ready/);
      await wb.channelLine(CHANNEL, /index(ed|ing)\b.*\b(done|ready|complete)|\bindexed\b/i, { timeoutMs: 60_000 });
      const status = (await wb.statusItem("HEF").textContent())?.trim();
      log(`sidecar ${state.sidecarPid} ready, index built; status bar: ${JSON.stringify(status)}`);
    },
  },
  {
    name: "rebuild-cache",
    requires: [`command:${REBUILD}`],
    async run({ wb, log }) {
      await wb.runCommand(REBUILD);
      const message = await wb.notification("cache rebuilt", { timeoutMs: 90_000, failOn: /HEF: .*failed/ });
      log(`notification: ${JSON.stringify(message.trim())}`);
      await wb.screenshot("rebuild-cache");
      await wb.activation(5_000);
      const report = /rebuilt, \d+ files, \d+ nodes/.exec(wb.channel(CHANNEL));
      if (!report) throw new Error("the output channel has no index report after the rebuild");
      log(`logged: ${report[0]}`);
    },
  },
  {
    name: "ghost-text",
    requires: [`command:${TOGGLE_INLINE}`],
    async run({ wb, log }) {
      const file = "shop/cart.py";
      await wb.openFile(file);
      const typed = "def total_with_tax(cart, rate):\n";
      const ghost = await typeAtEndForGhostText(wb, typed);
      if (!ghost.trim()) throw new Error("ghost text is empty");
      log(`ghost text (${ghost.length} chars): ${JSON.stringify(ghost.slice(0, 80))}`);
      await wb.screenshot("ghost-text");
      // VS Code's Tab indents instead of accepting while the suggestion starts with at least a tab's
      // width of indentation (its inlineSuggestionHasIndentationLessThanTabSize rule): as a user would,
      // press Tab until the suggestion is taken.
      for (let tabs = 1; tabs <= 1 + Math.floor((ghost.length - ghost.trimStart().length) / 4); tabs++) {
        await wb.press("Tab");
        await new Promise((wake) => setTimeout(wake, 400));
        if (!(await wb.ghostVisible())) break;
      }
      await wb.press("Control+S");
      const saved = await wb.until(`${file} saved with the accepted completion`, () => {
        const text = wb.readWorkspaceFile(file);
        const at = text.lastIndexOf("def total_with_tax(cart, rate):");
        return at >= 0 && text.slice(at + typed.length).trim().length > 0 && text;
      });
      const tail = saved.slice(saved.lastIndexOf("def total_with_tax"));
      log(`accepted and saved: ${JSON.stringify(tail.slice(0, 120))}`);
      // Real code, not just text: the function with its accepted body parses as Python, or it names
      // something another file of the workspace defines.
      const errors = await pythonSyntaxErrors(tail);
      const body = tail.slice(typed.length);
      const named = [...(await definedElsewhere(wb.workspace, file))].filter((name) =>
        new RegExp(`\\b${name}\\b`).test(body),
      );
      log(
        `parses as Python: ${errors.length === 0 ? "yes" : `no (${errors.join(", ")})`}; names defined in other files: ${named.join(", ") || "none"}`,
      );
      if (errors.length > 0 && named.length === 0)
        throw new Error(`the accepted completion is not code: ${JSON.stringify(tail)}`);
    },
  },
  {
    name: "accept then the next suggestion from memory",
    requires: [`command:${TOGGLE_INLINE}`],
    async run({ wb, log }) {
      // Speculative next (issue 16): while a suggestion shows, the sidecar computes the one that
      // follows accepting it; accepting then shows that one at once, without a completion request.
      // The status bar's latency is the last request's round trip: a request after accepting would
      // change it.
      const file = "shop/cart.py";
      await wb.openFile(file);
      // Accepted as soon as it shows: the speculation may still run, and accepting then waits for it.
      const first = await typeAtEndForGhostText(wb, "def count_items(cart):\n    count = ");
      const status = async () => (await wb.statusItem("HEF").textContent())?.trim();
      const lastRequest = await status();
      const suggestedAt = await wb.cursorStatus();
      await wb.press("Tab");
      const acceptedAt = await wb.until(
        "the suggestion accepted",
        async () => {
          const cursor = await wb.cursorStatus();
          return cursor !== suggestedAt && cursor;
        },
        5_000,
      );
      const next = await wb.until(
        "the next suggestion after accepting",
        async () => (await wb.ghostVisible()) && (await wb.ghost().allTextContents()).join(""),
        10_000,
      );
      const after = await status();
      log(
        `suggested ${JSON.stringify(first)} at ${suggestedAt}, accepted (${acceptedAt}); then ${JSON.stringify(next)}; status bar ${JSON.stringify(lastRequest)} → ${JSON.stringify(after)}`,
      );
      await wb.screenshot("accept-then-next");
      if (after !== lastRequest)
        throw new Error(
          `a completion request ran after accepting (status bar ${JSON.stringify(lastRequest)} → ${JSON.stringify(after)})`,
        );
      // Leave the file as it is on disk for the scenarios after this one.
      await wb.press("Escape");
      await wb.runCommand("File: Revert File");
    },
  },
  {
    name: "nodes-panel",
    requires: ["view:hef.nodes", "container:HEF", `command:${COMPLETE_NOW}`, `command:${SHOW_NODES}`],
    async run({ wb, log }) {
      // Ask for nodes at a cursor in a known file, then look at the panel. Chunk and file nodes have
      // a line span to open; module and repo nodes unfold what they cover in place.
      const withSpan = await nodesFor(wb, "shop/cart.py");
      const node = wb.webview().locator('[data-testid="hef-node"]');
      const count = await node.count();
      const first = (await node.first().textContent())?.trim() ?? "";
      log(`panel lists ${count} nodes; first: ${JSON.stringify(first.slice(0, 80))}`);
      await wb.screenshot("nodes-panel");
      // Clicking a node opens its span: the active editor shows its file, the cursor at the span.
      const path = await withSpan.first().getAttribute("data-path");
      const before = await wb.cursorStatus();
      await withSpan.first().click();
      if (path) await wb.activeTab(path.split(/[\\/]/).pop());
      const after = await wb.until(
        "the cursor at the node's span",
        async () => {
          const status = await wb.cursorStatus();
          return status !== before && status;
        },
        10_000,
      );
      log(`clicked node ${path ?? "(no data-path)"} → ${after}`);
    },
  },
  {
    name: "panel click then typing leaves the file unchanged",
    requires: ["view:hef.nodes", "container:HEF", `command:${COMPLETE_NOW}`, `command:${SHOW_NODES}`],
    async run({ wb, log }) {
      // Issue 18: a click selected the node's whole span and left the keyboard in the editor, so one
      // keystroke replaced it. Now the cursor lands at the span's start and the keystroke goes there.
      const rows = await nodesFor(wb, "shop/cart.py");
      const files = wb.webview().locator('[data-testid="hef-node"][data-level="file"]');
      const row = (await files.count()) > 0 ? files.first() : rows.first();
      const path = await row.getAttribute("data-path");
      const line = Number(await row.getAttribute("data-line"));
      const level = await row.getAttribute("data-level");
      const before = wb.readWorkspaceFile(path);
      await row.click();
      await wb.activeTab(path.split("/").pop());
      const cursor = await wb.until(
        `the cursor at line ${line} of ${path}, nothing selected`,
        async () => {
          const status = await wb.cursorStatus();
          return status.startsWith(`Ln ${line}, Col 1`) && status;
        },
        10_000,
      );
      if (/selected/.test(cursor)) throw new Error(`the click selected text: ${cursor}`);
      await wb.type("x");
      await wb.press("Escape"); // dismiss any ghost text
      await wb.press("Control+S");
      const lines = before.split("\n");
      lines[line - 1] = `x${lines[line - 1]}`;
      const expected = lines.join("\n");
      await wb
        .until(
          `${path} saved with one "x" at the start of line ${line}`,
          () => wb.readWorkspaceFile(path) === expected,
          10_000,
        )
        .catch((error) => {
          const now = wb.readWorkspaceFile(path);
          throw new Error(
            `${error.message}: ${before.split("\n").length} lines before, ${now.split("\n").length} now; line ${line} reads ${JSON.stringify(now.split("\n")[line - 1])}`,
          );
        });
      log(
        `clicked ${level} ${path}:${line} (${cursor}), typed "x": the file keeps its ${lines.length} lines, "x" at the span's start`,
      );
      // Leave the file as it was for the scenarios after this one.
      await wb.press("Control+Z");
      await wb.press("Control+S");
      await wb.until(`${path} restored`, () => wb.readWorkspaceFile(path) === before, 10_000);
    },
  },
  {
    name: "refresh-on-save",
    requires: [`command:${SHOW_NODES}`],
    async run({ wb, log }) {
      const skip = wb.channel(CHANNEL).length;
      await wb.openFile("shop/inventory/stock.py");
      await wb.press("Control+End");
      await wb.press("Enter");
      await wb.type("# changed by the e2e test\n");
      await wb.press("Escape"); // dismiss any ghost text
      await wb.press("Control+S");
      await wb.until("stock.py saved", () =>
        wb.readWorkspaceFile("shop/inventory/stock.py").includes("# changed by the e2e test"),
      );
      // The save's refresh from disk, not that of the unsaved text (after a 2 s rest while typing).
      const line = await wb.channelLine(CHANNEL, /^.*refreshed shop\/inventory\/stock\.py in \d+ ms.*$/im, {
        skip,
        timeoutMs: 30_000,
      });
      log(`logged: ${line[0].trim()}`);
    },
  },
  {
    name: "sidecar-restart",
    requires: [`command:${SHOW_NODES}`],
    async run({ wb, state, log }) {
      const pids = () => [...wb.channel(CHANNEL).matchAll(/sidecar pid (\d+)/g)].map((m) => Number(m[1]));
      const pid = state.sidecarPid ?? pids().at(-1);
      if (!pid) throw new Error('no "sidecar pid <n>" line in the HEF output channel');
      const skip = wb.channel(CHANNEL).length;
      process.kill(pid, "SIGKILL");
      log(`killed sidecar ${pid}`);
      const next = await wb.channelLine(CHANNEL, /sidecar pid (\d+)/, { skip, timeoutMs: 30_000 });
      if (Number(next[1]) === pid) throw new Error(`the sidecar came back with the same pid ${pid}`);
      await wb.channelLine(CHANNEL, /sidecar ready/, { skip, timeoutMs: 30_000 });
      state.sidecarPid = Number(next[1]);
      log(`sidecar back as ${next[1]}`);
    },
  },
  {
    name: "select-models",
    requires: [`command:${SELECT_MODELS}`],
    async run({ wb, log }) {
      await wb.runCommand(SELECT_MODELS);
      // a quick pick listing the models, the default among them
      const row = wb.page.locator(".quick-input-list .monaco-list-row").first();
      await row.waitFor();
      log(`first model choice: ${JSON.stringify((await row.textContent())?.trim())}`);
      await wb.press("Escape");
    },
  },
  {
    name: "bad-model-notification",
    requires: [`command:${SELECT_MODELS}`, `command:${RESTART}`],
    async run({ wb, log }) {
      // A text file renamed .gguf, set as the generator (here through the workspace's settings file):
      // the failure must be said in a notification that offers the way back, not only in a tooltip,
      // and the embedded defaults serve meanwhile.
      const notes = join(wb.workspace, "notes.gguf");
      writeFileSync(notes, "not a model, just notes\n".repeat(8));
      mkdirSync(join(wb.workspace, ".vscode"), { recursive: true });
      const settings = join(wb.workspace, ".vscode", "settings.json");
      writeFileSync(settings, JSON.stringify({ "hef.models.generator": notes }));
      try {
        const message = await wb.notification("completing with the embedded default models meanwhile", {
          timeoutMs: 90_000,
        });
        if (!/not a GGUF file/.test(message))
          throw new Error(`the notification does not say why: ${JSON.stringify(message)}`);
        log(`notification: ${JSON.stringify(message)}`);
        await wb.screenshot("bad-model-notification");
        const skip = wb.channel(CHANNEL).length;
        await wb.page
          .locator(".notification-toast", { hasText: "completing with the embedded default models" })
          .getByRole("button", { name: "Use the default models" })
          .click();
        await wb.channelLine(CHANNEL, /models set back to the embedded defaults/, { skip, timeoutMs: 30_000 });
        await wb.channelLine(CHANNEL, /sidecar ready/, { skip, timeoutMs: 90_000 });
        log("back on the default models");
      } finally {
        rmSync(notes, { force: true });
        rmSync(join(wb.workspace, ".vscode"), { recursive: true, force: true });
      }
    },
  },
  {
    name: "large-workspace-completes-while-indexing",
    requires: [`command:${RESTART}`],
    async run({ wb, state, log }) {
      // A workspace far too large to index in the time a user waits, opened with no cache: the file
      // in view is indexed first and completes while the rest of the tree is still being read.
      const pids = () => [...wb.channel(CHANNEL).matchAll(/sidecar pid (\d+)/g)].map((m) => Number(m[1]));
      const pid = pids().at(-1);
      const file = "shop/cart.py";
      await wb.openFile(file);
      const big = join(wb.workspace, "generated");
      const skip = wb.channel(CHANNEL).length;
      process.kill(pid, "SIGKILL");
      // While the sidecar is down (it comes back after a second): no cache, and 1,200 files more.
      rmSync(join(wb.workspace, "..", "..", "home", ".cache", "hef-code"), { recursive: true, force: true });
      for (let d = 0; d < 40; d++) {
        mkdirSync(join(big, `pkg${d}`), { recursive: true });
        for (let f = 0; f < 30; f++) {
          const body = Array.from(
            { length: 12 },
            (_, i) =>
              `def helper_${d}_${f}_${i}(value, scale=${i + 1}):\n    """Scale value by ${i + 1}."""\n    return value * scale + ${f}\n`,
          ).join("\n");
          writeFileSync(join(big, `pkg${d}`, `mod${f}.py`), body);
        }
      }
      try {
        await wb.channelLine(CHANNEL, /sidecar ready/, { skip, timeoutMs: 90_000 });
        state.sidecarPid = pids().at(-1);
        const ghost = await typeAtEndForGhostText(wb, "def cart_total(cart):\n", 60_000);
        const status = (await wb.statusItem("HEF").textContent())?.trim() ?? "";
        log(`ghost text ${JSON.stringify(ghost.slice(0, 60))} while the status bar reads ${JSON.stringify(status)}`);
        if (!/indexing/.test(status))
          throw new Error(`the index was complete before the first completion: ${JSON.stringify(status)}`);
        if (!/ left/.test(status)) log("no time-left estimate yet");
        await wb.screenshot("large-workspace-completes-while-indexing");
      } finally {
        // Auto-save is off here: the typing never reached the disk.
        await wb.press("Escape");
        await wb.runCommand("File: Revert File");
        rmSync(big, { recursive: true, force: true });
      }
    },
  },
];
