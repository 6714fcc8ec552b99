import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, test } from "node:test";
import { panelView, type PanelMessage } from "../../extension/panel/view";
import { completionResult, NODES } from "./fakeVscode";

const SOURCE = readFileSync("media/panel.js", "utf8");

/** Just enough DOM for media/panel.js: elements that keep their children, text and click listeners. */
class Element {
  children: Element[] = [];
  textContent = "";
  className = "";
  type = "";
  title = "";
  dataset: Record<string, string> = {};
  private clicks: (() => void)[] = [];
  constructor(readonly tagName: string) {}
  append(...nodes: Element[]) {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: Element[]) {
    this.children = nodes;
  }
  addEventListener(type: string, listener: () => void) {
    if (type === "click") this.clicks.push(listener);
  }
  click() {
    for (const listener of this.clicks) listener();
  }
  /** The text shown, as the browser would concatenate it. */
  get text(): string {
    return this.textContent + this.children.map((c) => c.text).join(" ");
  }
  all(tagName: string): Element[] {
    return this.children.flatMap((c) => [...(c.tagName === tagName ? [c] : []), ...c.all(tagName)]);
  }
}

function loadPage() {
  const root = new Element("main");
  const sent: PanelMessage[] = [];
  let onMessage: (event: { data: unknown }) => void = () => {};
  runInNewContext(SOURCE, {
    // Messages are cloned on their way out of the page, as postMessage does.
    acquireVsCodeApi: () => ({ postMessage: (m: PanelMessage) => sent.push(structuredClone(m)) }),
    document: { getElementById: (id: string) => (id === "panel" ? root : null), createElement: (tag: string) => new Element(tag) },
    window: { addEventListener: (type: string, listener: typeof onMessage) => type === "message" && (onMessage = listener) },
  });
  return { root, sent, show: (view: unknown) => onMessage({ data: { type: "show", view } }) };
}

describe("the panel's script (media/panel.js)", () => {
  test("says it is ready, then shows the empty state's text", () => {
    const page = loadPage();
    assert.deepEqual(page.sent, [{ type: "ready" }]);
    page.show(panelView(undefined, 0));
    assert.match(page.root.text, /^No completion yet…/);
  });

  test("lists the nodes and figures as text, and a click asks to open that node of that completion", () => {
    const page = loadPage();
    const view = panelView({ params: {} as never, result: completionResult("x", { nodes: NODES }), latencyMs: 50 }, 7);
    page.show(view);
    const buttons = page.root.all("button");
    assert.equal(buttons.length, 4);
    assert.equal(buttons[0]!.text.trim(), "chunk shop/cart.py 30–48 0.910");
    assert.deepEqual(buttons[0]!.dataset, { testid: "hef-node", path: "shop/cart.py", line: "30" });
    assert.match(page.root.text, /Snippet injection of the same nodes 2,520 tokens/);
    assert.match(page.root.text, /Prefill 30 ms/);
    buttons[2]!.click();
    assert.deepEqual(page.sent.at(-1), { type: "open", seq: 7, index: 2 });
  });

  test("never writes markup: data goes through textContent only", () => {
    assert.doesNotMatch(SOURCE, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
