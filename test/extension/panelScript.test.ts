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
  hidden = false;
  disabled = false;
  attributes: Record<string, string> = {};
  dataset: Record<string, string> = {};
  private clicks: (() => void)[] = [];
  constructor(readonly tagName: string) {}
  append(...nodes: Element[]) {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: Element[]) {
    this.children = nodes;
  }
  setAttribute(name: string, value: string) {
    this.attributes[name] = value;
  }
  addEventListener(type: string, listener: () => void) {
    if (type === "click") this.clicks.push(listener);
  }
  click() {
    if (!this.disabled) for (const listener of this.clicks) listener();
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
    document: {
      getElementById: (id: string) => (id === "panel" ? root : null),
      createElement: (tag: string) => new Element(tag),
    },
    window: {
      addEventListener: (type: string, listener: typeof onMessage) => type === "message" && (onMessage = listener),
    },
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
    const view = panelView(
      {
        params: { root: "/repo" } as never,
        result: completionResult("x", { nodes: [...NODES].reverse() }),
        latencyMs: 50,
      },
      7,
    );
    page.show(view);
    const buttons = page.root.all("button").filter((b) => b.dataset.testid === "hef-node");
    assert.equal(buttons.length, 4);
    assert.equal(buttons[0]!.text.trim(), "chunk cart.py shop 30–48 0.910");
    assert.deepEqual(buttons[0]!.dataset, { testid: "hef-node", level: "chunk", path: "shop/cart.py", line: "30" });
    assert.match(page.root.text, /Retrieved nodes \(4, mode hef\) · repo/);
    assert.match(page.root.text, /Snippet injection of the same nodes 2,520 tokens/);
    assert.match(page.root.text, /Prefill 30 ms/);
    assert.doesNotMatch(page.root.text, /Names listed/, "no section for an entity line the prompt did not have");
    buttons[1]!.click();
    assert.deepEqual(page.sent.at(-1), { type: "open", seq: 7, index: 2 }, "the index of the node, not of its row");
  });

  test("lists the entity line's names as text", () => {
    const page = loadPage();
    const result = completionResult("x", { entityTokens: 9, entityNames: ["Cart", "<b>Cart.add_item</b>"] });
    page.show(panelView({ params: { root: "/repo" } as never, result, latencyMs: 50 }, 2));
    assert.match(page.root.text, /Names listed in the prompt \(2\) Cart, <b>Cart\.add_item<\/b>/);
    assert.match(page.root.text, /Of which listed names 9 tokens/);
  });

  test("a directory row unfolds the files it covers in place, and those open at their lines", () => {
    const page = loadPage();
    page.show(
      panelView(
        { params: { root: "/repo" } as never, result: completionResult("x", { nodes: NODES }), latencyMs: 50 },
        4,
      ),
    );
    const module = page.root.all("button").find((b) => b.dataset.level === "module")!;
    assert.match(module.text, /shop\/ .*covers cart\.py, util\//);
    const list = page.root.all("ul").find((u) => u.className === "covered")!;
    assert.equal(list.hidden, true);
    const sent = page.sent.length;
    module.click();
    assert.equal(page.sent.length, sent, "unfolding asks the extension for nothing (no explorer)");
    assert.deepEqual([list.hidden, module.attributes["aria-expanded"]], [false, "true"]);
    const files = list.all("button");
    assert.deepEqual(
      files.map((f) => f.text.trim()),
      ["cart.py 1–90"],
    );
    assert.match(list.text, /util\//);
    files[0]!.click();
    assert.deepEqual(page.sent.at(-1), { type: "open", seq: 4, index: 2, span: 0 });
    module.click();
    assert.equal(list.hidden, true);
  });

  test("a whole directory, which lists no children, is shown but opens nothing", () => {
    const page = loadPage();
    const repo = { ...NODES[3]!, path: ".", spans: [{ path: "." }] };
    page.show(
      panelView(
        { params: { root: "/repo" } as never, result: completionResult("x", { nodes: [repo] }), latencyMs: 50 },
        2,
      ),
    );
    const [button] = page.root.all("button");
    assert.equal(button!.text.trim(), "repo repo/  0.500");
    assert.equal(button!.disabled, true);
    button!.click();
    assert.deepEqual(page.sent, [{ type: "ready" }]);
  });

  test("shows why a completion has no nodes", () => {
    const page = loadPage();
    const status = { backend: "CPU", models: {}, folders: [{ root: "/repo", state: "indexing", files: 0, nodes: 0 }] };
    page.show(
      panelView({ params: { root: "/repo" } as never, result: completionResult("x"), latencyMs: 50 }, 2, {
        state: "running",
        status,
      } as never),
    );
    assert.match(
      page.root.text,
      /Retrieved nodes \(0, mode hef\) · repo Nothing to retrieve yet: the index of repo is still being built/,
    );
  });

  test("never writes markup: data goes through textContent only", () => {
    assert.doesNotMatch(SOURCE, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
