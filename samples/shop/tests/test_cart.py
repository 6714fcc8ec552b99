from decimal import Decimal

from shop import BuyNGetOne, Cart, CartLine, PercentOff, TaxTable
from shop.inventory.stock import Stock


def make_stock() -> Stock:
    stock = Stock()
    stock.receive("apple", 10)
    stock.receive("book", 3)
    return stock


def test_percent_off_and_tax():
    stock = make_stock()
    cart = Cart(region="north", discounts=[PercentOff("TENOFF", Decimal(10), frozenset({"book"}))])
    cart.add(CartLine("book", "books", Decimal("20.00"), 2), stock)
    taxes = TaxTable({"north": Decimal("0.20")}, {"north": {"books": Decimal("0.05")}})
    assert cart.subtotal() == Decimal("36.00")
    assert cart.tax(taxes) == Decimal("1.80")


def test_buy_two_get_one():
    stock = make_stock()
    cart = Cart(region="north", discounts=[BuyNGetOne("APPLES", 2, "apple")])
    cart.add(CartLine("apple", "food", Decimal("0.50"), 6), stock)
    assert cart.subtotal() == Decimal("2.00")
