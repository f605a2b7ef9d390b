"""Replies on the local stack, as on `make run`: a complaint's confirmation from MailDev is replied
to over SMTP with a photo; the case shows the new text and the photo without GPS, is back in work,
and its team's alert names no one; a forged address and an auto-reply are dropped."""

from __future__ import annotations

import email
import email.policy
import smtplib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aftercare_cli.main import cli
from aftercare_local import inbound
from aftercare_local.mail import free_port
from chalicelib.cases.book import CaseBook, Change
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items
from click.testing import CliRunner

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack
from tests.inbound.mails import reply
from tests.mailstack import CUSTOMER, MailStack, raw_source, recipient
from tests.mailstack import maildev as maildev  # a fixture
from tests.unit.test_emails_in_languages import REPLY_INVITE

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]
DOMAIN = "reply.aftercare.localhost"
NAME = "Priya Raman"


@pytest.fixture
def replies(attachment_stack: AttachmentStack, maildev: Any, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[int]:
    """The listener `make run` starts, on a free port, handing mail to the app's inbound handler
    (its alerts to MailDev); the stream reader sends with the same reply domain."""
    import app as app_module

    monkeypatch.setenv("AFTERCARE_REPLY_DOMAIN", DOMAIN)
    monkeypatch.setenv("AFTERCARE_SMTP_PORT", str(maildev.smtp_port))
    app_module.get_inbound.cache_clear()
    with inbound.listening(free_port(), inbound.app_receiver()) as port:
        yield port
    app_module.get_inbound.cache_clear()


def send(port: int, raw: bytes, sender: str = CUSTOMER) -> None:
    with smtplib.SMTP(inbound.LOOPBACK, port, timeout=10) as smtp:
        smtp.sendmail(sender, [str(email.message_from_bytes(raw)["To"])], raw)


def wait(condition: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        time.sleep(0.1)
    return found


def test_a_reply_to_a_confirmation_over_smtp_lands_on_its_case(
    attachment_stack: AttachmentStack, maildev: Any, replies: int, tmp_path: Path
) -> None:
    live = attachment_stack.live
    stack = MailStack(live.base_url, live.table_name, live.endpoint, live.key_dir, maildev=maildev,
                      state_dir=tmp_path / "state")
    maildev.clear()
    reference = stack.post("complaint", email=CUSTOMER, name=NAME)
    with stack.reader():
        [confirmation] = wait(lambda: [m for m in maildev.messages()
                                       if reference in m["subject"] and recipient(m) == CUSTOMER])
    sent = email.message_from_string(raw_source(maildev, confirmation), policy=email.policy.default)
    reply_to = str(sent["Reply-To"])
    assert reply_to.startswith(f"reply+{reference}.") and reply_to.endswith(f"@{DOMAIN}")
    assert REPLY_INVITE in sent.get_body(("plain",)).get_content()  # and the customer is told so
    settings = Settings.from_environ(attachment_stack.live_environment())
    book = CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))
    book.change(reference, Change(status="acknowledged", handler="Sam Patel"), actor="staff")
    book.change(reference, Change(status="resolved", note="Replaced the hinge"), actor="staff")
    maildev.clear()

    # A forged address (another MAC) and an auto-reply: neither is attached. The listener takes
    # one message at a time and answers once it is handled, so these are done (and anything they
    # sent is in MailDev) before the real reply's alert arrives.
    forged = reply_to.replace(reply_to.split(".", 1)[1][:20], "0" * 20)
    send(replies, reply(forged, CUSTOMER, "Forged", photo=files.jpeg_with_gps()))
    send(replies, reply(reply_to, CUSTOMER, "I am out of the office",
                        headers={"Auto-Submitted": "auto-replied"}))
    send(replies, reply(reply_to, f"{NAME} <{CUSTOMER}>", "The door still squeaks.",
                        photo=files.jpeg_with_gps(), message_id="<r1@mail.example>"))

    assert book.read(reference)["status"] == "in_progress"
    replied = [entry for entry in book.history(reference) if entry.get(items.REPLY_ATTRIBUTE)]
    assert len(replied) == 1 and replied[0]["moved"]
    [upload_id] = replied[0][items.REPLY_FILES_ATTRIBUTE]
    kept, _ = attachment_stack.bucket.read(items.attachment_object_key(upload_id), limit=10**7)
    assert not files.opened(kept).getexif() and files.SERIAL.encode() not in kept

    shown = CliRunner().invoke(cli, ["case", "show", reference, "--format", "table"],
                               env=attachment_stack.live_environment(), catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "customer wrote (1 file(s), under attachments): The door still squeaks." in shown.output
    assert "wrote:" not in shown.output.replace("customer wrote", "") and "Best regards" not in shown.output
    assert "Forged" not in shown.output and "out of the office" not in shown.output

    [alert] = wait(lambda: [m for m in maildev.messages() if m["subject"] == f"Customer reply: {reference}"])
    assert recipient(alert) == "complaints@aftercare.example"
    for private in (NAME, "Priya", CUSTOMER, "squeaks"):
        assert private.lower() not in (alert["subject"] + alert["text"]).lower()
    # and nothing more: no answer to the forged mail or the auto-reply
    assert [m["subject"] for m in maildev.messages()] == [alert["subject"]]
