"""The staff console on the local stack, as a handler uses it in Chromium: sign in through the local
OpenID provider, work a complaint to its next status with a message, see the customer get it on the
track page and by email (MailDev), sign out; with JavaScript and without it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aftercare_local import mail

from .conftest import form_pages
from .console_stack import HANDLER, ConsoleStack, sign_in
from .console_stack import console_mail as console_mail  # noqa: F401, PLC0414 - the fixture
from .console_stack import console_stack as console_stack  # noqa: F401, PLC0414 - the fixture

pytestmark = pytest.mark.browser

CUSTOMER = "hal.ito@example.com"
MESSAGE = "Sam will call you tomorrow about the faulty drum."
HOSTILE_NAME = "<script>alert(1)</script><img src=x onerror=alert(2)> Hal"


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def staff_page(request: pytest.FixtureRequest, browser: Any, console_stack: ConsoleStack) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=request.param)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda sent: page.requests.append(sent.url))  # type: ignore[attr-defined]
    yield page
    context.close()


def wait_for_mail(maildev: mail.MailDev, reference: str, text: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in maildev.messages():
            if reference in message.get("subject", "") and text in (message.get("text") or ""):
                return message
        time.sleep(0.2)
    raise AssertionError(f"no email about {reference} saying {text!r}")


def test_a_handler_takes_a_complaint_moves_it_on_and_the_customer_hears(
        staff_page: Any, console_stack: ConsoleStack) -> None:
    stack = console_stack.stack
    password = console_stack.staff_add(HANDLER, "handlers")
    reference = stack.post("complaint", email=CUSTOMER)
    page = staff_page

    sign_in(page, console_stack, "/staff/", password)
    page.get_by_role("link", name=re.compile("Unassigned")).click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("heading", name=re.compile(reference)).wait_for()
    page.get_by_role("button", name="Assign to me").click()
    page.locator(".done").wait_for()
    assert "Sam Lee" in page.locator(".facts").inner_text()

    page.get_by_label("Move it to").select_option("acknowledged")
    page.get_by_label(re.compile("Message to the customer")).fill(MESSAGE)
    page.get_by_role("button", name="Save").click()
    page.locator(".done").wait_for()
    assert MESSAGE in page.locator(".history").inner_text()

    with stack.reader():
        mail_about = wait_for_mail(stack.maildev, reference, MESSAGE)
    assert mail_about["to"][0]["address"] == CUSTOMER

    track = page.context.new_page()
    track.goto(stack.base_url + form_pages()["track"])
    form = track.locator("form[data-af-form=track]")
    form.get_by_label("Reference").fill(reference)
    form.get_by_label(re.compile("email", re.I)).fill(CUSTOMER)
    form.locator(".af-submit").click()
    track.get_by_text(MESSAGE).wait_for()
    track.close()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(stack.base_url + "/staff/signed-out")
    page.goto(f"{stack.base_url}/staff/cases/{reference}")
    page.wait_for_url(re.compile(re.escape(console_stack.provider.issuer) + r"/interaction/"))
    assert page.locator("#password").is_visible()
    site = (stack.base_url, console_stack.provider.issuer)
    assert [url for url in page.requests if not url.startswith(site)] == []


def test_a_customers_hostile_text_is_only_text_on_the_case_page(
        staff_page: Any, console_stack: ConsoleStack) -> None:
    stack = console_stack.stack
    password = console_stack.staff_add(HANDLER, "handlers")
    reference = stack.post("complaint", email=CUSTOMER, name=HOSTILE_NAME,
                           description="Broke \u202egpj.exe", desired_outcome="javascript:alert(3)")
    page = staff_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, console_stack, f"/staff/cases/{reference}", password)
    fields = page.locator(".fields")
    fields.get_by_text(HOSTILE_NAME).wait_for()
    assert "[U+202E]gpj.exe" in fields.inner_text()
    assert page.locator(".fields a, .fields img, .fields script").count() == 0
    assert dialogs == []
    on_the_page = [url for url in page.requests if url.startswith(f"{stack.base_url}/staff/")]
    assert on_the_page and all(url.startswith(stack.base_url) for url in page.requests
                                if not url.startswith(console_stack.provider.issuer))


def test_the_console_pages_fit_a_phone(browser: Any, console_stack: ConsoleStack) -> None:
    password = console_stack.staff_add(HANDLER, "handlers")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, console_stack, "/staff/", password)
        for path in ("/staff/", "/staff/submissions", "/staff/exports", "/staff/outbox", "/staff/insight"):
            page.goto(console_stack.base_url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, path
    finally:
        context.close()

