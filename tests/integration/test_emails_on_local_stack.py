"""Emails on real engines: forms posted over HTTP, DynamoDB Local's own stream read by the
local stream reader, the notifier sending over SMTP to MailDev on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import mail, processes
from aftercare_local.paths import REPO
from chalicelib import notify
from chalicelib.crypto import ensure_local_keys
from chalicelib.forms import FORMS
from chalicelib.storage import SubmissionTable

from tests.conftest import LiveStack, free_port, local_client, serving
from tests.samples import payload_for

pytestmark = pytest.mark.dynamodb_local

CUSTOMER = "zed.q@example.net"
STAFF = {"complaints@aftercare.example", "returns@aftercare.example", "helpdesk@aftercare.example"}
QUIET_SECONDS = 2.0


@dataclass
class MailStack(LiveStack):
    maildev: mail.MailDev = None  # type: ignore[assignment]
    state_dir: Path = Path()

    def table(self) -> SubmissionTable:
        client = self.dynamodb()
        return SubmissionTable(self.table_name, lambda: client)

    def post(self, kind: str, **changes: Any) -> str:
        form = FORMS[kind]
        body = json.dumps(payload_for(form, date.today(), **changes)).encode()
        request = urllib.request.Request(f"{self.base_url}/api{form.path}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return str(json.load(answer)["reference"])

    @contextlib.contextmanager
    def reader(self) -> Iterator[subprocess.Popen[bytes]]:
        """The stream reader as its own process, as `make run` runs it beside the server."""
        process = subprocess.Popen(
            [sys.executable, "-m", "aftercare_local", "notify", "--dynamodb-endpoint", self.endpoint,
             "--table", self.table_name, "--key-dir", str(self.key_dir),
             "--smtp-port", str(self.maildev.smtp_port), "--site-url", self.base_url,
             "--state-dir", str(self.state_dir)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                processes.stop(process)

    def wait_for_mail(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until `count` messages are in MailDev, then a little longer for any extra."""
        deadline = time.monotonic() + timeout
        while len(self.maildev.messages()) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(QUIET_SECONDS)
        return self.maildev.messages()

    def sent_records(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(i["reference"], i["sk"]): i for i in self.raw_items() if i["pk"].startswith("SENT#")}


def recipient(message: dict[str, Any]) -> str:
    return str(message["to"][0]["address"])


@pytest.fixture(scope="module")
def maildev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mail.MailDev]:
    with mail.running(free_port(), free_port(), tmp_path_factory.mktemp("maildev")) as running:
        yield running


@pytest.fixture
def mail_stack(
    dynamodb_local_endpoint: str, maildev: mail.MailDev, tmp_path: Path
) -> Iterator[MailStack]:
    """A table of its own (its stream holds only this test's changes), the one-origin server and MailDev."""
    key_dir = tmp_path / "keys"
    ensure_local_keys(key_dir)
    table_name = f"aftercare-mail-{uuid.uuid4().hex[:8]}"
    client = local_client(dynamodb_local_endpoint)
    dynamodb_local.ensure_table(client, table_name)
    maildev.clear()
    with serving(dynamodb_local_endpoint, table_name, key_dir) as base_url:
        yield MailStack(base_url, table_name, dynamodb_local_endpoint, key_dir, maildev, tmp_path / "state")
    client.delete_table(TableName=table_name)


def test_the_table_has_a_stream_of_new_images(mail_stack: MailStack) -> None:
    described = mail_stack.dynamodb().describe_table(TableName=mail_stack.table_name)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def test_each_form_brings_exactly_one_confirmation_and_the_right_staff_alert(mail_stack: MailStack) -> None:
    references = {kind: mail_stack.post(kind, email=CUSTOMER) for kind in FORMS}
    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(7)
    subjects = Counter((recipient(m), m["subject"]) for m in messages)
    expected = {(CUSTOMER, f"We have your {FORMS[k].title.lower()} ({references[k]})")
                for k in ("enquiry", "warranty_registration", "complaint", "return_request")}
    expected |= {("complaints@aftercare.example", f"New complaint: {references['complaint']}"),
                 ("returns@aftercare.example", f"New return request: {references['return_request']}"),
                 ("helpdesk@aftercare.example", f"New enquiry: {references['enquiry']}")}
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
    pending = {key for key, status in statuses.items() if status == notify.SENDING}
    assert len(pending) <= 1
    assert {key for key in expected if per_message[key] == 1} >= expected - pending
    assert {status for key, status in statuses.items() if key not in pending} == {notify.SENT}


def raw_source(maildev: mail.MailDev, message: dict[str, Any]) -> str:
    with urllib.request.urlopen(f"{maildev.inbox_url}api/email/{message['id']}/source",  # noqa: S310
                                timeout=5) as answer:
        return str(answer.read().decode())


def test_one_click_unsubscribe_from_a_received_mail_withdraws_consent(mail_stack: MailStack) -> None:
    reference = mail_stack.post("enquiry", email=CUSTOMER, marketing_consent=True)
    with mail_stack.reader():
        messages = mail_stack.wait_for_mail(2)
        [confirmation] = [m for m in messages if recipient(m) == CUSTOMER]
        headers = dict(line.split(": ", 1) for line in raw_source(mail_stack.maildev, confirmation)
                       .split("\r\n\r\n", 1)[0].replace("\r\n ", " ").split("\r\n") if ": " in line)
        link = headers["List-Unsubscribe"].strip("<>")
        assert link.startswith(f"{mail_stack.base_url}/api/unsubscribe?token={reference}.")
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        request = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.status == 200 and b"You are unsubscribed" in answer.read()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            consents = [i for i in mail_stack.raw_items() if i.get("kind") == "consent"]
            if consents and consents[0]["status"] == "withdrawn":
                break
            time.sleep(0.2)
    assert [c["status"] for c in consents] == ["withdrawn"]
    [audit] = [i for i in mail_stack.raw_items() if i.get("kind") == "audit"]
    assert audit["actor"] == "customer:unsubscribe-link"
