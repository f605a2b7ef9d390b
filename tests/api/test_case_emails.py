"""Case emails through the notifier on moto: a move the customer hears of is one email, however
often its stream record comes; other changes send nothing; the overdue digest goes once a day."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aftercare_local.schedule import scheduled_event
from chalicelib.cases.book import CaseBook, Change
from chalicelib.notify.case_emails import OVERDUE_DIGEST, overdue_reference, update_message
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items

from tests.api import test_notifier
from tests.api.test_notifier import CUSTOMER, SITE, post_one, run, sent, stream_records
from tests.conftest import MotoAccount

# The notifier on moto's SES, as test_notifier.py sets it up.
mailbox = test_notifier.mailbox
notifier_app = test_notifier.notifier_app

INTERNAL_NOTE = "Courier admitted losing the parcel"
NAME = "Zed Quarrington"


@pytest.fixture
def book(moto_account: MotoAccount) -> CaseBook:
    settings = Settings.from_environ(os.environ)
    return CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))


def bodies(message: Any) -> str:
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")


def case_records(account: MotoAccount) -> list[dict[str, Any]]:
    return stream_records(account, prefix=items.CASE_PREFIX)


def test_a_move_the_customer_hears_of_is_one_email_however_often_the_stream_repeats_it(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any, book: CaseBook
) -> None:
    reference = post_one(api, "complaint", email=CUSTOMER, name=NAME)
    run(notifier_app, stream_records(moto_account))  # the confirmation and the staff alert
    before = len(mailbox())
    book.change(reference, Change(status="acknowledged", handler="Sam Patel", note=INTERNAL_NOTE,
                                  message="Sam will call you tomorrow."), actor="staff")
    records = case_records(moto_account)
    run(notifier_app, records + records)  # a repeat within one batch
    run(notifier_app, records)  # and a retried batch

    [update] = mailbox()[before:]
    assert update["To"] == CUSTOMER
    assert update["Subject"] == f"A handler has taken on your complaint ({reference})"
    text = bodies(update)
    assert "Sam will call you tomorrow." in text and "Sam has taken on your complaint" in text
    assert f"{SITE}/api/track?reference={reference}" in text
    assert case_policy().lifecycle("complaint").status("acknowledged").words in text
    for private in (INTERNAL_NOTE, "Patel", NAME, CUSTOMER):
        assert private not in text
    assert sent(moto_account)[(reference, update_message(1))]["status"] == items.SENT


def test_closing_with_a_message_for_the_customer_emails_that_message(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any, book: CaseBook
) -> None:
    reference = post_one(api, "complaint", email=CUSTOMER)
    book.change(reference, Change(status="acknowledged", handler="Sam Patel"), actor="staff")
    book.change(reference, Change(status="resolved", note=INTERNAL_NOTE), actor="staff")
    run(notifier_app, stream_records(moto_account))
    before = len(mailbox())
    book.change(reference, Change(status="closed", message="We refunded the delivery charge."),
                actor="staff")
    records = case_records(moto_account)
    run(notifier_app, records + records)
    closing = [mail for mail in mailbox()[before:] if "closed" in mail["Subject"]]
    assert [mail["Subject"] for mail in closing] == [f"Your complaint is closed ({reference})"]
    text = bodies(closing[0])
    assert "We refunded the delivery charge." in text and INTERNAL_NOTE not in text


def test_a_handler_change_an_internal_step_and_a_note_send_nothing(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any, book: CaseBook
) -> None:
    reference = post_one(api, "complaint", email=CUSTOMER)
    run(notifier_app, stream_records(moto_account))
    before = len(mailbox())
    book.change(reference, Change(status="acknowledged", handler="Sam Patel"), actor="staff")
    run(notifier_app, case_records(moto_account))
    assert len(mailbox()) == before + 1
    book.change(reference, Change(handler="Kim Ode", note=INTERNAL_NOTE), actor="staff")
    book.change(reference, Change(status="in_progress", note=INTERNAL_NOTE), actor="staff")
    run(notifier_app, case_records(moto_account))
    assert len(mailbox()) == before + 1
    book.change(reference, Change(status="resolved", note=INTERNAL_NOTE), actor="staff")
    run(notifier_app, case_records(moto_account))
    [acknowledged, resolved] = mailbox()[before:]
    assert resolved["Subject"] == f"We have resolved your complaint ({reference})"
    assert INTERNAL_NOTE not in bodies(resolved) and "Our message to you" not in bodies(resolved)
    assert {key[1] for key in sent(moto_account) if key[0] == reference} == {
        "confirmation", "staff-alert", update_message(1), update_message(4)}


def test_staff_may_ask_for_a_case_email_again_through_the_outbox(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any, book: CaseBook
) -> None:
    reference = post_one(api, "enquiry", email=CUSTOMER)
    book.change(reference, Change(status="answered", message="Use bracket B2."), actor="staff")
    run(notifier_app, case_records(moto_account))
    notifier = notifier_app.get_notifier()
    record = sent(moto_account)[(reference, update_message(1))]
    assert notifier.resend({**record, "status": items.RESEND}) == "skipped"  # sent: resend it by marking it
    moto_account.table().transition(*items.sent_key(reference, update_message(1)), status_from=items.SENT,
                                    changes={"status": items.RESEND}, guard="test")
    assert notifier.resend(record) == items.SENT
    answers = [m for m in mailbox() if m["Subject"].startswith("We have answered your question")]
    assert len(answers) == 2 and all("Use bracket B2." in bodies(m) for m in answers)


def test_the_overdue_digest_names_late_cases_by_reference_once_a_day(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any
) -> None:
    late = post_one(api, "complaint", email=CUSTOMER, name=NAME)
    notifier = notifier_app.get_notifier()
    later = datetime.now(UTC) + timedelta(days=30)
    notifier.clock = lambda: later
    day = later.date()

    assert notifier.send_overdue_digest(day) == items.SENT
    assert notifier.send_overdue_digest(day) == "skipped"  # once a day, however often it runs
    [digest] = [m for m in mailbox() if m["To"] == "casework@aftercare.example"]
    text = bodies(digest)
    assert f"{late} (complaint, received)" in text and "day(s) late" in text
    for private in (NAME, CUSTOMER):
        assert private not in text
    assert sent(moto_account)[(overdue_reference(day), OVERDUE_DIGEST)]["status"] == items.SENT
    notifier.clock = lambda: datetime.now(UTC)
    assert notifier.send_overdue_digest(datetime.now(UTC).date()) == "nothing overdue"


def test_the_daily_schedule_sends_both_digests(notifier_app: Any, moto_account: MotoAccount) -> None:
    outcomes = notifier_app.digest(scheduled_event(datetime(2026, 11, 23, 7, tzinfo=UTC)), None)
    # no kind asked for a daily digest, no email is waiting to be asked again, nothing was counted
    assert outcomes == {"overdue": "nothing overdue", "asked again": "0", "weekly summary": "nothing counted"}
