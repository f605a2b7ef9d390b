"""The inbound handler on moto: a reply comes home to its case, and nothing else does."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.cases.book import CUSTOMER_ACTOR, CaseBook, Change, open_reply
from chalicelib.inbound import handler
from chalicelib.inbound.address import reply_address
from chalicelib.inbound.handler import InboundDesk
from chalicelib.notify.emails import Mail
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket
from PIL import Image

from tests.api.test_notifier import CUSTOMER, post_one
from tests.attachments import files
from tests.inbound.mails import reply

DOMAIN = "reply.aftercare.example"
NAME = "Priya Raman"
TEAM = "complaints@aftercare.example"


class Desk:
    def __init__(self, desk: InboundDesk, alerts: list[Mail]):
        self.desk, self.alerts = desk, alerts
        self.book = desk.book

    def entries(self, reference: str) -> list[dict[str, Any]]:
        return self.book.history(reference)

    def address(self, reference: str) -> str:
        return reply_address(self.desk.hasher, reference, DOMAIN)


@pytest.fixture
def desk(api: Any, moto_bucket: AttachmentBucket) -> Desk:
    settings = Settings.from_environ(os.environ)
    book = CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))
    alerts: list[Mail] = []
    return Desk(InboundDesk(book=book, hasher=settings.subject_hasher(), bucket=moto_bucket, domain=DOMAIN,
                            clock=lambda: datetime.now(UTC), tell=alerts.append,
                            alert_sender="Aftercare <help@aftercare.example>",
                            alert_addresses={"complaint": TEAM}), alerts)


def resolved_complaint(api: Any, desk: Desk) -> str:
    reference = post_one(api, "complaint", email=CUSTOMER, name=NAME)
    desk.book.change(reference, Change(status="acknowledged", handler="Sam Patel"), actor="staff")
    desk.book.change(reference, Change(status="resolved", note="Replaced the hinge"), actor="staff")
    return reference


def test_a_reply_lands_on_its_case_new_text_only_photo_without_gps_and_back_in_work(
    api: Any, desk: Desk, moto_bucket: AttachmentBucket
) -> None:
    reference = resolved_complaint(api, desk)
    raw = reply(desk.address(reference), f"{NAME} <{CUSTOMER.upper()}>", "The door still squeaks.",
                photo=files.jpeg_with_gps(), message_id="<one@mail.example>")

    outcome = desk.desk.receive(raw)

    assert (outcome.action, outcome.moved_to, outcome.files) == (handler.ATTACHED, "in_progress", 1)
    entry = desk.entries(reference)[-1]
    assert entry["actor"] == CUSTOMER_ACTOR and entry["status"] == "in_progress" and entry["moved"]
    text = open_reply(desk.book.cipher, entry)
    assert text == "The door still squeaks."
    assert "Priya" not in text and "wrote:" not in text
    [upload_id] = entry[items.REPLY_FILES_ATTRIBUTE]
    kept, _ = moto_bucket.read(items.attachment_object_key(upload_id), limit=10**7)
    assert files.SERIAL.encode() not in kept and b"Acacia" not in kept
    assert files.GPS_IFD_TAG not in Image.open(io.BytesIO(kept)).getexif()
    record = desk.book.table.get(*items.upload_key(upload_id), now_epoch=0)
    assert record is not None and record["reference"] == reference
    assert record["subject_hash"] == desk.book.read(reference)["subject_hash"]
    assert record[items.EXPIRY_ATTRIBUTE] == desk.book.read(reference)[items.EXPIRY_ATTRIBUTE]
    [alert] = desk.alerts
    assert alert.to == TEAM and reference in alert.subject and "in progress" in alert.text
    for private in (NAME, "Priya", CUSTOMER, "squeaks"):
        assert private.lower() not in (alert.subject + alert.text).lower()
    assert alert.headers["Auto-Submitted"] == "auto-generated"


def test_the_same_message_twice_is_entered_once(api: Any, desk: Desk) -> None:
    reference = resolved_complaint(api, desk)
    raw = reply(desk.address(reference), CUSTOMER, "Still broken.", message_id="<twice@mail.example>")
    assert desk.desk.receive(raw).action == handler.ATTACHED
    assert desk.desk.receive(raw).action == handler.DROPPED
    assert sum(1 for entry in desk.entries(reference) if entry.get(items.REPLY_ATTRIBUTE)) == 1


def test_a_forged_or_changed_address_is_dropped_never_attached(api: Any, desk: Desk) -> None:
    reference = resolved_complaint(api, desk)
    other = post_one(api, "complaint", email=CUSTOMER)
    signed = desk.address(reference)
    forged = signed.replace(reference, other)  # another case under this case's MAC
    guessed = f"reply+{other}.{'0' * 20}@{DOMAIN}"
    for address in (forged, guessed, f"reply+{reference}@{DOMAIN}", signed.replace(DOMAIN, "evil.example")):
        outcome = desk.desk.receive(reply(address, CUSTOMER, "Attach me", photo=files.jpeg_with_gps()))
        assert outcome.action == handler.DROPPED and outcome.reference is None
    for case in (reference, other):
        assert not any(entry.get(items.REPLY_ATTRIBUTE) for entry in desk.entries(case))
    assert desk.alerts == []


def test_a_reply_from_another_address_is_held_for_staff_without_its_files(api: Any, desk: Desk) -> None:
    reference = resolved_complaint(api, desk)
    outcome = desk.desk.receive(reply(desk.address(reference), "someone.else@example.org",
                                      "I am not the customer", photo=files.jpeg_with_gps()))
    assert outcome.action == handler.HELD and outcome.files == 0
    entry = desk.entries(reference)[-1]
    assert entry[items.HELD_ATTRIBUTE] == handler.OTHER_ADDRESS
    assert not entry.get(items.REPLY_FILES_ATTRIBUTE) and not entry["moved"]
    assert desk.book.read(reference)["status"] == "resolved"
    [alert] = desk.alerts
    assert "held" in alert.text.lower() and "someone.else" not in alert.text


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"Return-Path": "<>"},
    {"X-Autoreply": "yes"},
])
def test_auto_replies_and_bounces_are_dropped_unanswered(
    api: Any, desk: Desk, headers: dict[str, str]
) -> None:
    reference = resolved_complaint(api, desk)
    outcome = desk.desk.receive(reply(desk.address(reference), CUSTOMER, "I am out of office",
                                      headers=headers))
    assert outcome.action == handler.DROPPED
    assert not any(entry.get(items.REPLY_ATTRIBUTE) for entry in desk.entries(reference))
    assert desk.alerts == []


def test_a_bounce_by_its_empty_envelope_sender_is_dropped(api: Any, desk: Desk) -> None:
    reference = resolved_complaint(api, desk)
    outcome = desk.desk.receive(reply(desk.address(reference), CUSTOMER, "Undeliverable"), envelope_sender="")
    assert outcome.action == handler.DROPPED and desk.alerts == []


def test_a_reply_to_a_case_not_waiting_keeps_its_status_and_a_refused_file_is_not_kept(
    api: Any, desk: Desk, moto_bucket: AttachmentBucket
) -> None:
    reference = post_one(api, "complaint", email=CUSTOMER)
    outcome = desk.desk.receive(reply(desk.address(reference), CUSTOMER, "One more thing",
                                      photo=b"MZ\x90\x00 not a photo at all"))
    assert (outcome.action, outcome.moved_to, outcome.files, outcome.refused_files) == \
        (handler.ATTACHED, None, 0, 1)
    assert desk.book.read(reference)["status"] == "received"
    assert [key for key, _ in moto_bucket.listing("")] == []



def test_a_reply_to_a_closed_case_keeps_nothing_and_tells_the_team(
    api: Any, desk: Desk, moto_bucket: AttachmentBucket
) -> None:
    reference = resolved_complaint(api, desk)
    desk.book.change(reference, Change(status="closed"), actor="staff")
    outcome = desk.desk.receive(reply(desk.address(reference), CUSTOMER, "One more thing",
                                      photo=files.jpeg_with_gps()))
    assert (outcome.action, outcome.reason) == (handler.DROPPED, handler.CLOSED)
    assert not any(entry.get(items.REPLY_ATTRIBUTE) for entry in desk.entries(reference))
    assert [key for key, _ in moto_bucket.listing("")] == []  # its photo was not kept either
    [alert] = desk.alerts
    assert alert.subject == f"Reply to a closed case: {reference}" and "One more thing" not in alert.text
