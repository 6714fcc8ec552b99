// Drives the VS Code web workbench in Debian's Chromium through playwright-core. Selectors are those
// verified for VS Code 1.100.3 (see the real-editor notes); scenarios use only this API.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM } from "./setup.mjs";
import { findLogs, readText } from "./editor.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Workbench {
  /** @param {{ url: string, workspace: string, logsDir: string, shots: string, extensionId: string, log: (m: string) => void }} options */
  constructor(options) {
    Object.assign(this, options);
    this.hostConsole = []; // the extension's console.* reaches the page as "[Extension Host] ..."
    this.shotFiles = [];
  }

  async launch() {
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    this.page = await this.browser.newPage({ viewport: { width: 1400, height: 900 } });
    this.page.setDefaultTimeout(30_000);
    this.page.on("console", (message) => {
      if (message.text().includes("[Extension Host]")) this.hostConsole.push(message.text());
    });
  }

  async close() {
    await this.browser?.close().catch(() => {});
  }

  // --- waiting ------------------------------------------------------------------------------------

  /** Polls fn() until it returns something truthy. */
  async until(what, fn, timeoutMs = 30_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(200);
    }
  }

  // --- workbench ----------------------------------------------------------------------------------

  async open() {
    await this.page.goto(`${this.url}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.page.locator(".monaco-workbench .part.activitybar").waitFor();
    await this.page.locator(".explorer-folders-view .monaco-list-row").first().waitFor();
  }

  /** Runs a command from the palette by its label as shown there ("HEF: Rebuild HEF cache"). */
  async runCommand(label) {
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor({ state: "visible" });
    await input.fill(`>${label}`);
    await this.page.locator(".quick-input-list .monaco-list-row", { hasText: label }).first().waitFor();
    await this.page.keyboard.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /** Opens a workspace file with Quick Open and focuses its editor; returns the editor locator. */
  async openFile(relativePath) {
    await this.page.keyboard.press("Control+P");
    const input = this.page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor({ state: "visible" });
    await input.fill(relativePath);
    // The row whose file name is exactly this one ("cart.py" is also in "test_cart.py", which Quick
    // Open may list first when it was opened recently), clicked rather than taken with Enter.
    const name = this.page.locator(".label-name", { hasText: new RegExp(`^${escape(basename(relativePath))}$`) });
    const row = this.page.locator(".quick-input-list .monaco-list-row", { has: name }).first();
    await row.waitFor();
    await row.click();
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
    await this.activeTab(basename(relativePath));
    const editor = this.editor();
    await editor.locator(".view-lines").click();
    return editor;
  }

  editor() {
    return this.page.locator(".editor-instance .monaco-editor").first();
  }

  async activeTab(name) {
    const label = this.page.locator(".label-name", { hasText: new RegExp(`^${escape(name)}$`) });
    return this.page.locator(".tabs-container .tab.active", { has: label }).first().waitFor();
  }

  /** Text of the cursor position item in the status bar ("Ln 12, Col 5 (30 selected)"). */
  async cursorStatus() {
    return (await this.page.locator("#status\\.editor\\.selection").first().textContent())?.trim() ?? "";
  }

  async type(text) {
    await this.page.keyboard.type(text, { delay: 30 });
  }

  async press(key) {
    await this.page.keyboard.press(key);
  }

  /** The ghost text's decorations in the active editor. */
  ghost() {
    return this.editor().locator(".ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text");
  }

  /** Whether ghost text shows now. */
  async ghostVisible() {
    return this.ghost().first().isVisible();
  }

  /** Resolves with the ghost text shown in the editor (single-line decorations and multi-line view zones). */
  async ghostText(timeoutMs = 20_000) {
    const ghost = this.ghost();
    await ghost.first().waitFor({ state: "visible", timeout: timeoutMs });
    return (await ghost.allTextContents()).join("");
  }

  /** Waits for a notification toast containing `text`; throws at once on an error toast from the extension. */
  async notification(text, { timeoutMs = 60_000, failOn } = {}) {
    const wanted = this.page.locator(".notification-toast", { hasText: text }).first();
    return this.until(
      `notification "${text}"`,
      async () => {
        const message = (toast) => toast.locator(".notification-list-item-message").first().innerText();
        if (await wanted.isVisible()) return message(wanted);
        if (failOn) {
          const bad = this.page.locator(".notification-toast", { hasText: failOn }).first();
          if (await bad.isVisible()) throw new Error(`notification: ${await message(bad)}`);
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** A status bar item whose text matches. */
  statusItem(text) {
    return this.page.locator(".part.statusbar .statusbar-item", { hasText: text }).first();
  }

  async clickActivityBar(title) {
    await this.page.locator(`.part.activitybar [aria-label^="${title}"]`).first().click();
  }

  /** The document inside a webview view of this extension (outer iframe.webview → inner #active-frame). */
  webview() {
    return this.page
      .frameLocator(`iframe.webview.ready[src*="extensionId=${this.extensionId}"]`)
      .frameLocator("iframe#active-frame");
  }

  async screenshot(name) {
    mkdirSync(this.shots, { recursive: true });
    const file = join(this.shots, `${name}.png`);
    await this.page.screenshot({ path: file, animations: "disabled" });
    this.shotFiles.push(file);
    return file;
  }

  // --- the extension's logs -----------------------------------------------------------------------

  /**
   * Text of an output channel: <logs>/<session>/exthost<N>/output_logging_<ts>/<n>-<name>.log for a plain
   * channel, <logs>/<session>/exthost<N>/<publisher.name>/<name>.log for a LogOutputChannel.
   */
  channel(name) {
    const files = findLogs(
      this.logsDir,
      (p) => basename(p) === `${name}.log` || new RegExp(`^\\d+-${escape(name)}\\.log$`).test(basename(p)),
    );
    return files.map(readText).join("");
  }

  /** remoteexthost.log: extension host start, activations, uncaught errors. */
  hostLog() {
    return findLogs(this.logsDir, (p) => basename(p) === "remoteexthost.log")
      .map(readText)
      .join("");
  }

  async activation(timeoutMs = 30_000) {
    return this.until(
      `activation of ${this.extensionId}`,
      () => this.hostLog().includes(`_doActivateExtension ${this.extensionId}`),
      timeoutMs,
    );
  }

  /** Waits for a line of an output channel matching `pattern`, after the first `skip` characters. */
  async channelLine(name, pattern, { timeoutMs = 30_000, skip = 0 } = {}) {
    return this.until(
      `"${pattern}" in output channel ${name}`,
      () => pattern.exec(this.channel(name).slice(skip)) ?? undefined,
      timeoutMs,
    );
  }

  readWorkspaceFile(relativePath) {
    const file = join(this.workspace, relativePath);
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  diagnostics() {
    return [
      `---- host log\n${this.hostLog()}`,
      `---- extension host console\n${this.hostConsole.join("\n")}`,
      ...findLogs(this.logsDir, (p) =>
        /[\\/](output_logging_[^\\/]+[\\/]\d+-|hef-code\.hef-code[\\/]).*\.log$/.test(p),
      ).map((f) => `---- ${basename(f)}\n${readText(f)}`),
    ].join("\n");
  }
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
