from datetime import date, timedelta

import pytest
from chalicelib.rules.catalog import catalog, normalise_serial, parse_catalog

KINDS_WE_SELL = {"Laptop", "Smartphone", "Television", "Washing machine", "Kitchen appliance"}


def test_the_catalog_holds_one_product_of_each_kind_we_sell() -> None:
    products = catalog().products.values()
    assert 4 <= len(products) <= 6
    assert {product.category for product in products} == KINDS_WE_SELL


@pytest.mark.parametrize("product", list(catalog().products.values()), ids=lambda p: p.id)
def test_each_product_s_example_serial_fits_its_own_pattern_only(product) -> None:
    assert product.accepts_serial(product.serial_example)
    others = [p for p in catalog().products.values() if p.id != product.id]
    assert not any(other.accepts_serial(product.serial_example) for other in others)


@pytest.mark.parametrize(("typed", "normalised"), [
    ("ab14-2500 1234", "AB1425001234"),
    ("  nx5kb0012345 ", "NX5KB0012345"),
    ("PW8.2407.K.00123", "PW82407K00123"),
    ("V55\t2400\n12345", "V55240012345"),
])
def test_serials_are_normalised_however_they_were_typed(typed: str, normalised: str) -> None:
    assert normalise_serial(typed) == normalised


@pytest.mark.parametrize(("purchased", "months", "last_day"), [
    (date(2026, 3, 10), 24, date(2028, 3, 9)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: cover runs to the month's end
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2026, 1, 28), 1, date(2026, 2, 27)),
    (date(2026, 12, 1), 12, date(2027, 11, 30)),
])
def test_warranty_covers_up_to_the_day_before_the_same_date_later(
    purchased: date, months: int, last_day: date
) -> None:
    product = catalog().product("aura-book-14")
    product = type(product)(**{**product.__dict__, "warranty_months": months})
    assert product.warranty_expires_on(purchased) == last_day


def test_windows_count_days_from_purchase() -> None:
    policy = catalog().policy
    bought = date(2026, 11, 1)
    assert policy.return_window_ends_on(bought) == date(2026, 12, 1)
    assert bought + timedelta(days=policy.replacement_window_days) == date(2026, 11, 15)
    assert policy.registration_window_ends_on(bought) == date(2027, 1, 30)


def test_a_catalog_file_is_parsed_into_products_and_windows() -> None:
    parsed = parse_catalog("""
[[products]]
id = "x1"
name = "X One"
category = "Laptop"
model = "X1"
serial_pattern = "X1[0-9]{3}"
serial_example = "X1123"
serial_location = "on the label under the stand"
released = "2026-01-01"
warranty_months = 12
amc_offered = false
guide = "guides/x1.md"

[policy]
return_window_days = 1
replacement_window_days = 2
registration_window_days = 3
amc_available = "during or after the warranty"
""")
    product = parsed.product("x1")
    assert product.released == date(2026, 1, 1)
    assert product.serial_location == "on the label under the stand"
    assert product.accepts_serial("X1123") and not product.accepts_serial("X11234")
    assert parsed.policy.registration_window_days == 3
    assert parsed.policy.amc_available == "during or after the warranty"
