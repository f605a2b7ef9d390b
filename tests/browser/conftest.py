"""Browser fixtures: Debian's Chromium through Playwright, one browser per session.

Playwright never downloads a browser here: it drives /usr/bin/chromium, which
`make setup` installs from Debian when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS

from .site_pages import REPO, built_pages, form_pages, guide_pages

__all__ = ["REPO", "built_pages", "form_pages", "guide_pages"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A fresh browser context on the live stack, recording every request it makes."""

    page: Any
    base_url: str
    javascript: bool = True
    requests: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        self.page.goto(self.base_url + path)
        return self.page

    def take_time_to_fill(self) -> None:
        """People take a moment; the API refuses script posts faster than its minimum."""
        if self.javascript:
            self.page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)


def _visit(browser: Any, live: Any, **options: Any) -> Iterator[Visit]:
    context = browser.new_context(base_url=live.base_url, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    visit = Visit(page, live.base_url, javascript=options.get("java_script_enabled", True))
    page.on("request", lambda request: visit.requests.append(request.url))
    yield visit
    context.close()


@pytest.fixture
def with_js(browser: Any, live: Any) -> Iterator[Visit]:
    yield from _visit(browser, live)


@pytest.fixture
def without_js(browser: Any, live: Any) -> Iterator[Visit]:
    yield from _visit(browser, live, java_script_enabled=False)


# -- Filling a form as a person would ---------------------------------------------

SAMPLE_EMAIL = "ada@example.com"


def purchase_date() -> str:
    return (date.today() - timedelta(days=10)).isoformat()


# A visit's preferred dates lie ahead and differ from each other.
VISIT_DAYS_AHEAD = {"first_choice": 7, "second_choice": 8, "third_choice": 9}


def fill_valid(page: Any, form: Any) -> None:
    """Fill every required field with a plausible value, reading the form as shown."""
    form.wait_for()  # after instant navigation the URL changes before the content does
    chosen_product: str | None = None
    for field_box in form.locator(".af-field").all():
        name = field_box.get_attribute("data-af-field")
        radios = field_box.locator("input[type=radio]")
        if radios.count():
            radios.first.check()
            if name == "product":
                chosen_product = radios.first.get_attribute("value")
            continue
        select = field_box.locator("select")
        if select.count():
            options = [o for o in select.locator("option").all() if o.get_attribute("value")]
            select.select_option(options[0].get_attribute("value"))
            if name == "product":
                chosen_product = options[0].get_attribute("value")
            continue
        control = field_box.locator(
            "input:not([type=checkbox]):not([type=file]):not([type=hidden]), textarea"
        )
        if not control.count() or control.get_attribute("required") is None:
            continue
        control.fill(sample_value(name or "", control, chosen_product))


def sample_value(name: str, control: Any, product: str | None) -> str:
    kind = control.get_attribute("type") or "text"
    if kind == "email":
        return SAMPLE_EMAIL
    if kind == "tel":
        return "+44 20 7946 0000"
    if kind == "date" and name in VISIT_DAYS_AHEAD:
        return (date.today() + timedelta(days=VISIT_DAYS_AHEAD[name])).isoformat()
    if kind == "date":
        return purchase_date()
    if kind == "number":
        return control.get_attribute("min") or "1"
    if name == "serial_number":
        return serial_example(product)
    if control.evaluate("e => e.tagName") == "TEXTAREA":
        return "The drum stopped turning halfway through a wash and shows code E21."
    return "Ada Lovelace" if "name" in name else "Order 12345"


def serial_example(product: str | None) -> str:
    import tomllib

    with (REPO / "backend/chalicelib/data/catalog.toml").open("rb") as catalog:
        products = tomllib.load(catalog)["products"]
    return next(p for p in products if product in (None, p["id"]))["serial_example"]
