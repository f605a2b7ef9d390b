"""Details a customer without JavaScript met (issue 24, point 11), in Chromium.

The emailed track link fills in the reference; an empty menu or date is said to
be required; a warranty's last day has one name wherever it is shown.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalicelib.forms import FORMS
from chalicelib.notify import emails

from .conftest import Visit, fill_valid, form_pages
from .test_forms import ask_for_warranty, confirmation_of, register_warranty

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

REFERENCE = "CMP-7K3M-Q9XD"


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_emailed_track_link_fills_in_the_reference(live: Any, javascript: bool, request: Any) -> None:
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    link = emails.track_url(live.base_url, REFERENCE)
    assert "@" not in link  # the link carries the reference only, never an address
    page = visit.page
    page.goto(link)
    form = page.locator("form[data-af-form=track]")
    assert form.locator("input[name=reference]").input_value() == REFERENCE
    assert form.locator("input[name=email]").input_value() == ""
    assert page.locator("h1").inner_text().startswith("Track a request")  # the site's own page, in its look


def test_an_empty_topic_is_said_to_be_required_without_listing_the_menu(without_js: Visit, live: Any) -> None:
    page = without_js.open(FORMS["enquiry"].page)
    form = page.locator("form[data-af-form=enquiry]")
    form.get_by_label("Your name").fill("Ada Lovelace")
    form.get_by_label("Email address").fill("ada@example.com")
    form.get_by_label(re.compile("message", re.I)).fill("Which bracket fits the Vista 55 OLED?")
    assert form.locator("select[name=topic]").input_value() == ""  # left at "Choose one"
    form.locator(".af-submit").click()
    error = page.locator("#f-enquiry-topic-error")
    error.wait_for()
    text = error.inner_text()
    assert "What is it about?" in text, text
    assert "Installation" not in text and "choose one of" not in text.lower(), text
    assert live.submissions() == []


def test_an_empty_date_of_purchase_is_said_to_be_required(without_js: Visit, live: Any) -> None:
    page = without_js.open(form_pages()["warranty_registration"])
    form = page.locator("form[data-af-form=warranty_registration]")
    fill_valid(page, form)
    form.locator("input[name=purchase_date]").fill("")
    form.locator(".af-submit").click()
    error = page.locator("#f-warranty-registration-purchase-date-error")
    error.wait_for()
    assert "Date of purchase is required." in error.inner_text()
    assert "year-month-day" not in error.inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_warranty_s_last_day_has_one_name_on_the_registration_and_the_check(
    live: Any, javascript: bool, request: Any
) -> None:
    registered = confirmation_of("warranty_registration", live, javascript, request, "Warranty ends on")
    assert "covers until" not in registered
    live.clear()
    registration = register_warranty(live)
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    page = ask_for_warranty(visit, registration["serial_number"], registration["email"])
    answer = page.locator(".af-outcome" if javascript else "main")
    answer.get_by_text("Warranty ends on").wait_for()
    assert "covers until" not in answer.inner_text()
