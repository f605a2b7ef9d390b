"""Emails on real engines: forms posted over HTTP, DynamoDB Local's own stream read by the
local stream reader, the notifier sending over SMTP to MailDev on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aftercare_cli.main import cli
from aftercare_local.paths import REPO
from chalicelib.forms import FORMS
from chalicelib.notify import notifier as notify
from chalicelib.notify.case_emails import update_message
from chalicelib.store import items
from chalicelib.store.table import to_dynamodb
from click.testing import CliRunner

from tests.mailstack import (
    CUSTOMER,
    MailStack,
    recipient,
    silent_mail_server,
    unsubscribe_headers,
    wait_for_consent,
)

pytestmark = pytest.mark.dynamodb_local

LEASE_SECONDS = 4.0  # the notifier's is 90 s (longer than its Lambda timeout); nothing here runs that long

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
    expected = {(CUSTOMER, f"We have your {FORMS[k].in_words} ({references[k]})")
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
    # A short lease, so a claim the kill leaves behind is taken over within the test's wait.
    with mail_stack.reader(claim_lease_seconds=LEASE_SECONDS) as reader:
        deadline = time.monotonic() + 60
        while not mail_stack.maildev.messages() and time.monotonic() < deadline:
            time.sleep(0.02)
        reader.kill()  # SIGKILL: no clean-up, no checkpoint
        reader.wait()
    delivered_before_restart = len(mail_stack.maildev.messages())
    assert 0 < delivered_before_restart < len(expected), "the kill did not land mid-batch"
    with mail_stack.reader(claim_lease_seconds=LEASE_SECONDS):
        messages = mail_stack.wait_for_mail(len(expected))
    per_message = Counter(
        (next(ref for ref in references if ref in m["subject"]),
         notify.CONFIRMATION if recipient(m) == CUSTOMER else notify.STAFF_ALERT)
        for m in messages
    )
    statuses = {key: record["status"] for key, record in mail_stack.sent_records().items()}
    assert set(statuses) == expected
    # A kill between claiming a message and marking it sent leaves its claim: the restarted
    # reader waits out the claim's lease, then sends it. Every message went, and only one
    # killed after its mail left and before it was marked sent can have gone twice.
    assert set(per_message) == expected
    assert sum(count - 1 for count in per_message.values()) <= 1
    assert set(statuses.values()) == {items.SENT}


def test_a_reader_killed_between_claiming_and_sending_sends_it_once_after_restart(
    mail_stack: MailStack,
) -> None:
    """No staff action: the restarted reader meets the claim, waits out its lease and sends."""
    lease = LEASE_SECONDS
    reference = mail_stack.post("complaint", email=CUSTOMER)
    expected = {(reference, message) for message in notify.MESSAGES}
    with silent_mail_server() as (stuck_port, connections), \
            mail_stack.reader(smtp_port=stuck_port, claim_lease_seconds=lease) as reader:
        deadline = time.monotonic() + 60
        while not connections and time.monotonic() < deadline:
            time.sleep(0.02)
        claims = mail_stack.sent_records()
        reader.kill()  # SIGKILL while it waits for the mail server to answer
        reader.wait()
    assert connections, "the reader never reached the mail server"
    assert [record["status"] for record in claims.values()] == [items.SENDING]
    assert mail_stack.maildev.messages() == []
    with mail_stack.reader(claim_lease_seconds=lease):
        messages = mail_stack.wait_for_mail(len(expected))
    claimed_one = next(iter(claims))
    per_message = Counter(
        (reference, notify.CONFIRMATION if recipient(m) == CUSTOMER else notify.STAFF_ALERT)
        for m in messages
    )
    assert per_message == Counter(expected)  # each exactly once
    records = mail_stack.sent_records()
    assert {key: record["status"] for key, record in records.items()} == dict.fromkeys(expected, items.SENT)
    assert records[claimed_one]["attempts"] == 2  # taken over once, not claimed afresh
    claimed_at = items.parsed_timestamp(claims[claimed_one]["updated_at"])
    sent_at = items.parsed_timestamp(records[claimed_one]["updated_at"])
    assert sent_at - claimed_at >= timedelta(seconds=lease)  # not before the lease ran out


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


def test_a_case_update_with_a_message_for_the_customer_brings_exactly_one_email(
    mail_stack: MailStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = mail_stack.post("complaint", email=CUSTOMER)
    mail_stack.point_here(monkeypatch)
    note = "Courier admitted losing the parcel"
    staff = CliRunner().invoke(cli, ["case", "update", reference, "--status", "acknowledged",
                                     "--handler", "Sam Patel", "--note", note,
                                     "--tell-customer", "Sam will call you tomorrow."])
    assert staff.exit_code == 0, staff.output
    staff = CliRunner().invoke(cli, ["case", "assign", reference, "--handler", "Kim Ode"])  # no email
    assert staff.exit_code == 0, staff.output

    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(3)  # confirmation, staff alert, the update
    updates = [m for m in messages if m["subject"] == f"A handler has taken on your complaint ({reference})"]
    assert len(messages) == 3 and len(updates) == 1
    [update] = updates
    assert recipient(update) == CUSTOMER
    assert "Sam will call you tomorrow." in update["text"] and "Sam has taken on" in update["text"]
    assert f"{mail_stack.base_url}/api/track?reference={reference}" in update["text"]
    assert note not in json.dumps(update) and "Patel" not in json.dumps(update)
    assert mail_stack.sent_records()[(reference, update_message(1))]["status"] == items.SENT


def test_the_digest_command_sends_the_overdue_digest_once_a_day(mail_stack: MailStack) -> None:
    late = mail_stack.post("return_request", email=CUSTOMER)
    mail_stack.post("enquiry", email=CUSTOMER)  # just received: not late
    # Received a month ago: its five working days to decide have long passed.
    month_ago = items.timestamp(datetime.now(UTC) - timedelta(days=30))
    partition, sort = items.submission_key(late)
    mail_stack.dynamodb().update_item(
        TableName=mail_stack.table_name, Key=to_dynamodb({"pk": partition, "sk": sort}),
        UpdateExpression="SET created_at = :then",
        ExpressionAttributeValues=to_dynamodb({":then": month_ago}),
    )
    command = [sys.executable, "-m", "aftercare_local", "digest", "--dynamodb-endpoint", mail_stack.endpoint,
               "--table", mail_stack.table_name, "--key-dir", str(mail_stack.key_dir),
               "--smtp-port", str(mail_stack.maildev.smtp_port)]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr[-500:]
    assert "overdue: sent" in first.stdout and "overdue: skipped" in again.stdout
    [digest] = [m for m in mail_stack.wait_for_mail(1) if recipient(m) == "casework@aftercare.example"]
    assert f"{late} (return_request, received)" in digest["text"] and "day(s) late" in digest["text"]
    assert CUSTOMER not in json.dumps(digest) and len(digest["text"].split("day(s) late")) == 2
