"""Asking how we did on the local stack, in Chromium: the box on each form that opens a case is
there and off; closing a case sends exactly one email to MailDev; its link opens the feedback form
filled in, with JavaScript on and off; the rating sent from it lands on the case."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.cases.book import CaseBook, Change
from chalicelib.forms import FORMS
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store import items
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS
from playwright.sync_api import expect

from tests.mailstack import CUSTOMER, MailStack, recipient

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

LINK = re.compile(r"https?://\S+/api/feedback\?\S+")
SUBJECT = "How did we do"


def opened(browser: Any, javascript: bool) -> tuple[Any, Any]:
    context = browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context, context.new_page()


def close(stack: MailStack, reference: str) -> None:
    book = CaseBook(stack.table(), stack.cipher(), case_policy(), lambda: datetime.now(UTC))
    book.change(reference, Change(status="answered", message="It fits the Vista 55."), actor="local:staff")
    book.change(reference, Change(status="closed"), actor="local:staff")


def wait_for_rating(stack: MailStack, reference: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (case,) = [i for i in stack.raw_items() if i["pk"] == items.submission_key(reference)[0]]
        if items.RATING_ATTRIBUTE in case:
            return case[items.RATING_ATTRIBUTE]
        time.sleep(0.2)
    return None


def test_the_box_is_on_every_form_that_opens_a_case_and_unticked(browser: Any, mail_stack: MailStack) -> None:
    context, page = opened(browser, javascript=False)
    for kind in case_policy().lifecycles:
        page.goto(mail_stack.base_url + FORMS[kind].page)
        box = page.get_by_label("Ask me how we did when my request is closed")
        assert box.count() == 1 and box.get_attribute("type") == "checkbox", kind
        assert not box.is_checked(), kind
    page.goto(mail_stack.base_url + FORMS["warranty_registration"].page)
    assert page.get_by_label("Ask me how we did when my request is closed").count() == 0
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_closing_a_case_mails_one_link_that_fills_in_the_form_and_ties_the_rating(
    browser: Any, mail_stack: MailStack, javascript: bool
) -> None:
    reference = mail_stack.post("enquiry", email=CUSTOMER, follow_up_consent=True)
    with mail_stack.reader():
        mail_stack.wait_for_mail(1)  # the confirmation
        close(mail_stack, reference)
        messages = mail_stack.wait_for_mail(2)
        follow_ups = [m for m in messages if m["subject"].startswith(SUBJECT)]
        assert len(follow_ups) == 1 and recipient(follow_ups[0]) == CUSTOMER
        assert mail_stack.sent_records()[(reference, "follow-up")]["status"] == "sent"
        [link] = LINK.findall(follow_ups[0]["text"])
        assert CUSTOMER not in link

        context, page = opened(browser, javascript)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(link)
        form = page.locator('form[data-af-form="feedback"]')
        assert form.get_by_label("Case or order reference (optional)").input_value() == reference
        token = form.locator('input[name="follow_up_token"]')
        assert token.get_attribute("type") == "hidden" and token.input_value().startswith(f"{reference}.")
        form.get_by_role("group", name="Overall, how satisfied are you?").get_by_label(
            "Satisfied", exact=True).check()
        if javascript:
            page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)  # the API refuses faster script posts
        form.get_by_role("button").click()
        if javascript:
            expect(page.locator("#f-feedback-outcome")).to_contain_text("Thank you")
        else:
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Thank you"
        assert wait_for_rating(mail_stack, reference) == 4
        assert all(url.startswith(mail_stack.base_url) for url in requested)
        context.close()
    assert len([m for m in mail_stack.maildev.messages() if m["subject"].startswith(SUBJECT)]) == 1
