import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namesGiven } from "../../sidecar/eval/namesGiven";

describe("namesGiven", () => {
  const window = "from .cart import Cart\n\ndef total(cart: Cart):\n    return ";

  it("says the prefix when its window shows every name, as whole identifiers", () => {
    assert.equal(namesGiven(["Cart", "total"], window, []), "prefix");
    // "car" is inside "cart" but is no identifier of the window.
    assert.equal(namesGiven(["car"], window, []), "not given");
  });

  it("counts the entity line's qualified names by their parts, only for what the window lacks", () => {
    assert.equal(namesGiven(["Cart", "add_item"], window, ["Cart.add_item"]), "entity line");
    assert.equal(namesGiven(["add_item", "tax_rate"], window, ["Cart.add_item"]), "not given");
    assert.equal(namesGiven(["Cart"], window, ["Cart"]), "prefix");
  });

  it("has nothing to say without names", () => {
    assert.equal(namesGiven([], window, ["Cart"]), undefined);
  });
});
