import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RetrievedNode } from "../../sidecar/cache/retrieval";
import {
  createLanguageSupport,
  EntityIndex,
  extractEntities,
  rankEntities,
  selectEntities,
  type EntityName,
  type LanguageSupport,
} from "../../sidecar/completion/entities";
import { goFile, javaFile, pythonFile } from "../chunking/helpers";

let support: LanguageSupport;
before(async () => {
  support = await createLanguageSupport();
});
after(() => support.dispose());

const names = (path: string, text: string) =>
  extractEntities(path, text, support).map((e) => `${e.qualified}:${e.kind}@${e.line}`);

describe("extractEntities", () => {
  it("python: classes, methods, attributes, module-level names; not locals", () => {
    const text = [
      "MAX_ITEMS = 10",
      "registry, cache = {}, {}",
      "class Cart(Base):",
      "    currency = 'EUR'",
      "    @property",
      "    def total(self):",
      "        def helper(): pass",
      "        local = 1",
      "if TYPE_CHECKING:",
      "    def typed(): pass",
      "",
    ].join("\n");
    assert.deepEqual(names("shop/cart.py", text), [
      "MAX_ITEMS:constant@1",
      "registry:variable@2",
      "cache:variable@2",
      "Cart:class@3",
      "Cart.currency:field@4",
      "Cart.total:method@6",
      "typed:function@10",
    ]);
  });

  it("typescript: declarations, class members, namespaces, top-level consts", () => {
    const text = [
      "export const makeCart = () => new Cart();",
      "let count = 0, LIMIT = 3;",
      "export default class Cart<T> extends Base { items = []; constructor() { super(); } add(x: T): void {} static empty() {} }",
      "interface Item { price(): number }",
      "type Id = string;",
      "enum Color { Red }",
      "namespace Shop { export function open() {} }",
      "abstract class Shape { abstract area(): number; }",
      "declare function ambient(): void;",
      "function outer() { const inner = 1; }",
      "",
    ].join("\n");
    assert.deepEqual(names("src/cart.ts", text), [
      "makeCart:function@1",
      "count:variable@2",
      "LIMIT:constant@2",
      "Cart:class@3",
      "Cart.items:field@3",
      "Cart.add:method@3",
      "Cart.empty:method@3",
      "Item:interface@4",
      "Id:type@5",
      "Color:enum@6",
      "Shop:namespace@7",
      "Shop.open:function@7",
      "Shape:class@8",
      "Shape.area:method@8",
      "ambient:function@9",
      "outer:function@10",
    ]);
  });

  it("javascript and tsx", () => {
    assert.deepEqual(
      names(
        "a.js",
        "class A { m() {} #secret() {} }\nfunction* gen() {}\nvar f = function () {}, K = class {};\nexports.z = 1;\n",
      ),
      ["A:class@1", "A.m:method@1", "A.#secret:method@1", "gen:function@2", "f:function@3", "K:class@3"],
    );
    assert.deepEqual(
      names(
        "App.tsx",
        "export function App() { return <div />; }\nexport const Button = (p: Props) => <button {...p} />;\n",
      ),
      ["App:function@1", "Button:function@2"],
    );
  });

  it("java: nested types, methods, fields, constants", () => {
    const text =
      "package shop;\nclass Cart {\n  static final int MAX = 1, MIN = 0;\n  int size;\n  Cart() {}\n  void add() {}\n  enum State { OPEN; void close() {} }\n  interface Listener { void changed(); }\n}\n";
    assert.deepEqual(names("shop/Cart.java", text), [
      "Cart:class@2",
      "Cart.MAX:constant@3",
      "Cart.MIN:constant@3",
      "Cart.size:field@4",
      "Cart.add:method@6",
      "Cart.State:enum@7",
      "Cart.State.OPEN:constant@7",
      "Cart.State.close:method@7",
      "Cart.Listener:interface@8",
      "Cart.Listener.changed:method@8",
    ]);
  });

  it("go: functions, methods on their receiver type, types, consts and vars", () => {
    const text =
      "package shop\nconst Max = 1\nconst (\n\tA, B = 2, 3\n)\nvar debug bool\ntype Cart struct{}\ntype ID = string\nfunc New() *Cart { return nil }\nfunc (c *Cart) Add() {}\nfunc (s Set[K]) Has() bool { return false }\n";
    assert.deepEqual(names("shop/cart.go", text), [
      "Max:constant@2",
      "A:constant@4",
      "B:constant@4",
      "debug:variable@6",
      "Cart:type@7",
      "ID:type@8",
      "New:function@9",
      "Cart.Add:method@10",
      "Set.Has:method@11",
    ]);
  });

  it("nothing for files without a grammar", () => {
    assert.deepEqual(extractEntities("notes.md", "# Title\n", support), []);
  });

  it("real files: Python's os.py, the JDK's ArrayList, git's Go proxy", (t) => {
    const cases: Array<[ReturnType<typeof pythonFile>, string[]]> = [
      [pythonFile(), ["makedirs", "walk", "_Environ.__getitem__"]],
      [javaFile(), ["ArrayList.add", "ArrayList.DEFAULT_CAPACITY", "ArrayList.Itr.hasNext"]],
      [goFile(), ["Proxy.Run", "Proxy"]],
    ];
    for (const [file, expected] of cases) {
      if (!file) {
        t.diagnostic("a real file is missing on this machine");
        continue;
      }
      const qualified = new Set(extractEntities(file.path, file.text, support).map((e) => e.qualified));
      for (const name of expected) assert.ok(qualified.has(name), `${file.path}: ${name} not found`);
    }
  });
});

function entity(qualified: string, path: string, line: number): EntityName {
  return { name: qualified.slice(qualified.lastIndexOf(".") + 1), qualified, kind: "function", path, line };
}

function retrieved(id: string, path: string, startLine?: number, endLine?: number): RetrievedNode {
  return {
    id,
    level: "chunk",
    partial: false,
    path,
    spans: [{ path, ...(startLine ? { startLine, endLine } : {}) }],
    score: 1,
  };
}

describe("rankEntities", () => {
  const files = new Map([
    ["a.py", [entity("a1", "a.py", 1), entity("a2", "a.py", 10), entity("Shared", "a.py", 20)]],
    ["b.py", [entity("b1", "b.py", 2), entity("Shared", "b.py", 3)]],
  ]);
  it("takes the entities inside the nodes' spans, in rank order, once each", () => {
    const nodes = [retrieved("n1", "b.py"), retrieved("n2", "a.py", 5, 25), retrieved("n3", "dir")];
    assert.deepEqual(
      rankEntities(files, nodes).map((e) => `${e.path}:${e.qualified}`),
      ["b.py:b1", "b.py:Shared", "a.py:a2"],
    );
  });
});

describe("selectEntities", () => {
  const words = (text: string) => text.split(/[._]/).length;
  const candidates = [
    entity("Cart.add_item", "c.py", 1),
    entity("total", "c.py", 2),
    entity("Cart.add_item", "d.py", 3),
    entity("helper", "c.py", 4),
  ];
  it("dedupes, skips names already visible, and keeps to the budget", () => {
    assert.deepEqual(selectEntities(candidates, words), ["Cart.add_item", "total", "helper"]);
    assert.deepEqual(selectEntities(candidates, words, { exclude: "x = total(cart)" }), ["Cart.add_item", "helper"]);
    // Costs: Cart.add_item 3, then total 1 + 1 (its separator), helper 1 + 1: a budget of 5 takes the first two.
    assert.deepEqual(selectEntities(candidates, words, { budget: 5 }), ["Cart.add_item", "total"]);
    // A name that does not fit does not stop a later one that does: total costs 1 as the first name.
    assert.deepEqual(selectEntities(candidates, words, { budget: 2 }), ["total"]);
  });
});

describe("EntityIndex", () => {
  it("keeps per-file lists, refreshed and removed file by file", () => {
    const index = new EntityIndex(support);
    index.refresh("a.py", "def f(): pass\n");
    index.refresh("b.go", "package b\nfunc G() {}\n");
    assert.deepEqual([...index.files.keys()], ["a.py", "b.go"]);
    const before = index.files.get("a.py");
    assert.equal(index.refresh("a.py", "def f(): pass\n"), before); // unchanged text: not parsed again
    index.refresh("a.py", "def f(): pass\ndef g(): pass\n");
    assert.deepEqual(
      index.files.get("a.py")!.map((e) => e.qualified),
      ["f", "g"],
    );
    index.remove("b.go");
    assert.deepEqual([...index.files.keys()], ["a.py"]);
  });
});
