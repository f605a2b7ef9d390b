"""The unsubscribe link in a received email, followed in Chromium with JavaScript on and off."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.mailstack import CUSTOMER, MailStack, recipient, wait_for_consent

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

LINK = re.compile(r"https?://\S+/api/unsubscribe\?token=\S+")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_link_in_a_received_mail_withdraws_consent_and_says_so(
    browser: Any, mail_stack: MailStack, javascript: bool
) -> None:
    mail_stack.post("warranty_registration", email=CUSTOMER, marketing_consent=True)
    with mail_stack.reader():
        [confirmation] = [m for m in mail_stack.wait_for_mail(1) if recipient(m) == CUSTOMER]
        [link] = LINK.findall(confirmation["text"])  # the visible link, as a person would follow it
        assert CUSTOMER not in link
        context = browser.new_context(java_script_enabled=javascript)
        context.set_default_timeout(10_000)
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(link)
        assert page.locator("h1").inner_text() == "Unsubscribe from product news and offers"
        # Opening the link changes nothing: mail scanners open links too.
        assert wait_for_consent(mail_stack, "opted-in", timeout=1) == ["opted-in"]
        page.get_by_role("button", name="Unsubscribe").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are unsubscribed"
        assert "no more product news or offers" in page.get_by_role("status").inner_text()
        assert wait_for_consent(mail_stack, "withdrawn") == ["withdrawn"]
        assert all(url.startswith(mail_stack.base_url) for url in requested)
        context.close()


def test_a_cut_short_link_says_what_went_wrong_and_changes_nothing(
    browser: Any, mail_stack: MailStack
) -> None:
    mail_stack.post("enquiry", email=CUSTOMER, marketing_consent=True)
    with mail_stack.reader():
        assert wait_for_consent(mail_stack, "opted-in") == ["opted-in"]  # recorded from the stream
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        response = page.goto(f"{mail_stack.base_url}/api/unsubscribe?token=ENQ-7K3M-Q9XD.17")
        assert response.status == 400
        assert "cut short" in page.get_by_role("alert").inner_text()
        assert wait_for_consent(mail_stack, "opted-in", timeout=1) == ["opted-in"]
        context.close()
