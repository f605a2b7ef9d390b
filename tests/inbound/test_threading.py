"""Emails about a case carry its signed reply address and thread in the customer's mail program."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.cases.book import CaseBook, Change
from chalicelib.inbound.address import reference_of
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings

from tests.api import test_notifier
from tests.api.test_notifier import CUSTOMER, post_one, run, stream_records
from tests.conftest import MotoAccount
from tests.unit.test_emails_in_languages import REPLY_INVITE

mailbox = test_notifier.mailbox
DOMAIN = "reply.aftercare.example"


@pytest.fixture
def replying_app(chalice_app: Any, mailbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AFTERCARE_REPLY_DOMAIN", DOMAIN)
    chalice_app.get_notifier.cache_clear()
    yield chalice_app
    chalice_app.get_notifier.cache_clear()


def test_a_case_s_emails_carry_its_reply_address_and_one_thread_and_staff_mail_does_not(
    api: Any, replying_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    reference = post_one(api, "complaint", email=CUSTOMER)
    run(replying_app, stream_records(moto_account))
    settings = Settings.from_environ(os.environ)
    CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC)).change(
        reference, Change(status="acknowledged", handler="Sam Patel"), actor="staff")
    before = len(mailbox())
    run(replying_app, stream_records(moto_account, prefix="CASE#"))

    [confirmation] = [mail for mail in mailbox()[:before] if mail["To"] == CUSTOMER]
    [staff_alert] = [mail for mail in mailbox()[:before] if mail["To"] != CUSTOMER]
    [update] = mailbox()[before:]
    hasher = settings.subject_hasher()
    for mail in (confirmation, update):
        assert reference_of(hasher, str(mail["Reply-To"]), DOMAIN) == reference
    assert update["In-Reply-To"] == update["References"] == confirmation["Message-ID"]
    assert confirmation["In-Reply-To"] is None and update["Message-ID"] != confirmation["Message-ID"]
    assert staff_alert["Reply-To"] is None and staff_alert["In-Reply-To"] is None
    assert len(confirmation.get_all("Message-ID")) == 1
    # What carries the reply address says so, in words and markup; the staff alert does not.
    assert [invites_a_reply(mail) for mail in (confirmation, update, staff_alert)] == [True, True, False]


def invites_a_reply(mail: Any) -> bool:
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",))
    return REPLY_INVITE in text and (html is None or REPLY_INVITE in html.get_content())


def test_a_confirmation_of_what_is_no_case_neither_carries_a_reply_address_nor_invites_one(
    api: Any, replying_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    post_one(api, "warranty_registration", email=CUSTOMER)
    run(replying_app, stream_records(moto_account))
    [confirmation] = [mail for mail in mailbox() if mail["To"] == CUSTOMER]
    assert confirmation["Reply-To"] is None and not invites_a_reply(confirmation)


def test_without_a_reply_domain_emails_carry_no_reply_address(
    api: Any, chalice_app: Any, mailbox: Any, moto_account: MotoAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AFTERCARE_REPLY_DOMAIN", raising=False)
    chalice_app.get_notifier.cache_clear()
    post_one(api, "complaint", email=CUSTOMER)
    run(chalice_app, stream_records(moto_account))
    assert all(mail["Reply-To"] is None for mail in mailbox())
    assert mailbox() and not any(invites_a_reply(mail) for mail in mailbox())
    chalice_app.get_notifier.cache_clear()
