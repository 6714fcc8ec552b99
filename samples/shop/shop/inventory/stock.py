"""Stock levels per SKU, with reservations held for open carts."""
from __future__ import annotations

from collections import defaultdict


class OutOfStock(Exception):
    def __init__(self, sku: str, wanted: int, available: int):
        super().__init__(f"{sku}: wanted {wanted}, only {available} available")
        self.sku = sku
        self.wanted = wanted
        self.available = available


class Stock:
    def __init__(self) -> None:
        self._on_hand: dict[str, int] = defaultdict(int)
        self._reserved: dict[str, int] = defaultdict(int)

    def receive(self, sku: str, quantity: int) -> None:
        self._on_hand[sku] += quantity

    def available(self, sku: str) -> int:
        return self._on_hand[sku] - self._reserved[sku]

    def reserve(self, sku: str, quantity: int) -> None:
        if quantity > self.available(sku):
            raise OutOfStock(sku, quantity, self.available(sku))
        self._reserved[sku] += quantity

    def release(self, sku: str, quantity: int) -> None:
        self._reserved[sku] = max(0, self._reserved[sku] - quantity)

    def ship(self, sku: str, quantity: int) -> None:
        self.release(sku, quantity)
        self._on_hand[sku] -= quantity
