"""Order handling: carts, pricing and inventory."""
from shop.cart import Cart, CartLine
from shop.pricing.discounts import Discount, PercentOff, BuyNGetOne
from shop.pricing.tax import TaxTable

__all__ = ["Cart", "CartLine", "Discount", "PercentOff", "BuyNGetOne", "TaxTable"]
