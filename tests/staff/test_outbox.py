"""`aftercare outbox` (pending and failed emails, resending one) and `aftercare case show REF`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalicelib.cases.book import CaseBook, Change
from chalicelib.crypto.keys import RecipientSeal
from chalicelib.forms import FORMS
from chalicelib.intake.receiving import Intake
from chalicelib.notify import notifier as notify
from chalicelib.notify.case_emails import update_message
from chalicelib.notify.emails import Letterhead, notification_policy
from chalicelib.notify.mailer import MailRejected
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.policy import data_policy
from chalicelib.store.table import to_dynamodb

from tests.samples import payload_for, validated
from tests.staff.conftest import NOW, HelpDesk

CUSTOMER = "zed.q@example.net"


class Outgoing:
    """A transport that records what it sent, or fails as told."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.failure: BaseException | None = None

    def send(self, mail: Any) -> str:
        if self.failure is not None:
            raise self.failure
        self.sent.append(mail)
        return "id"


@pytest.fixture
def transport() -> Outgoing:
    return Outgoing()


@pytest.fixture
def notifier(desk: HelpDesk, transport: Outgoing) -> notify.Notifier:
    return notify.Notifier(
        table=desk.table, recipients=RecipientSeal(desk.settings.cipher()),
        hasher=desk.settings.subject_hasher(), transport=transport,
        letterhead=Letterhead("help@aftercare.example", "Aftercare", "http://127.0.0.1:8000"),
        policy=notification_policy(), data_policy=data_policy(), sleep=lambda seconds: None,
    )


def submit(desk: HelpDesk, kind: str) -> dict[str, Any]:
    """A submission with its recipient sealed apart, as the API stores it; answers its item."""
    cipher = desk.settings.cipher()
    intake = Intake(table=desk.table, cipher=cipher, hasher=desk.settings.subject_hasher(),
                    policy=data_policy(), clock=lambda: NOW, recipients=RecipientSeal(cipher))
    form = FORMS[kind]
    body = payload_for(form, NOW.date(), email=CUSTOMER)
    reference = intake.receive(form, validated(form, body, NOW.date())).reference
    (item,) = desk.items(f"SUB#{reference}")
    return item


def rejected_confirmation(desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing,
                          kind: str) -> dict[str, Any]:
    """A submission whose confirmation SES refused (marked failed)."""
    item = submit(desk, kind)
    transport.failure = MailRejected("MessageRejected")
    notifier.deliver(item, notify.CONFIRMATION)
    transport.failure = None
    return item


def test_outbox_lists_pending_and_failed_messages_without_personal_data(
    desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing
) -> None:
    rejected = rejected_confirmation(desk, notifier, transport, "complaint")
    crashed = submit(desk, "enquiry")
    transport.failure = KeyboardInterrupt()  # stops between claiming and recording the send
    with pytest.raises(KeyboardInterrupt):
        notifier.deliver(crashed, notify.CONFIRMATION)
    transport.failure = None
    notifier.deliver(crashed, notify.STAFF_ALERT)

    rows = [json.loads(line) for line in desk.ok("outbox").stdout.splitlines()]

    assert [(r["reference"], r["message"], r["status"]) for r in rows] == [
        (crashed["reference"], "confirmation", "sending"),
        (rejected["reference"], "confirmation", "failed"),
    ]
    assert rows[1]["last_error"] == "MessageRejected"
    everything = desk.ok("outbox", "--status", "all").stdout
    assert (crashed["reference"], "staff-alert") in {
        (json.loads(line)["reference"], json.loads(line)["message"]) for line in everything.splitlines()}
    assert CUSTOMER not in everything


def test_resend_marks_the_message_for_the_notifier_which_sends_it_once(
    desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing
) -> None:
    item = rejected_confirmation(desk, notifier, transport, "return_request")

    result = desk.ok("outbox", "resend", item["reference"], "confirmation")

    assert "will be sent again" in result.stdout
    (record,) = desk.items(f"SENT#{item['reference']}")
    assert record["status"] == "resend"
    change = {"eventName": "MODIFY", "dynamodb": {"NewImage": to_dynamodb(record)}}
    notifier.handle([change, change])
    assert [mail.to for mail in transport.sent] == [CUSTOMER]
    (record,) = desk.items(f"SENT#{item['reference']}")
    assert (record["status"], record["attempts"]) == ("sent", 2)
    (audit,) = [a for a in desk.audit_records() if a["action"] == "outbox.resend"]
    assert audit["detail"] == {"reference": item["reference"], "message": "confirmation"}


def test_resending_a_message_that_was_never_claimed_is_a_plain_error(desk: HelpDesk) -> None:
    item = submit(desk, "enquiry")
    result = desk.run("outbox", "resend", item["reference"], "confirmation")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: no confirmation for {item['reference']} in the outbox"


def test_show_opens_one_case_with_the_emails_sent_about_it(
    desk: HelpDesk, notifier: notify.Notifier
) -> None:
    item = submit(desk, "complaint")
    notifier.deliver(item, notify.CONFIRMATION)

    shown = json.loads(desk.ok("case", "show", item["reference"]).stdout)

    # A complaint is a case from the start: it shows its lifecycle's first status.
    assert shown["reference"] == item["reference"]
    assert shown["status"] == case_policy().lifecycle("complaint").start == "received"
    assert shown["fields"]["email"] == CUSTOMER
    assert shown["fields"]["category"] == item["fields"]["category"]
    statuses = {message: email["status"] for message, email in shown["emails"].items()}
    assert statuses == {"confirmation": "sent"}
    (audit,) = [a for a in desk.audit_records() if a["action"] == "case.show"]
    assert (audit["kinds"], audit["item_count"]) == (["complaint"], 1)
    missing = desk.run("case", "show", "CMP-2222-3333")
    assert missing.exit_code == 1 and missing.output.strip() == "Error: there is no case CMP-2222-3333"


def test_correcting_the_email_address_moves_the_recipient_the_notifier_sends_to(
    desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing
) -> None:
    item = submit(desk, "enquiry")
    desk.ok("subject", "correct", "--email", CUSTOMER, "--reference", item["reference"],
            "--field", "email", "--value", "zed.new@example.net")
    (corrected,) = desk.items(f"SUB#{item['reference']}")
    notifier.deliver(corrected, notify.CONFIRMATION)
    assert [mail.to for mail in transport.sent] == ["zed.new@example.net"]


def test_retry_marks_only_stale_claims_for_the_notifier_which_sends_each_once(
    desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing
) -> None:
    rejected = rejected_confirmation(desk, notifier, transport, "complaint")
    stale, fresh = submit(desk, "enquiry"), submit(desk, "return_request")
    transport.failure = KeyboardInterrupt()  # stops between claiming and recording the send
    long_ago = NOW - notify.CLAIM_LEASE - timedelta(minutes=1)
    notifier.clock = lambda: long_ago
    with pytest.raises(KeyboardInterrupt):
        notifier.deliver(stale, notify.CONFIRMATION)
    notifier.clock = lambda: datetime.now(UTC)
    with pytest.raises(KeyboardInterrupt):
        notifier.deliver(fresh, notify.CONFIRMATION)  # its sender may still be at work
    transport.failure = None

    dry = desk.ok("outbox", "retry", "--dry-run").stdout.splitlines()
    assert dry == [f"{stale['reference']} confirmation: sending, due",
                   "1 message(s) due; nothing changed (dry run)"]
    assert [r["status"] for r in desk.items(f"SENT#{stale['reference']}")] == ["sending"]

    result = desk.ok("outbox", "retry")
    assert result.stdout.splitlines() == [f"{stale['reference']} confirmation: was sending",
                                          "1 message(s) will be sent again"]
    statuses = {r["reference"]: r["status"] for r in desk.items("SENT#")}
    assert statuses == {stale["reference"]: "resend", fresh["reference"]: "sending",
                        rejected["reference"]: "failed"}
    (record,) = desk.items(f"SENT#{stale['reference']}")
    change = {"eventName": "MODIFY", "dynamodb": {"NewImage": to_dynamodb(record)}}
    notifier.handle([change, change])
    assert [mail.to for mail in transport.sent] == [CUSTOMER]
    assert desk.ok("outbox", "retry").stdout.splitlines() == ["0 message(s) will be sent again"]
    audits = [a for a in desk.audit_records() if a["action"] == "outbox.retry"]
    assert [(a["detail"], a["item_count"]) for a in audits] == [({"due": 1}, 1), ({"due": 0}, 0)]
    assert CUSTOMER not in result.output


def test_retry_with_an_unknown_option_is_a_plain_one_line_error(desk: HelpDesk) -> None:
    result = desk.run("outbox", "retry", "--everything")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Error: No such option '--everything'" in result.output


def test_a_case_update_is_listed_by_show_and_staff_may_have_it_sent_again(
    desk: HelpDesk, notifier: notify.Notifier, transport: Outgoing
) -> None:
    notifier.case_messages = desk.settings.cipher()
    reference = submit(desk, "enquiry")["reference"]
    book = CaseBook(desk.table, desk.settings.cipher(), case_policy(), lambda: NOW)
    entry = book.change(reference, Change(status="answered", message="Use bracket B2."), actor="staff")
    notifier.handle([{"eventName": "INSERT", "dynamodb": {"NewImage": to_dynamodb(entry)}}])
    update = update_message(1)

    shown = json.loads(desk.ok("case", "show", reference).stdout)
    assert shown["emails"][update]["status"] == "sent"
    desk.ok("outbox", "resend", reference, update)
    (record,) = [r for r in desk.items(f"SENT#{reference}") if r["sk"] == update]
    notifier.handle([{"eventName": "MODIFY", "dynamodb": {"NewImage": to_dynamodb(record)}}])
    assert [mail.to for mail in transport.sent] == [CUSTOMER, CUSTOMER]
    assert all("Use bracket B2." in mail.text for mail in transport.sent)
    refused = desk.run("outbox", "resend", reference, "case-update-1")
    assert refused.exit_code == 2 and "case-update-NNNNNN" in refused.output
