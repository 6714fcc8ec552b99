"""Discount rules applied to cart lines before tax."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, ROUND_HALF_UP


def round_money(amount: Decimal) -> Decimal:
    """Round to whole cents, halves away from zero, as receipts do."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Discount:
    """A rule that lowers the price of the lines it applies to."""

    code: str

    def applies_to(self, sku: str) -> bool:
        raise NotImplementedError

    def discount_for(self, unit_price: Decimal, quantity: int) -> Decimal:
        raise NotImplementedError


@dataclass(frozen=True)
class PercentOff(Discount):
    """Takes a percentage off every unit of the listed SKUs."""

    code: str
    percent: Decimal
    skus: frozenset[str]

    def applies_to(self, sku: str) -> bool:
        return sku in self.skus

    def discount_for(self, unit_price: Decimal, quantity: int) -> Decimal:
        return round_money(unit_price * quantity * self.percent / Decimal(100))


@dataclass(frozen=True)
class BuyNGetOne(Discount):
    """Every (n + 1)-th unit of a SKU is free."""

    code: str
    n: int
    sku: str

    def applies_to(self, sku: str) -> bool:
        return sku == self.sku

    def discount_for(self, unit_price: Decimal, quantity: int) -> Decimal:
        free_units = quantity // (self.n + 1)
        return round_money(unit_price * free_units)


def best_discount(discounts: list[Discount], sku: str, unit_price: Decimal, quantity: int) -> Decimal:
    """Discounts do not stack: a line gets the single largest one that applies."""
    amounts = [d.discount_for(unit_price, quantity) for d in discounts if d.applies_to(sku)]
    return max(amounts, default=Decimal(0))
