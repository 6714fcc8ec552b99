"""Prices, discounts and taxes."""
