"""Every form, as a person uses it: with JavaScript, without it, and with mistakes."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import date
from typing import Any

import pytest
from chalicelib.forms import LOOKUPS, WarrantyRegistration
from chalicelib.rules.catalog import catalog

from .conftest import SAMPLE_EMAIL, Visit, fill_valid, form_pages

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"\b[A-Z]{2,4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
INTAKE_KINDS = sorted(k for k, p in form_pages().items() if k not in {lookup.kind for lookup in LOOKUPS})


def only_submission(live: Any) -> dict[str, Any]:
    stored = live.submissions()
    assert len(stored) == 1, f"expected exactly one stored item, found {len(stored)}"
    return stored[0]


def reference_shown(page: Any) -> str:
    """Wait for the confirmation and return the reference it shows (or say what went wrong)."""
    outcome = page.locator(".af-outcome:has-text('Your reference is')")
    problem = page.locator(".af-error-summary:visible")
    outcome.or_(problem).first.wait_for()
    assert not problem.count(), problem.inner_text()
    shown = REFERENCE.search(outcome.inner_text())
    assert shown, outcome.inner_text()
    return shown.group(0)


def send_valid_form(visit: Visit, kind: str) -> tuple[Any, Any]:
    """Open the kind's page, fill every required field and press the button."""
    page = visit.open(form_pages()[kind])
    form = page.locator(f"form[data-af-form={kind}]")
    fill_valid(page, form)
    visit.take_time_to_fill()
    form.locator(".af-submit").click()
    return page, form


@pytest.mark.parametrize("kind", INTAKE_KINDS)
def test_form_with_javascript_shows_the_reference_and_stores_one_item(
    with_js: Visit, live: Any, kind: str
) -> None:
    page, form = send_valid_form(with_js, kind)
    reference = reference_shown(page)
    assert page.evaluate("document.activeElement.classList.contains('af-outcome')")
    assert page.url.endswith(form_pages()[kind]), "the page itself answers, no navigation"
    stored = only_submission(live)
    assert (stored["kind"], stored["reference"]) == (kind, reference)
    # The form is ready for the next one: emptied.
    assert all(not c.input_value() for c in form.locator("textarea").all())


@pytest.mark.parametrize("kind", INTAKE_KINDS)
def test_form_without_javascript_posts_plain_html_and_shows_the_reference(
    without_js: Visit, live: Any, kind: str
) -> None:
    page, _ = send_valid_form(without_js, kind)
    page.wait_for_url(re.compile(r"/api/thanks\?receipt="))

    shown = REFERENCE.search(page.locator("main").inner_text())
    assert shown and "Thank you" in page.locator("h1").inner_text()
    stored = only_submission(live)
    assert (stored["kind"], stored["reference"]) == (kind, shown.group(0))
    assert SAMPLE_EMAIL not in page.url


def test_enquiry_error_is_summarised_announced_and_then_corrected(
    with_js: Visit, live: Any
) -> None:
    page = with_js.open("/contact/")
    form = page.locator("form[data-af-form=enquiry]")
    fill_valid(page, form)
    email = page.get_by_label("Email address")
    email.fill("ada at example")
    with_js.take_time_to_fill()
    form.locator(".af-submit").click()

    summary = page.locator(".af-error-summary")
    summary.get_by_role("heading", name="There is a problem").wait_for()
    assert page.evaluate("document.activeElement.id") == "f-enquiry-errors"
    assert summary.locator("[role=alert]").count() == 1
    link = summary.get_by_role("link", name=re.compile("email address", re.I))
    assert email.get_attribute("aria-invalid") == "true"
    message = page.locator("#f-enquiry-email-error")
    assert message.is_visible() and "email address" in message.inner_text().lower()
    assert "f-enquiry-email-error" in (email.get_attribute("aria-describedby") or "")
    assert email.input_value() == "ada at example", "what was typed is kept"
    assert live.submissions() == []

    link.click()
    assert page.evaluate("document.activeElement.id") == "f-enquiry-email"
    email.fill(SAMPLE_EMAIL)
    form.locator(".af-submit").click()
    reference_shown(page)
    assert summary.is_hidden()
    assert email.get_attribute("aria-invalid") is None
    only_submission(live)


def test_enquiry_error_without_javascript_comes_back_on_the_form_and_is_corrected_in_place(
    without_js: Visit, live: Any
) -> None:
    page = without_js.open("/contact/")
    form = page.locator("form[data-af-form=enquiry]")
    fill_valid(page, form)
    message = form.locator("textarea").input_value()
    page.get_by_label("Email address").fill("ada at example")
    form.locator(".af-submit").click()
    page.wait_for_url(re.compile(r"/api/enquiries$"))

    # The form itself, on the site's look, with what was typed and the error at its field.
    assert page.title().startswith("Error: ")
    assert page.locator(".md-header").is_visible(), "the site's own header, not a bare page"
    summary = page.locator(".af-error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "f-enquiry-errors"
    email = page.get_by_label("Email address")
    assert email.input_value() == "ada at example"
    assert email.get_attribute("aria-invalid") == "true"
    assert "f-enquiry-email-error" in (email.get_attribute("aria-describedby") or "")
    assert "email address" in page.locator("#f-enquiry-email-error").inner_text().lower()
    assert form.locator("textarea").input_value() == message
    assert live.submissions() == []

    summary.get_by_role("link", name=re.compile("email address", re.I)).click()
    assert page.evaluate("document.activeElement.id") == "f-enquiry-email"
    email.fill(SAMPLE_EMAIL)
    form.locator(".af-submit").click()
    page.wait_for_url(re.compile(r"/api/thanks\?"))
    assert only_submission(live)["kind"] == "enquiry"


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_taken_serial_number_is_said_at_the_serial_field(
    browser: Any, live: Any, javascript: bool, request: Any
) -> None:
    registration = register_warranty(live)
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    page = visit.open(form_pages()["warranty_registration"])
    form = page.locator("form[data-af-form=warranty_registration]")
    fill_valid(page, form)
    form.locator(f"input[name=product][value={registration['product']}]").check()
    serial = form.get_by_label(re.compile("serial number", re.I))
    serial.fill(registration["serial_number"])
    visit.take_time_to_fill()
    form.locator(".af-submit").click()

    message = page.locator("#f-warranty-registration-serial-number-error")
    message.wait_for()
    assert "already has a registered warranty" in message.inner_text()
    assert serial.get_attribute("aria-invalid") == "true"
    assert page.locator(".af-error-summary a[href='#f-warranty-registration-serial-number']").count() == 1
    assert serial.input_value() == registration["serial_number"]
    assert len(live.submissions()) == 1


def test_keyboard_alone_sends_an_enquiry(with_js: Visit, live: Any) -> None:
    page = with_js.open("/contact/")
    name = page.get_by_label("Your name")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-enquiry-name":
            break
    assert name.evaluate("e => e === document.activeElement")
    page.keyboard.type("Ada Lovelace")
    page.keyboard.press("Tab")
    page.keyboard.type(SAMPLE_EMAIL)
    page.keyboard.press("Tab")  # phone (optional)
    page.keyboard.press("Tab")  # topic
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("How do I reset the network settings?")
    page.keyboard.press("Tab")  # order reference (optional)
    page.keyboard.press("Tab")  # marketing consent
    page.keyboard.press("Tab")  # asking how we did
    page.keyboard.press("Tab")  # submit; the honeypot is never reached
    with_js.take_time_to_fill()
    assert page.evaluate("document.activeElement.classList.contains('af-submit')")
    page.keyboard.press("Enter")
    reference_shown(page)
    only_submission(live)


def test_a_form_reached_by_a_link_is_enhanced(with_js: Visit, live: Any) -> None:
    # No instant navigation (mkdocs.yml: it breaks the language switcher): a link loads
    # the page, and the forms' script enhances it as it loads.
    page = with_js.open("/")
    page.locator("article").get_by_role("link", name="Contact us").click()
    page.wait_for_url(re.compile(r"/contact/$"))
    form = page.locator("form[data-af-form=enquiry]")
    fill_valid(page, form)
    with_js.take_time_to_fill()
    form.locator(".af-submit").click()
    reference_shown(page)
    assert page.url.endswith("/contact/"), "the script answered in place"
    only_submission(live)


def test_form_pages_fit_a_360_pixel_screen(browser: Any, live: Any) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live.base_url)
    page = context.new_page()
    for path in ["/", *sorted(set(form_pages().values()))]:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    context.close()


# -- Check my warranty -------------------------------------------------------------

def post_json(base_url: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (the local stack, http only)
        base_url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Origin": base_url},  # as the site's pages send it
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def register_warranty(live: Any) -> dict[str, Any]:
    """A registration made through the API, from the model's own example."""
    registration = WarrantyRegistration.example(date.today())
    status, answer = post_json(live.base_url, "/api/warranty-registrations", registration)
    assert status == 201, answer
    return registration


def product_name(product_id: str) -> str:
    return catalog().product(product_id).name


def ask_for_warranty(visit: Visit, serial_number: str, email: str) -> Any:
    page = visit.open(form_pages()["warranty_status"])
    form = page.locator("form[data-af-form=warranty_status]")
    form.get_by_label(re.compile("serial", re.I)).fill(serial_number)
    form.get_by_label(re.compile("email", re.I)).fill(email)
    form.locator(".af-submit").click()
    return page


def test_check_my_warranty_with_javascript(with_js: Visit, live: Any) -> None:
    registration = register_warranty(live)
    page = ask_for_warranty(with_js, registration["serial_number"], registration["email"])
    outcome = page.locator(".af-outcome")
    outcome.get_by_role("heading", name="Your product is under warranty").wait_for()
    assert product_name(registration["product"]) in outcome.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('af-outcome')")
    assert len(live.submissions()) == 1, "the check itself stores nothing"


def test_check_my_warranty_with_no_match_says_so_and_keeps_what_was_typed(
    with_js: Visit, live: Any
) -> None:
    registration = register_warranty(live)
    page = ask_for_warranty(with_js, registration["serial_number"], "someone.else@example.com")
    page.locator(".af-error-summary").wait_for()
    assert page.evaluate("document.activeElement.id") == "f-warranty-status-errors"
    assert page.get_by_label(re.compile("email", re.I)).input_value() == "someone.else@example.com"


def test_check_my_warranty_without_javascript(without_js: Visit, live: Any) -> None:
    registration = register_warranty(live)
    page = ask_for_warranty(without_js, registration["serial_number"], registration["email"])
    page.wait_for_url(re.compile(r"/api/warranty-status$"))
    assert product_name(registration["product"]) in page.locator("main").inner_text()
    assert registration["email"] not in page.url


def as_people_write(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def confirmation_of(kind: str, live: Any, javascript: bool, request: Any, first_fact: str) -> str:
    """Send a valid form of this kind and read its confirmation, in place or on the thank-you page."""
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    page, _ = send_valid_form(visit, kind)
    confirmation = page.locator(".af-outcome" if javascript else "main")
    confirmation.get_by_text(first_fact).wait_for()
    return str(confirmation.inner_text())


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_registration_s_confirmation_says_when_the_warranty_ends(
    live: Any, javascript: bool, request: Any
) -> None:
    shown = confirmation_of("warranty_registration", live, javascript, request, "Warranty ends on")
    serial = live.submissions()[0]["fields"]["serial_number"]
    status, warranty = post_json(live.base_url, "/api/warranty-status",
                                 {"serial_number": serial, "email": SAMPLE_EMAIL})
    assert status == 200, warranty
    assert as_people_write(warranty["expires_on"]) in shown
    assert warranty["product_name"] in shown


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_return_request_s_confirmation_says_where_it_stands(
    live: Any, javascript: bool, request: Any
) -> None:
    shown = confirmation_of("return_request", live, javascript, request, "Return window")
    assert re.search(r"Return window\s+(open until|ended on) \d{1,2} [A-Z][a-z]+ \d{4}", shown), shown
    assert re.search(r"Warranty\s+(ends on|ended on) \d{1,2} [A-Z][a-z]+ \d{4}", shown), shown


# -- Message boxes: the limit said before it is reached, never a silent cut --------------

def message_box(visit: Visit) -> tuple[Any, Any]:
    page = visit.open("/contact/")
    form = page.locator("form[data-af-form=enquiry]")
    fill_valid(page, form)
    return page, form.get_by_label("Your message")


def test_a_message_box_says_its_limit_and_keeps_a_longer_paste_without_javascript(
    without_js: Visit, live: Any
) -> None:
    page, box = message_box(without_js)
    limit = int(box.get_attribute("data-af-maxlength") or 0)
    counter = page.locator("#f-enquiry-message-count")
    assert counter.is_visible() and f"up to {limit:,} characters" in counter.inner_text()
    assert "f-enquiry-message-count" in (box.get_attribute("aria-describedby") or "").split()
    too_long = "x" * (limit + 100)
    box.fill(too_long)
    assert box.input_value() == too_long, "the browser cut nothing"
    page.locator("form[data-af-form=enquiry] .af-submit").click()
    error = page.locator("#f-enquiry-message-error")
    assert f"at most {limit} characters" in error.inner_text()
    assert page.get_by_label("Your message").input_value() == too_long, "what was typed comes back whole"
    assert live.submissions() == []


def test_a_message_box_counts_down_live_and_says_how_many_too_many(with_js: Visit, live: Any) -> None:
    page, box = message_box(with_js)
    limit = int(box.get_attribute("data-af-maxlength") or 0)
    counter = page.locator("#f-enquiry-message-count")
    box.fill("")
    box.press_sequentially("Hello")
    assert counter.inner_text() == f"You have {limit - 5:,} characters remaining"
    box.fill("x" * (limit + 12))
    assert counter.inner_text() == "You have 12 characters too many"
    assert "af-count--over" in (counter.get_attribute("class") or "")
    assert len(box.input_value()) == limit + 12
    page.wait_for_timeout(1200)
    assert page.locator(".af-count__status[aria-live=polite]").inner_text() == counter.inner_text()
