"""The product catalog: what we sell, how its serial numbers look, and its warranty and return rules."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

from chalicelib.rules.policy import add_months

# People copy serials off labels with spaces, dashes and lower case; the
# catalog's patterns match the form without them.
_SERIAL_SEPARATORS = re.compile(r"[\s\-–.]+")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    model: str
    serial_pattern: re.Pattern[str]
    serial_example: str
    serial_location: str  # where the label is, in words that follow "It is"
    released: date
    warranty_months: int
    amc_offered: bool
    guide: str

    def accepts_serial(self, normalised: str) -> bool:
        return bool(self.serial_pattern.fullmatch(normalised))

    def warranty_expires_on(self, purchased: date) -> date:
        """The last day the warranty covers: the day before the same date `warranty_months` later.

        Where that month has no such date (bought on 31 January), cover runs to
        the month's last day rather than ending early.
        """
        anniversary: date = add_months(purchased, self.warranty_months)  # type: ignore[arg-type]
        if anniversary.day != purchased.day:
            return anniversary
        return anniversary - timedelta(days=1)


@dataclass(frozen=True)
class AfterSalesPolicy:
    """The windows, in days from purchase, in which a customer may act."""

    return_window_days: int
    replacement_window_days: int
    registration_window_days: int
    # The one sentence that says when an AMC can be taken; guides and the AMC page quote it.
    amc_available: str

    def return_window_ends_on(self, purchased: date) -> date:
        return purchased + timedelta(days=self.return_window_days)

    def registration_window_ends_on(self, purchased: date) -> date:
        return purchased + timedelta(days=self.registration_window_days)


@dataclass(frozen=True)
class Catalog:
    products: dict[str, Product]
    policy: AfterSalesPolicy

    def product(self, product_id: str) -> Product:
        return self.products[product_id]

    def product_names(self) -> dict[str, str]:
        return {product.id: product.name for product in self.products.values()}


def normalise_serial(serial: str) -> str:
    """One form of a serial number, however it was typed: upper case, no spaces or dashes."""
    return _SERIAL_SEPARATORS.sub("", serial).upper()


def parse_catalog(text: str) -> Catalog:
    raw = tomllib.loads(text)
    products = {
        spec["id"]: Product(
            id=spec["id"],
            name=spec["name"],
            category=spec["category"],
            model=spec["model"],
            serial_pattern=re.compile(spec["serial_pattern"]),
            serial_example=spec["serial_example"],
            serial_location=spec["serial_location"],
            released=date.fromisoformat(spec["released"]),
            warranty_months=int(spec["warranty_months"]),
            amc_offered=bool(spec["amc_offered"]),
            guide=spec["guide"],
        )
        for spec in raw["products"]
    }
    policy = raw["policy"]
    return Catalog(
        products=products,
        policy=AfterSalesPolicy(
            return_window_days=int(policy["return_window_days"]),
            replacement_window_days=int(policy["replacement_window_days"]),
            registration_window_days=int(policy["registration_window_days"]),
            amc_available=str(policy["amc_available"]),
        ),
    )


@cache
def catalog() -> Catalog:
    return parse_catalog(resources.files("chalicelib").joinpath("data/catalog.toml").read_text())
