"""Contesting a registered serial number is not a dead end (issue 24, point 2), in Chromium.

The 409 says "claim it with your proof of purchase": with JavaScript the claim
form appears under the refused form; without it the API's page draws it in the
site's form style. Either way the name and email typed above are carried over.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalicelib.forms.products import CLAIM_TOPIC

from .conftest import Visit, fill_valid, form_pages
from .test_forms import register_warranty

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

CLAIMANT = {"name": "Ivo Jones", "email": "ivo@example.com"}


def contest(visit: Visit, registration: dict[str, Any]) -> Any:
    """Register the same serial number again, as someone else, and send."""
    page = visit.open(form_pages()["warranty_registration"])
    form = page.locator("form[data-af-form=warranty_registration]")
    fill_valid(page, form)
    form.locator(f"input[name=product][value={registration['product']}]").check()
    form.locator("input[name=serial_number]").fill(registration["serial_number"])
    form.locator("input[name=name]").fill(CLAIMANT["name"])
    form.locator("input[name=email]").fill(CLAIMANT["email"])
    visit.take_time_to_fill()
    form.locator(".af-submit").click()
    page.get_by_role("heading", name="Is it yours? Claim it").wait_for()
    return page, page.locator("form[action='/api/enquiries']")


def test_with_javascript_the_409_offers_the_claim_form_and_sends_it(with_js: Visit, live: Any) -> None:
    registration = register_warranty(live)
    page, claim = contest(with_js, registration)
    summary = page.locator("#f-warranty-registration-errors")
    assert summary.evaluate("e => e === document.activeElement")
    # The summary, which has the focus, leads to the claim.
    summary.get_by_role("link", name="Is it yours? Claim it with your proof of purchase").click()
    assert page.evaluate("document.activeElement.name") == "name"
    assert claim.get_by_label("Your name").input_value() == CLAIMANT["name"]
    assert claim.get_by_label("Email address").input_value() == CLAIMANT["email"]
    assert registration["serial_number"] in claim.get_by_label("Your message").input_value()
    claim.get_by_role("button", name="Send my claim").click()
    page.locator(".af-outcome", has_text="Your reference is").wait_for()
    [enquiry] = live.submissions("enquiry")
    assert enquiry["fields"]["topic"] == CLAIM_TOPIC
    assert enquiry["fields"]["order_reference"] == registration["serial_number"]


def looks_like_a_box(control: Any) -> bool:
    style = control.evaluate(
        "e => { const s = getComputedStyle(e); return [s.borderTopStyle, parseFloat(s.borderTopWidth),"
        " parseFloat(s.borderBottomWidth), parseFloat(s.paddingLeft)]; }"
    )
    return bool(style[0] != "none" and style[1] >= 1 and style[2] >= 1 and style[3] > 0)


def test_without_javascript_the_claim_form_has_boxes_a_real_button_and_the_details_typed(
    without_js: Visit, live: Any
) -> None:
    registration = register_warranty(live)
    page, claim = contest(without_js, registration)
    name, email = claim.get_by_label("Your name"), claim.get_by_label("Email address")
    assert name.input_value() == CLAIMANT["name"]
    assert email.input_value() == CLAIMANT["email"]
    for control in (name, email, claim.get_by_label("Your message")):
        assert looks_like_a_box(control), control
    button = claim.get_by_role("button", name="Send my claim")
    assert looks_like_a_box(button)
    background = button.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    button.click()
    page.wait_for_url(re.compile(r"/api/thanks\?"))
    [enquiry] = live.submissions("enquiry")
    assert enquiry["fields"]["topic"] == CLAIM_TOPIC
