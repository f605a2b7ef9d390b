"""Emails on real engines: forms posted over HTTP, DynamoDB Local's own stream read by the
local stream reader, the notifier sending over SMTP to MailDev on 127.0.0.1."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter

import pytest
from chalicelib import items, notify
from chalicelib.forms import FORMS

from tests.mailstack import CUSTOMER, MailStack, recipient, unsubscribe_headers, wait_for_consent

pytestmark = pytest.mark.dynamodb_local

STAFF = {"complaints@aftercare.example", "returns@aftercare.example", "helpdesk@aftercare.example",
         "visits@aftercare.example"}


def test_the_table_has_a_stream_of_new_images(mail_stack: MailStack) -> None:
    described = mail_stack.dynamodb().describe_table(TableName=mail_stack.table_name)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def test_each_form_brings_exactly_one_confirmation_and_the_right_staff_alert(mail_stack: MailStack) -> None:
    references = {kind: mail_stack.post(kind, email=CUSTOMER) for kind in FORMS}
    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(9)
    subjects = Counter((recipient(m), m["subject"]) for m in messages)
    expected = {(CUSTOMER, f"We have your {FORMS[k].title.lower()} ({references[k]})")
                for k in ("enquiry", "warranty_registration", "complaint", "return_request", "service_visit")}
    expected |= {("complaints@aftercare.example", f"New complaint: {references['complaint']}"),
                 ("returns@aftercare.example", f"New return request: {references['return_request']}"),
                 ("helpdesk@aftercare.example", f"New enquiry: {references['enquiry']}"),
                 ("visits@aftercare.example", f"New service visit: {references['service_visit']}")}
    assert subjects == Counter(expected)
    for message in messages:
        if recipient(message) in STAFF:
            assert CUSTOMER not in json.dumps(message)
        assert message["from"][0]["address"] == "help@aftercare.example"


def test_a_reader_killed_mid_batch_and_restarted_sends_each_message_once(mail_stack: MailStack) -> None:
    references = [mail_stack.post("complaint", email=CUSTOMER) for _ in range(6)]
    expected = {(ref, message) for ref in references for message in notify.MESSAGES}
    with mail_stack.reader() as reader:
        deadline = time.monotonic() + 60
        while not mail_stack.maildev.messages() and time.monotonic() < deadline:
            time.sleep(0.02)
        reader.kill()  # SIGKILL: no clean-up, no checkpoint
        reader.wait()
    delivered_before_restart = len(mail_stack.maildev.messages())
    assert 0 < delivered_before_restart < len(expected), "the kill did not land mid-batch"
    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(len(expected))
    per_message = Counter(
        (next(ref for ref in references if ref in m["subject"]),
         notify.CONFIRMATION if recipient(m) == CUSTOMER else notify.STAFF_ALERT)
        for m in messages
    )
    statuses = {key: record["status"] for key, record in mail_stack.sent_records().items()}
    assert set(statuses) == expected
    assert max(per_message.values()) == 1  # never twice
    # A kill between claiming a message and marking it sent leaves its claim pending: it may or
    # may not have gone, so it is not sent again on its own; `aftercare outbox` lists it for staff.
    # Every other message went exactly once.
    pending = {key for key, status in statuses.items() if status == items.SENDING}
    assert len(pending) <= 1
    assert {key for key in expected if per_message[key] == 1} >= expected - pending
    assert {status for key, status in statuses.items() if key not in pending} == {items.SENT}


def test_one_click_unsubscribe_from_a_received_mail_withdraws_consent(mail_stack: MailStack) -> None:
    reference = mail_stack.post("enquiry", email=CUSTOMER, marketing_consent=True)
    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(2)
        [confirmation] = [m for m in messages if recipient(m) == CUSTOMER]
        headers = unsubscribe_headers(mail_stack.maildev, confirmation)
        link = headers["List-Unsubscribe"].strip("<>")
        assert link.startswith(f"{mail_stack.base_url}/api/unsubscribe?token={reference}.")
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        request = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.status == 200 and b"You are unsubscribed" in answer.read()
        assert wait_for_consent(mail_stack, "withdrawn") == ["withdrawn"]
    [audit] = [i for i in mail_stack.raw_items() if i.get("kind") == "audit"]
    assert audit["actor"] == "customer:unsubscribe-link"
