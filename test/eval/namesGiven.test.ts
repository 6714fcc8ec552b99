import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namesGiven, PREFIX_WINDOW_CHARS } from "../../sidecar/eval/namesGiven";

describe("namesGiven", () => {
  const prefix = "from .cart import Cart\n\ndef total(cart: Cart):\n    return ";

  it("says the prefix when its window shows every name, as whole identifiers", () => {
    assert.equal(namesGiven(["Cart", "total"], prefix, []), "prefix");
    // "car" is inside "cart" but is no identifier of the prefix.
    assert.equal(namesGiven(["car"], prefix, []), "not given");
  });

  it("counts the entity line's qualified names by their parts, only for what the prefix lacks", () => {
    assert.equal(namesGiven(["Cart", "add_item"], prefix, ["Cart.add_item"]), "entity line");
    assert.equal(namesGiven(["add_item", "tax_rate"], prefix, ["Cart.add_item"]), "not given");
    assert.equal(namesGiven(["Cart"], prefix, ["Cart"]), "prefix");
  });

  it("looks only at the prefix window the generator sees", () => {
    const far = `Tax = 1\n${"x = 0\n".repeat(PREFIX_WINDOW_CHARS / 6 + 1)}`;
    assert.equal(namesGiven(["Tax"], far, []), "not given");
    assert.equal(namesGiven(["Tax"], far.slice(-PREFIX_WINDOW_CHARS + 10) + "Tax", []), "prefix");
  });

  it("has nothing to say without names", () => {
    assert.equal(namesGiven([], prefix, ["Cart"]), undefined);
  });
});
