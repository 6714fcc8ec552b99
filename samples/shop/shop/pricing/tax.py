"""Sales tax by region and product category."""
from __future__ import annotations

from decimal import Decimal

from shop.pricing.discounts import round_money


class UnknownRegion(KeyError):
    pass


class TaxTable:
    """Tax rates per region, with reduced rates for some product categories."""

    def __init__(self, standard: dict[str, Decimal], reduced: dict[str, dict[str, Decimal]] | None = None):
        self._standard = standard
        self._reduced = reduced or {}

    def rate(self, region: str, category: str) -> Decimal:
        if region not in self._standard:
            raise UnknownRegion(region)
        return self._reduced.get(region, {}).get(category, self._standard[region])

    def tax_for(self, region: str, category: str, net_amount: Decimal) -> Decimal:
        return round_money(net_amount * self.rate(region, category))
