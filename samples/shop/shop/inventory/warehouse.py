"""Warehouses hold stock; orders are filled from the nearest one that has everything."""
from __future__ import annotations

from dataclasses import dataclass, field

from shop.inventory.stock import OutOfStock, Stock


@dataclass
class Warehouse:
    name: str
    region: str
    distance_km: dict[str, float] = field(default_factory=dict)
    stock: Stock = field(default_factory=Stock)

    def can_fill(self, lines: dict[str, int]) -> bool:
        return all(self.stock.available(sku) >= quantity for sku, quantity in lines.items())


def choose_warehouse(warehouses: list[Warehouse], region: str, lines: dict[str, int]) -> Warehouse:
    candidates = [w for w in warehouses if w.can_fill(lines)]
    if not candidates:
        sku, quantity = next(iter(lines.items()))
        raise OutOfStock(sku, quantity, 0)
    return min(candidates, key=lambda w: w.distance_km.get(region, float("inf")))
