"""A shopping cart: lines, discounts, tax and checkout."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shop.inventory.stock import Stock
from shop.pricing.discounts import Discount, best_discount, round_money
from shop.pricing.tax import TaxTable


@dataclass
class CartLine:
    sku: str
    category: str
    unit_price: Decimal
    quantity: int


@dataclass
class Cart:
    region: str
    lines: list[CartLine] = field(default_factory=list)
    discounts: list[Discount] = field(default_factory=list)

    def add(self, line: CartLine, stock: Stock) -> None:
        stock.reserve(line.sku, line.quantity)
        self.lines.append(line)

    def line_discount(self, line: CartLine) -> Decimal:
        return best_discount(self.discounts, line.sku, line.unit_price, line.quantity)

    def subtotal(self) -> Decimal:
        return round_money(sum((l.unit_price * l.quantity - self.line_discount(l) for l in self.lines), Decimal(0)))

    def tax(self, taxes: TaxTable) -> Decimal:
        total = Decimal(0)
        for line in self.lines:
            net = line.unit_price * line.quantity - self.line_discount(line)
            total += taxes.tax_for(self.region, line.category, net)
        return round_money(total)

    def total(self, taxes: TaxTable) -> Decimal:
        return self.subtotal() + self.tax(taxes)
