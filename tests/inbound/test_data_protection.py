"""Replies follow their case: erased with the person, in their copy (held ones not), and the privacy
notice says they are kept with the case."""

from __future__ import annotations

import os
from typing import Any

from chalicelib.crypto.keys import subject_hash
from chalicelib.inbound import handler
from chalicelib.rules.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.staff import subjects
from chalicelib.staff.context import StaffContext
from chalicelib.staff.subject_copy import as_html, readable_copy
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket

from tests.api.test_notifier import CUSTOMER
from tests.attachments import files
from tests.inbound.mails import reply
from tests.inbound.test_replies import Desk, resolved_complaint
from tests.inbound.test_replies import desk as desk  # a fixture


def staff() -> StaffContext:
    return StaffContext(Settings.from_environ(os.environ), actor="privacy officer")


def test_a_reply_its_file_and_its_claim_are_erased_with_the_person(
    api: Any, desk: Desk, moto_bucket: AttachmentBucket
) -> None:
    reference = resolved_complaint(api, desk)
    desk.desk.receive(reply(desk.address(reference), CUSTOMER, "Still broken.",
                            photo=files.jpeg_with_gps(), message_id="<erase@mail.example>"))
    desk.desk.receive(reply(desk.address(reference), "other@example.org", "Someone else"))
    [upload_id] = [upload for entry in desk.entries(reference)
                   for upload in entry.get(items.REPLY_FILES_ATTRIBUTE) or ()]
    context = staff()
    subject = subject_hash(context.hasher, CUSTOMER)
    kinds = {items.record_type(item) for item in subjects.find(context, subject)}
    assert {"case_history", "upload", "reply received"} <= kinds
    subjects.erase(context, subject)
    assert [key for key, _ in moto_bucket.listing("")] == []
    left = [item for item in context.table.client.scan(TableName=context.table.table_name)["Items"]
            if reference in str(item) or upload_id in str(item)]
    assert left == []


def test_the_person_s_copy_holds_their_replies_and_files_but_not_a_held_one(
    api: Any, desk: Desk, moto_bucket: AttachmentBucket
) -> None:
    reference = resolved_complaint(api, desk)
    desk.desk.receive(reply(desk.address(reference), CUSTOMER, "The hinge is loose.",
                            photo=files.jpeg_with_gps()))
    desk.desk.receive(reply(desk.address(reference), "other@example.org", "Not from the customer"))
    context = staff()
    document = readable_copy(context, subjects.find(context, subject_hash(context.hasher, CUSTOMER)))
    [section] = document["submissions"]
    [wrote] = section["what_you_wrote_to_us"]
    assert wrote["answer"] == f"The hinge is loose. (files: {reference}-1.jpg)"
    page = as_html(document)
    assert "What you wrote to us" in page and "Not from the customer" not in page


def test_the_privacy_notice_says_replies_are_kept_with_the_request_and_alerts_name_no_one() -> None:
    described = data_policy().emails
    assert "kept with that request" in described[handler.REPLIES]
    assert "deleted with it" in described[handler.REPLIES]
    assert "no personal data" in described[handler.REPLY_ALERT]
