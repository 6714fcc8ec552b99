import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { focusWithImports, importedPaths } from "../../sidecar/cache/imports";
import { copyOfRepo } from "../helpers/repos";

describe("the files a source file probably imports", () => {
  test("Python: absolute, relative and submodule imports, as files or packages", () => {
    const text =
      "import os, shop.util\nfrom shop.pricing import tax, rates as r\nfrom .stock import Stock\nfrom .. import config\nfrom x import (a,\n    b)\n";
    const paths = importedPaths("shop/inventory/cart.py", text);
    for (const expected of [
      "os.py",
      "shop/util.py",
      "shop/util/__init__.py",
      "shop/pricing.py",
      "shop/pricing/__init__.py",
      "shop/pricing/tax.py",
      "shop/inventory/stock.py",
      "shop/__init__.py",
      "shop/config.py",
      "x/a.py",
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(", ")}`);
    }
    assert.ok(!paths.some((p) => p.startsWith("..")), "nothing above the root");
  });

  test("TypeScript and JavaScript: relative specifiers with their extensions; packages are left out", () => {
    const text =
      'import { a } from "./util.js";\nexport * from "../common/protocol";\nconst m = await import("./lazy");\nconst x = require("./legacy");\nimport "vscode";\nimport b from "node:path";\n';
    const paths = importedPaths("extension/panel/view.ts", text);
    for (const expected of [
      "extension/panel/util.ts",
      "extension/common/protocol.ts",
      "extension/panel/lazy.ts",
      "extension/panel/legacy.js",
      "extension/panel/lazy/index.ts",
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(", ")}`);
    }
    assert.ok(!paths.some((p) => p.includes("vscode") || p.includes("node:")));
  });

  test("other languages: no guess", () => {
    assert.deepEqual(importedPaths("main.go", 'import "fmt"'), []);
  });

  test("the focus of an index run: the files in view and what they import, read from the folder", async () => {
    const root = copyOfRepo("samples/shop");
    const focus = await focusWithImports(root, new Set(["shop/cart.py", "../outside.py"]));
    assert.deepEqual([...focus.inView], ["shop/cart.py", "../outside.py"]);
    for (const path of ["shop/inventory/stock.py", "shop/pricing/discounts.py", "shop/pricing/tax.py"])
      assert.ok(focus.imported.has(path), `${path} in ${[...focus.imported].join(", ")}`);
    assert.ok(![...focus.imported].some((path) => path.startsWith("..")), "nothing read or guessed outside the folder");
  });
});
