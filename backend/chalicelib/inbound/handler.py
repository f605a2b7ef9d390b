"""The inbound handler: one raw email (RFC 5322 bytes) in, and what became of it out.

In order: automatic mail (auto-replies, bounces, lists) is dropped and never
answered, so no two robots mail each other for ever; an address that is not a
signed reply address of ours is refused; a reply from an address that is not
the case's (compared by keyed hash, never stored in the clear) is held for staff
on the case, its files left out; otherwise the reply's new text is sealed on
the case's history as the customer's, its files pass the upload checker's
rules (type by content, photo metadata stripped, limits), a case that waits for
the customer moves back to work as its lifecycle says (`on_reply`), and the
case's team is told the reference, never who wrote or what.

Domain code: the clock, the ids and the alert's sender come in; nothing here
reads the environment or talks to AWS but through the table and bucket it is given.
"""

from __future__ import annotations

import email.policy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from chalicelib.cases.book import CUSTOMER_ACTOR, CaseBook, CaseNotFound, Change
from chalicelib.crypto.keys import SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms.attachments import MAX_BYTES, MAX_FILES
from chalicelib.inbound.address import reference_of
from chalicelib.inbound.text import body_text, new_text
from chalicelib.intake.filecheck import Refused, check
from chalicelib.intake.uploads import new_upload_id
from chalicelib.notify.emails import Mail
from chalicelib.rules.lifecycles import IllegalMove
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket
from chalicelib.store.table import NewItem, SubmissionTable, WriteConflict

log = logging.getLogger(__name__)

ATTACHED = "attached"
HELD = "held"
DROPPED = "dropped"
OTHER_ADDRESS = "a reply from another address"
CLOSED = "the case is closed"
# How the privacy notice names what this keeps and the team's alert (data_policy.toml [emails.messages]).
REPLIES = "replies"
REPLY_ALERT = "reply-alert"
# Precedence values of mail no person wrote (RFC 3834 and common practice).
AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Raw messages larger than this are not read (SES receives at most 40 MB).
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
# Declared types mail programs use for what the checker knows by another name.
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
                "application/x-pdf": "application/pdf"}


@dataclass(frozen=True)
class Outcome:
    """What became of one message; `reason` and `reference` hold no personal data (they are logged)."""

    action: str
    reason: str
    reference: str | None = None
    moved_to: str | None = None
    files: int = 0
    refused_files: int = 0


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def automatic(message: EmailMessage, envelope_sender: str | None) -> str | None:
    """Why the message is one no person wrote (an auto-reply, a bounce, a list), or None."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if submitted and not submitted.startswith("no"):
        return "automatic (Auto-Submitted)"
    if str(message.get("Precedence", "")).strip().lower() in AUTOMATIC_PRECEDENCE:
        return "automatic (Precedence)"
    return_path = message.get("Return-Path")
    if envelope_sender == "" or (return_path is not None and str(return_path).strip() in ("<>", "")):
        return "a bounce (empty return path)"
    if message.get_content_type() == "multipart/report" or message.get("X-Autoreply") \
            or message.get("X-Autorespond"):
        return "automatic (report or auto-responder)"
    return None


def recipients(message: EmailMessage, envelope: Iterable[str] = ()) -> list[str]:
    """Where the message was sent: the envelope's recipients first, then the headers'."""
    headers = [str(value) for name in ("To", "Cc", "Delivered-To") for value in message.get_all(name, [])]
    return [*envelope, *(address for _, address in getaddresses(headers) if address)]


def files_of(message: EmailMessage) -> list[tuple[str, bytes]]:
    """(declared type, bytes) of each attached or inline file that is not the text itself."""
    found = []
    for part in message.iter_attachments():
        if part.get_content_maintype() in ("multipart", "message"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            declared = part.get_content_type()
            found.append((TYPE_ALIASES.get(declared, declared), payload))
    return found


@dataclass
class InboundDesk:
    """Takes each raw message; `tell` sends the team's alert (the mail transport's send)."""

    book: CaseBook
    hasher: SubjectHasher
    bucket: AttachmentBucket
    domain: str
    clock: Callable[[], datetime]
    tell: Callable[[Mail], object]
    alert_sender: str
    alert_addresses: dict[str, str]  # kind -> the team's address (notifications.toml staff_alerts)
    console_url: str = ""
    new_id: Callable[[], str] = field(default=new_upload_id)

    @property
    def table(self) -> SubmissionTable:
        return self.book.table

    @property
    def cipher(self) -> SubmissionCipher:
        return self.book.cipher

    def receive(self, raw: bytes, *, envelope_sender: str | None = None,
                envelope_recipients: Iterable[str] = ()) -> Outcome:
        outcome = self._receive(raw, envelope_sender, list(envelope_recipients))
        log.info("inbound mail %s: %s%s", outcome.action, outcome.reason,
                 f" ({outcome.reference})" if outcome.reference else "")
        return outcome

    def _receive(self, raw: bytes, envelope_sender: str | None, envelope: list[str]) -> Outcome:
        if len(raw) > MAX_MESSAGE_BYTES:
            return Outcome(DROPPED, "too large")
        message = parse(raw)
        why = automatic(message, envelope_sender)
        if why:
            return Outcome(DROPPED, why)
        reference = next((found for address in recipients(message, envelope)
                          if (found := reference_of(self.hasher, address, self.domain))), None)
        if reference is None:
            return Outcome(DROPPED, "not a signed reply address of ours")
        try:
            case = self.book.read(reference)
        except CaseNotFound:
            return Outcome(DROPPED, "no such case (erased or expired)", reference)
        if not self._first_time(message, case):
            return Outcome(DROPPED, "already received", reference)
        text = new_text(body_text(message))
        sender = parseaddr(str(message.get("From", "")))[1]
        if not sender or subject_hash(self.hasher, sender) != case.get("subject_hash"):
            return self._enter(case, Change(reply=text or "(no text)", held=OTHER_ADDRESS), HELD,
                               OTHER_ADDRESS)
        status = self.book.policy.lifecycle(case["kind"]).status(case["status"])
        if status.closed:
            # A closed case takes no entry (its history is final): nothing of the reply is kept,
            # and the team hears of it, so that nobody waits for an answer that never comes.
            self._alert(case, CLOSED, None)
            return Outcome(DROPPED, CLOSED, case["reference"])
        checked, refused = self._files(case, files_of(message))
        change = Change(reply=text or "(no text)", files=tuple(checked), status=status.on_reply)
        return self._enter(case, change, ATTACHED, "a reply from the case's address",
                           files=len(checked), refused=refused)

    def _first_time(self, message: EmailMessage, case: dict[str, Any]) -> bool:
        """Claim the message by its Message-ID (hashed); False when it was taken before."""
        message_id = str(message.get("Message-ID", "")).strip()
        if not message_id:
            return True
        claim = items.claim_item(
            guard=items.INBOUND_GUARD, value=self.hasher.digest(f"inbound:{message_id}".encode()), fields={},
            reference=case["reference"], subject=case.get("subject_hash"), created=self.clock(),
            expires=datetime.fromtimestamp(int(case[items.EXPIRY_ATTRIBUTE]), self.clock().tzinfo),
        )
        try:
            self.table.create_all([NewItem(claim, items.INBOUND_GUARD)])
        except WriteConflict:
            return False
        return True

    def _files(self, case: dict[str, Any], found: list[tuple[str, bytes]]) -> tuple[list[str], int]:
        """Each file checked as an upload is; the good ones kept (cleaned) as the case's for as
        long as the case. Answers the kept upload ids and how many were refused."""
        kept: list[str] = []
        refused = 0
        now = self.clock()
        expires = datetime.fromtimestamp(int(case[items.EXPIRY_ATTRIBUTE]), now.tzinfo)
        for declared, data in found:
            if len(kept) >= MAX_FILES:
                refused += 1
                continue
            try:
                if len(data) > MAX_BYTES:
                    raise Refused("larger than the limit")
                cleaned = check(data, declared)
            except Refused:
                refused += 1
                continue
            upload_id = self.new_id()
            record = items.upload_item(
                upload_id=upload_id, form_kind=case["kind"], content_type=cleaned.content_type,
                max_bytes=len(data), created=now, usable_until=now, expires=expires,
            )
            record.update(items.attached_upload_changes(
                reference=case["reference"], subject=case.get("subject_hash"), attached=now, expires=expires))
            record.update({"check": items.UPLOAD_CHECKED, "checked_at": items.timestamp(now),
                           "size": len(cleaned.body)})
            self.bucket.write(items.attachment_object_key(upload_id), cleaned.body,
                              content_type=cleaned.content_type)
            self.table.create_all([NewItem(record, "upload")])
            kept.append(upload_id)
        return kept, refused

    def _enter(self, case: dict[str, Any], change: Change, action: str, reason: str, *,
               files: int = 0, refused: int = 0) -> Outcome:
        reference = case["reference"]
        try:
            entry = self.book.change(reference, change, actor=CUSTOMER_ACTOR)
        except IllegalMove:
            # Closed between the read and the write: as for a closed case, nothing is entered.
            self._alert(case, CLOSED, None)
            return Outcome(DROPPED, CLOSED, reference)
        moved_to = entry["status"] if entry.get("moved") else None
        self._alert(case, action, moved_to)
        return Outcome(action, reason, reference, moved_to, files, refused)

    def _alert(self, case: dict[str, Any], action: str, moved_to: str | None) -> None:
        """The case's team hears of the reply: the reference and what happened, no personal data."""
        to = self.alert_addresses.get(case["kind"])
        if not to:
            return
        reference = case["reference"]
        lines = {
            HELD: [f"A reply from another address is held on case {reference}.",
                   "Read it on the case page; nothing was attached from it."],
            CLOSED: [f"A reply came for case {reference}, which is closed: nothing of it was kept.",
                     "If the customer needs more from us, ask them to send a new request."],
        }.get(action, [f"The customer replied on case {reference}.", "Read it on the case page."])
        if moved_to:
            lines.append(f"The case moved back to {moved_to.replace('_', ' ')}.")
        if case.get(items.HANDLER_ATTRIBUTE):
            lines.append(f"Handler: {case[items.HANDLER_ATTRIBUTE]}")
        if self.console_url:
            lines.append(f"{self.console_url}/staff/cases/{reference}")
        subject = {HELD: "Held reply", CLOSED: "Reply to a closed case"}.get(action, "Customer reply") \
            + f": {reference}"
        # Automatic itself: an auto-responder at the team's address must not answer it.
        self.tell(Mail(sender=self.alert_sender, to=to, subject=subject, text="\n".join(lines) + "\n",
                       headers={"Auto-Submitted": "auto-generated"}))
