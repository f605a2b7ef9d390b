"""Case emails through the notifier: a move the customer hears of, and the daily list of overdue cases.

The notifier calls in here from `handle` (a new history entry on the stream),
`compose` (building the email once the message is claimed) and its daily
run. Each email is claimed like every other, by a "sent" record per
reference and message: a case update is one message per (reference,
version), the overdue digest one per day, so a repeated stream record, a
retry or a second run that day sends nothing twice.

The notifier opens two things only: the recipient address (sealed apart for
it) and the message staff wrote for the customer (sealed under the
`case_message` context, which the key policy lets it open). It never opens a
submission or an internal note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.cases.book import open_message
from chalicelib.cases.notices import notice_for, overdue_digest
from chalicelib.cases.tracking import first_name
from chalicelib.crypto.exceptions import CiphertextMismatch, KeyServiceUnavailable
from chalicelib.crypto.keys import RecipientSeal, SubmissionCipher
from chalicelib.notify import emails
from chalicelib.notify.emails import Letterhead, Mail, NotificationPolicy
from chalicelib.notify.mailer import MailRejected
from chalicelib.store import items
from chalicelib.store.table import SubmissionTable, from_dynamodb

CASE_UPDATE = "case-update-"  # + the case's version: one email per (reference, version)
OVERDUE_DIGEST = "overdue-digest"
OVERDUE_KIND = "cases"  # what the digest's "sent" record says it is about
# How long a day's claim on the digest is kept: long past the day it guards.
OVERDUE_CLAIM_DAYS = 90


def update_message(version: int) -> str:
    return f"{CASE_UPDATE}{version:06d}"


def is_case_message(message: str) -> bool:
    return message.startswith(CASE_UPDATE) or message == OVERDUE_DIGEST


def overdue_reference(day: date) -> str:
    """What a day's overdue digest is filed under in the outbox."""
    return f"OVERDUE-{day.isoformat()}"


def planned_update(entry: Mapping[str, Any], policy: NotificationPolicy) -> tuple[dict[str, Any], str] | None:
    """What a new stream item calls for: (what the email is about, its message name), or None.

    The claim is kept as long as the case (the entry carries the case's expiry).
    """
    notice = notice_for(entry, policy.cases)
    if notice is None:
        return None
    about = {"reference": notice.reference, "kind": notice.kind,
             items.EXPIRY_ATTRIBUTE: entry.get(items.EXPIRY_ATTRIBUTE)}
    return about, update_message(notice.version)


@dataclass
class CaseMail:
    table: SubmissionTable
    recipients: RecipientSeal
    messages: SubmissionCipher | None  # opens customer messages (the `case_message` context) only
    policy: NotificationPolicy
    letterhead: Letterhead
    clock: Callable[[], datetime]

    def compose(
        self, about: Mapping[str, Any], message: str, unsubscribe_url: Callable[[str, str], str],
        *, replies_home: bool = False,
    ) -> Mail:
        """The email of a case message; `replies_home`: it carries the case's reply address, so it
        says a reply to it is added to the case."""
        if message == OVERDUE_DIGEST:
            if self.policy.overdue_digest is None:
                raise MailRejected("no staff address for the overdue digest")
            return emails.overdue_digest(list(about["lines"]), about["day"], self.policy.overdue_digest,
                                         self.letterhead)
        reference = str(about["reference"])
        now_epoch = items.epoch(self.clock())
        entry = self.table.get(*items.history_key(reference, int(message.removeprefix(CASE_UPDATE))),
                               now_epoch=now_epoch)
        case = self.table.get(*items.submission_key(reference), now_epoch=now_epoch)
        notice = notice_for(entry, self.policy.cases) if entry else None
        if case is None or entry is None or notice is None:
            raise MailRejected("the case or its change is gone, or is not one the customer hears of")
        if not case.get(items.RECIPIENT_ATTRIBUTE):
            raise MailRejected("the case has no address to write to")
        recipient = self.recipients.open(case[items.RECIPIENT_ATTRIBUTE], kind=case["kind"],
                                         reference=reference)
        update = emails.CaseUpdate(
            reference=reference, kind=notice.kind, status=notice.status, template=notice.template,
            moved_on=date.fromisoformat(str(entry["created_at"])[:10]),
            handler=first_name(entry.get("handler") or case.get(items.HANDLER_ATTRIBUTE)),
            window=entry.get(items.WINDOW_ATTRIBUTE),
            customer_message=self._customer_message(entry) if notice.has_message else None,
            language=items.language_of(case),
        )
        consented = bool((case.get("fields") or {}).get("marketing_consent"))
        return emails.case_update(update, recipient, self.letterhead, self.policy,
                                  unsubscribe_url(reference, update.language) if consented else None,
                                  replies_home=replies_home)

    def _customer_message(self, entry: Mapping[str, Any]) -> str | None:
        if self.messages is None:
            raise KeyServiceUnavailable("no key to open customer messages")
        from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return open_message(self.messages, dict(entry))
        except CiphertextMismatch:
            raise
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None

    def overdue_digest(self, day: date) -> dict[str, Any] | None:
        """The day's digest (what the email is about), or None when no case is overdue."""
        now = self.clock()
        open_cases = [case for kind in self.policy.cases.lifecycles
                      for page in self.table.query_open_cases(kind, now_epoch=items.epoch(now))
                      for case in map(from_dynamodb, page)]
        lines = overdue_digest(open_cases, self.policy.cases, day)
        if not lines:
            return None
        return {"reference": overdue_reference(day), "kind": OVERDUE_KIND, "day": day, "lines": lines,
                items.EXPIRY_ATTRIBUTE: items.epoch(now + timedelta(days=OVERDUE_CLAIM_DAYS))}
