"""Emails driven by the table's change stream: which messages a new item calls for,
and sending each at most once, with a "sent" record per reference and message.

The stream delivers every record at least once (a retry, a crash mid-batch);
before sending, the notifier claims the message with a conditional write, so
a repeated record finds the claim and sends nothing. A send that fails is
marked failed and the batch raised again, so the retry (and only the retry)
may send it. A crash between claiming and sending leaves the claim "sending":
never sent twice, and listed by `aftercare outbox` to resend by hand.

The "sent" records (SENT#<reference> / <message>) and the unsubscribe requests
(UNSUB#<reference> / <time>) are laid out in chalicelib.items.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib import attachment_notices, emails, items, unsubscribe
from chalicelib.crypto import CiphertextMismatch, KeyServiceUnavailable, RecipientSeal, SubjectHasher
from chalicelib.emails import Letterhead, Mail, NotificationPolicy
from chalicelib.items import (
    FAILED,
    RECIPIENT_ATTRIBUTE,
    RESEND,
    SENDING,
    SENT,
    SENT_PREFIX,
    epoch,
    is_submission,
    sent_key,
    submission_key,
    timestamp,
)
from chalicelib.mailer import MailRejected, MailUnavailable, Transport
from chalicelib.policy import DataPolicy
from chalicelib.storage import NewItem, SubmissionTable, WriteConflict, from_dynamodb

log = logging.getLogger(__name__)

CONFIRMATION = "confirmation"
STAFF_ALERT = "staff-alert"
MESSAGES = (CONFIRMATION, STAFF_ALERT)
DIGEST = "digest"  # staff who asked for one mail a day (notifications.toml: daily_digest)
SEND_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
SENT_GUARD = "sent"


def digest_reference(kind: str, day: date) -> str:
    """What a day's digest is filed under in the outbox: one per kind and day."""
    return f"DIGEST-{kind}-{day.isoformat()}"


def planned_messages(item: dict[str, Any], policy: NotificationPolicy) -> list[str]:
    """The messages a new submission calls for: a confirmation when it carries an address,
    an alert when staff asked to hear of its kind one by one."""
    planned = []
    if item.get(RECIPIENT_ATTRIBUTE):
        planned.append(CONFIRMATION)
    alert = policy.staff_alerts.get(item.get("kind", ""))
    if alert and not alert.daily_digest:
        planned.append(STAFF_ALERT)
    return planned


@dataclass(frozen=True)
class StreamRecord:
    """One change as Lambda (and the local stream reader) hands it over."""

    event: str
    item: dict[str, Any]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> StreamRecord | None:
        image = (raw.get("dynamodb") or {}).get("NewImage")
        if not image:
            return None
        return cls(str(raw.get("eventName", "")), from_dynamodb(image))


@dataclass
class Notifier:
    table: SubmissionTable
    recipients: RecipientSeal
    hasher: SubjectHasher
    transport: Transport
    letterhead: Letterhead
    policy: NotificationPolicy
    data_policy: DataPolicy
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Where a message that can never be sent is reported (the dead-letter queue in AWS).
    dead_letters: Callable[[dict[str, str]], None] = field(default=lambda report: None)
    sleep: Callable[[float], None] = time.sleep

    def handle(self, raw_records: Iterable[dict[str, Any]]) -> None:
        """Act on a batch of stream records; raise to have the batch retried."""
        for raw in raw_records:
            record = StreamRecord.of(raw)
            if record is None:
                continue
            item = record.item
            if record.event == "INSERT" and is_submission(item):
                for message in planned_messages(item, self.policy):
                    self.deliver(item, message)
            elif record.event == "INSERT" and str(item.get("pk", "")).startswith(items.UNSUBSCRIBE_PREFIX):
                self.withdraw(item["reference"])
            elif record.event == "MODIFY" and str(item.get("pk", "")).startswith(SENT_PREFIX) \
                    and item.get("status") == RESEND:
                self.resend(item)
            elif record.event == "MODIFY" and attachment_notices.is_attached_refusal(item):
                self.tell_refusal(item)

    def deliver(self, item: dict[str, Any], message: str) -> str:
        """Send one message about a submission unless it was sent (or is being sent) already."""
        reference = item["reference"]
        if not self._claim(item, message):
            return "skipped"
        try:
            mail = self.compose(item, message)
        except (MailRejected, CiphertextMismatch) as rejected:
            return self._rejected(reference, message, type(rejected).__name__)
        except KeyServiceUnavailable as outage:
            self._mark(reference, message, FAILED, f"KeyServiceUnavailable: {outage}")
            raise
        for attempt in range(SEND_ATTEMPTS):
            try:
                self.transport.send(mail)
                break
            except MailRejected as rejected:
                return self._rejected(reference, message, str(rejected))
            except MailUnavailable as unavailable:
                if attempt + 1 == SEND_ATTEMPTS:
                    self._mark(reference, message, FAILED, str(unavailable))
                    raise
                self.sleep(BACKOFF_SECONDS * 2 ** attempt)
        self._mark(reference, message, SENT)
        log.info("sent %s for %s", message, reference)
        return SENT

    def send_digests(self, day: date) -> dict[str, str]:
        """The daily digest for each kind whose staff asked for one, of the submissions of `day`."""
        return {kind: self.send_digest(kind, day) for kind, alert in self.policy.staff_alerts.items()
                if alert.daily_digest}

    def send_digest(self, kind: str, day: date) -> str:
        now = self.clock()
        stamp = day.isoformat()
        items = list(self.table.query_kind(kind, since=f"{stamp}T00:00:00.000000Z",
                                           until=f"{stamp}T23:59:59.999999Z", now_epoch=epoch(now)))
        if not items:
            return "nothing new"
        digest = {"reference": digest_reference(kind, day), "kind": kind, "day": day, "digest_items": items,
                  "expires_at": epoch(now + timedelta(days=self.policy.unsubscribe_link_days))}
        return self.deliver(digest, DIGEST)

    def compose(self, item: dict[str, Any], message: str) -> Mail:
        if message == DIGEST:
            return emails.staff_digest(item["kind"], self.policy.staff_alerts[item["kind"]],
                                       item["digest_items"], item["day"], self.letterhead)
        refused_upload = attachment_notices.refused_upload_of(message)
        if message == CONFIRMATION or refused_upload:
            recipient = self.recipients.open(
                item[RECIPIENT_ATTRIBUTE], kind=item["kind"], reference=item["reference"]
            )
            files = self.sent_files(item)
            if refused_upload:
                numbered = dict(zip(attachment_notices.upload_ids_of(item), files, strict=True))
                if refused_upload not in numbered:
                    raise MailRejected("the refused file is not one the submission names")
                return emails.file_refused(item, recipient, numbered[refused_upload], self.letterhead)
            unsubscribe_url = None
            if (item.get("fields") or {}).get("marketing_consent"):
                unsubscribe_url = self.unsubscribe_url(item["reference"])
            return emails.confirmation(item, recipient, self.letterhead, self.policy, unsubscribe_url,
                                       files)
        alert = self.policy.staff_alerts.get(item["kind"])
        if alert is None:
            raise MailRejected(f"no staff address for {item['kind']}")
        return emails.staff_alert(item, alert, self.letterhead)

    def sent_files(self, item: dict[str, Any]) -> list[attachment_notices.SentFile]:
        """What became of each file the submission names, from its upload record."""
        now_epoch = epoch(self.clock())
        upload_ids = attachment_notices.upload_ids_of(item)
        records = {upload_id: self.table.get(*items.upload_key(upload_id), now_epoch=now_epoch)
                   for upload_id in upload_ids}
        return attachment_notices.sent_files(upload_ids, {i: r for i, r in records.items() if r})

    def tell_refusal(self, upload: dict[str, Any]) -> str:
        """A file refused once its submission was in: one email, unless the confirmation tells it."""
        reference = upload["reference"]
        now_epoch = epoch(self.clock())
        item = self.table.get(*submission_key(reference), now_epoch=now_epoch)
        if item is None or not item.get(RECIPIENT_ATTRIBUTE):
            return "no one to tell"
        claim = self.table.get(*sent_key(reference, CONFIRMATION), now_epoch=now_epoch)
        if not attachment_notices.told_apart(upload, claim):
            return "told in the confirmation"
        return self.deliver(item, attachment_notices.refusal_message(upload["upload_id"]))

    def unsubscribe_url(self, reference: str) -> str:
        expires = unsubscribe.link_expires(self.clock(), self.policy.unsubscribe_link_days)
        token = unsubscribe.sign(self.hasher, reference, expires)
        return f"{self.letterhead.site_url}/api/unsubscribe?token={quote(token)}"

    def resend(self, sent: dict[str, Any]) -> str:
        """Staff asked for one message again (`aftercare outbox resend`)."""
        reference, message = sent["reference"], sent["sk"]
        now = self.clock()
        item = self.table.get(*submission_key(reference), now_epoch=epoch(now))
        if item is None:
            return "gone"
        return self.deliver(item, message)

    def withdraw(self, reference: str) -> int:
        """An unsubscribe click: withdraw the consents of the person who sent `reference`."""
        now = self.clock()
        item = self.table.get(*submission_key(reference), now_epoch=epoch(now))
        subject = (item or {}).get("subject_hash")
        if not subject:
            return 0
        consents = list(self.table.query_subject(subject, now_epoch=epoch(now)))
        count = unsubscribe.withdraw_consents(self.table, self.data_policy, consents, now)
        self.table.create_all([unsubscribe.audit_item(subject, count, now)])
        log.info("unsubscribe link for %s withdrew %d consent(s)", reference, count)
        return count

    def _claim(self, item: dict[str, Any], message: str) -> bool:
        reference = item["reference"]
        now = self.clock()
        partition, sort = sent_key(reference, message)
        # Gone with the submission it is about.
        expires = item.get("expires_at") or epoch(self.data_policy.expires_at(item["kind"], now))
        record = items.sent_item(reference=reference, message=message, about_kind=item["kind"],
                                 created=now, expires_epoch=int(expires))
        try:
            self.table.create_all([NewItem(record, SENT_GUARD)])
            return True
        except WriteConflict:
            pass
        existing = self.table.get(partition, sort, now_epoch=epoch(now))
        if existing is None or existing.get("status") not in (FAILED, RESEND):
            return False
        try:
            self.table.transition(partition, sort, status_from=existing["status"], guard=SENT_GUARD,
                                  changes={"status": SENDING, "updated_at": timestamp(now),
                                           "attempts": int(existing.get("attempts", 1)) + 1})
        except WriteConflict:
            return False
        return True

    def _mark(self, reference: str, message: str, status: str, error: str = "") -> None:
        changes: dict[str, Any] = {"status": status, "updated_at": timestamp(self.clock())}
        if error:
            changes["last_error"] = error[:200]
        self.table.transition(*sent_key(reference, message), status_from=SENDING, changes=changes,
                              guard=SENT_GUARD)

    def _rejected(self, reference: str, message: str, reason: str) -> str:
        self._mark(reference, message, FAILED, reason)
        self.dead_letters({"reference": reference, "message": message, "reason": reason})
        log.warning("%s for %s can never be sent: %s", message, reference, reason)
        return FAILED
