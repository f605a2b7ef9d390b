"""A Hindi reader on the local stack, in Chromium, from form to inbox: registers a warranty with
JavaScript on and off, is told what to correct in Hindi, gets the confirmation in Hindi in
MailDev, follows the email's link and tracks a request in Hindi."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS
from playwright.sync_api import expect

from tests.mailstack import CUSTOMER, MailStack, recipient

from .conftest import fill_valid

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

REFERENCE = re.compile(r"\b[A-Z]{2,4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
TRACK_LINK = re.compile(r"https?://\S+/api/track\?\S+")
NOT_THIS_PRODUCT_S_SERIAL = "ZZ9999"  # letters and digits, but no product's pattern: only the API knows
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def opened(browser: Any, stack: MailStack, javascript: bool) -> tuple[Any, Any]:
    context = browser.new_context(base_url=stack.base_url, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context, context.new_page()


def mail_about(stack: MailStack, reference: str, timeout: float = 60) -> dict[str, Any]:
    """The customer's email about `reference`, once it is in MailDev."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in stack.maildev.messages()
                 if reference in m["subject"] and recipient(m) == CUSTOMER]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no email about {reference} within {timeout} s")


def registration_form(page: Any) -> Any:
    page.goto("/hi/warranty/register/")
    form = page.locator("form[data-af-form=warranty_registration]")
    fill_valid(page, form)
    form.locator("input[name=email]").fill(CUSTOMER)
    return form


def test_with_javascript_a_hindi_reader_registers_is_corrected_in_hindi_and_is_mailed_in_hindi(
    browser: Any, mail_stack: MailStack,
) -> None:
    context, page = opened(browser, mail_stack, javascript=True)
    form = page.locator("form[data-af-form=warranty_registration]")
    page.goto("/hi/warranty/register/")
    form.locator(".af-submit").click()  # nothing filled in: the script's own check, in Hindi
    summary = form.locator(".af-error-summary")
    expect(summary).to_be_visible()
    assert DEVANAGARI.search(summary.inner_text())

    form = registration_form(page)
    form.locator("input[name=serial_number]").fill(NOT_THIS_PRODUCT_S_SERIAL)
    page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)  # the API refuses faster script posts
    form.locator(".af-submit").click()
    serial_error = form.locator("[data-af-field=serial_number] .af-error")
    expect(serial_error).to_contain_text("का सीरियल नंबर नहीं है")  # the API's own answer, in Hindi
    assert "serial number" not in serial_error.inner_text()

    fill_valid(page, form)  # the serial number as the product's label prints it
    form.locator("input[name=email]").fill(CUSTOMER)
    form.locator(".af-submit").click()
    outcome = page.locator(".af-outcome:has-text('आपका रेफ़रेंस है')")
    outcome.wait_for()
    reference = REFERENCE.search(outcome.inner_text())
    assert reference
    context.close()

    with mail_stack.reader():
        confirmation = mail_about(mail_stack, reference.group(0))
    assert confirmation["subject"].startswith("आपकी वारंटी रजिस्ट्रेशन हमें मिल गई है")
    assert confirmation["text"].startswith("नमस्ते,") and "आपकी वारंटी ख़त्म होने की तारीख़:" in confirmation["text"]
    assert 'lang="hi"' in confirmation["html"]


def test_without_javascript_the_hindi_form_comes_back_in_hindi_then_thanks_in_hindi(
    browser: Any, mail_stack: MailStack,
) -> None:
    context, page = opened(browser, mail_stack, javascript=False)
    form = registration_form(page)
    form.locator("input[name=serial_number]").fill(NOT_THIS_PRODUCT_S_SERIAL)
    form.locator(".af-submit").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "hi"
    assert page.title().startswith("ग़लती: ")
    summary = page.locator(".af-error-summary")
    expect(summary).to_contain_text("का सीरियल नंबर नहीं है")
    form = page.locator("form[data-af-form=warranty_registration]")
    assert form.locator("input[name=email]").input_value() == CUSTOMER  # what was typed is kept

    fill_valid(page, form)  # the serial number as the product's label prints it
    form.locator("input[name=email]").fill(CUSTOMER)
    form.locator(".af-submit").click()
    page.wait_for_url(re.compile(r"/api/thanks\?receipt=.*&language=hi"))
    main = page.locator("main").inner_text()
    assert page.locator("h1").inner_text() == "धन्यवाद"
    assert re.search(r"वारंटी ख़त्म होने की तारीख़\s+\d{1,2} [\u0900-\u097F]+ \d{4}", main), main
    reference = REFERENCE.search(main)
    assert reference
    context.close()
    with mail_stack.reader():
        assert mail_about(mail_stack, reference.group(0))["text"].startswith("नमस्ते,")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_hindi_reader_follows_the_email_s_link_and_tracks_the_request_in_hindi(
    browser: Any, mail_stack: MailStack, javascript: bool,
) -> None:
    reference = mail_stack.post("complaint", email=CUSTOMER, language="hi")
    with mail_stack.reader():
        confirmation = mail_about(mail_stack, reference)
    assert "हमें मिल गई है" in confirmation["subject"]
    [link] = TRACK_LINK.findall(confirmation["text"])
    assert link.endswith("&language=hi") and CUSTOMER not in link

    context, page = opened(browser, mail_stack, javascript)
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "hi"
    form = page.locator("form[data-af-form=track]")
    assert form.locator("input[name=reference]").input_value() == reference
    form.locator("input[name=email]").fill(CUSTOMER)
    if javascript:
        page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)  # the API refuses faster script posts
    form.locator(".af-submit").click()
    expect(page.locator("main")).to_contain_text("हमें आपकी शिकायत मिल गई है।")
    shown = page.locator("main").inner_text()
    assert "We have received your complaint." not in shown
    assert re.search(r"\d{1,2} [\u0900-\u097F]+ \d{4}", shown), "the date as Hindi writes it"
    context.close()
