"""Emails driven by the table's change stream: which messages a new item calls for,
and sending each at most once, with a "sent" record per reference and message.

The stream delivers every record at least once (a retry, a crash mid-batch);
before sending, the notifier claims the message with a conditional write, so
a repeated record finds the claim and sends nothing.

A claim is a lease (`CLAIM_LEASE`, longer than the notifier's timeout): while
it is fresh, its holder may still be sending, so a retry that meets it raises
(`ClaimHeld`) and the stream tries the batch again later. Once the lease has
run out, its holder is certainly gone (stopped between claiming and marking
the send), and the next retry or `sweep` takes the claim over with a write
conditional on the claim being unchanged, and sends: at least once, by
itself. Only a holder that stopped after sending and before marking it sent
gives the person a second copy.

A send that fails is marked failed with a time to retry, backing off, up to
`MAX_ATTEMPTS` claims; then it is reported to the dead-letter queue and left
for staff (`aftercare outbox resend`).

The "sent" records (SENT#<reference> / <message>) and the unsubscribe requests
(UNSUB#<reference> / <time>) are laid out in chalicelib.store.items.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib.cases import follow_up
from chalicelib.crypto.exceptions import CiphertextMismatch, KeyServiceUnavailable
from chalicelib.crypto.keys import RecipientSeal, SubjectHasher, SubmissionCipher
from chalicelib.insight import report, summary, tally
from chalicelib.notify import attachment_notices, case_emails, consents, emails, follow_up_mail, unsubscribe
from chalicelib.notify.emails import Letterhead, Mail, NotificationPolicy
from chalicelib.notify.mailer import MailRejected, MailUnavailable, Transport
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.policy import DataPolicy
from chalicelib.store import items
from chalicelib.store.items import (
    FAILED,
    NO_RETRY,
    RECIPIENT_ATTRIBUTE,
    RESEND,
    RETRY_AT_ATTRIBUTE,
    SENDING,
    SENT,
    SENT_PREFIX,
    epoch,
    is_submission,
    parsed_timestamp,
    sent_key,
    submission_key,
    timestamp,
)
from chalicelib.store.table import ItemChange, NewItem, SubmissionTable, WriteConflict, from_dynamodb

log = logging.getLogger(__name__)

CONFIRMATION = "confirmation"
STAFF_ALERT = "staff-alert"
MESSAGES = (CONFIRMATION, STAFF_ALERT)
DIGEST = "digest"  # staff who asked for one mail a day (notifications.toml: daily_digest)
SEND_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
SENT_GUARD = "sent"
# How long a claim keeps others off a message. Longer than the notifier's own
# timeout (lambda_timeout in .chalice/config.json; a test ties the two), so a
# claim older than this has no live holder.
CLAIM_LEASE = timedelta(seconds=90)
# Claims of one message, the first included, before a failing one is given up
# (reported to the dead-letter queue); each failure waits twice as long as the last.
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(minutes=1)


class ClaimHeld(Exception):
    """Another worker claimed this message less than a lease ago and may be sending it: try later."""

    def __init__(self, reference: str, message: str, retry_after: float):
        super().__init__(f"{message} for {reference} is being sent; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


def is_due(record: dict[str, Any], now: datetime, lease: timedelta) -> bool:
    """A "sent" record whose message should be tried again now: a claim whose lease ran out
    (its holder stopped), a staff resend the stream never delivered, or a failure whose
    backoff has passed."""
    status = record.get("status")
    if status in (SENDING, RESEND):
        changed = parsed_timestamp(record.get("updated_at"))
        return changed is None or changed + lease <= now
    if status == FAILED:
        retry_at = parsed_timestamp(record.get(RETRY_AT_ATTRIBUTE))
        return retry_at is not None and retry_at <= now
    return False


def due_for_retry(table: SubmissionTable, now: datetime, lease: timedelta = CLAIM_LEASE
                  ) -> Iterator[dict[str, Any]]:
    """The outbox's messages due for another try, oldest first within each status: a Query of
    the outbox's claims by status on the by-kind index (sent ones filtered out by DynamoDB), no Scan."""
    for status in (SENDING, RESEND, FAILED):
        for record in table.query_kind(items.OUTBOX_KIND, status=status, now_epoch=epoch(now)):
            if is_due(record, now, lease):
                yield record


def ask_again(table: SubmissionTable, record: dict[str, Any], now: datetime) -> bool:
    """Mark one due message `resend`, only if it is still as it was read (a notifier may be
    taking it over this very moment); the stream then hands it to the notifier, which sends
    it under its own claim. Answers whether it was marked."""
    mark = ItemChange(*sent_key(str(record["reference"]), str(record["sk"])),
                      {"status": RESEND, "updated_at": timestamp(now)}, SENT_GUARD,
                      expect={"status": record.get("status"), "updated_at": record.get("updated_at")})
    try:
        table.change_all([mark])
    except WriteConflict:
        return False
    return True


def ask_again_what_is_due(table: SubmissionTable, now: datetime, lease: timedelta = CLAIM_LEASE
                          ) -> list[dict[str, Any]]:
    """The sweep: every message due for another try (`due_for_retry`) marked `resend`, for the
    notifier to send. The daily schedule runs it (the stream's own retries come first);
    staff do the same with `aftercare outbox retry`. Answers the records it marked."""
    marked = [record for record in list(due_for_retry(table, now, lease)) if ask_again(table, record, now)]
    log.info("outbox sweep: %d message(s) asked again", len(marked))
    return marked


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
    claim_lease: timedelta = CLAIM_LEASE
    # Opens the messages staff wrote for the customer (case updates), nothing else.
    case_messages: SubmissionCipher | None = None
    # The domain of the cases' reply addresses: emails to customers about a case carry one
    # and thread (chalicelib.inbound.address); None: they carry neither.
    reply_domain: str | None = None
    # The claim count of each message this notifier holds, for the backoff when it fails.
    _attempts: dict[tuple[str, str], int] = field(default_factory=dict, init=False, repr=False)

    def handle(self, raw_records: Iterable[dict[str, Any]]) -> None:
        """Act on a batch of stream records; raise to have the batch retried."""
        for raw in raw_records:
            record = StreamRecord.of(raw)
            if record is None:
                continue
            item = record.item
            if record.event == "INSERT" and is_submission(item):
                consents.record(self.table, item, self.data_policy.expires_at)
                for message in planned_messages(item, self.policy):
                    self.deliver(item, message)
            elif record.event == "INSERT" and (update := case_emails.planned_update(item, self.policy)):
                self.deliver(*update)
            elif record.event == "INSERT" and str(item.get("pk", "")).startswith(items.UNSUBSCRIBE_PREFIX):
                self.withdraw(item["reference"])
            elif record.event == "MODIFY" and str(item.get("pk", "")).startswith(SENT_PREFIX) \
                    and item.get("status") == RESEND:
                self.resend(item)
            elif record.event == "MODIFY" and attachment_notices.is_attached_refusal(item):
                self.tell_refusal(item)
            follow_up_mail.act(self, record.event, item)
            tally.count(self.table, case_policy(), record.event, item, self.clock())  # the insight page

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
        mail = self.threaded(item, message, mail)
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

    def replies_come_home(self, item: dict[str, Any], message: str) -> bool:
        """Whether an email carries the case's reply address: one to the customer about a case,
        when replies are received (a reply domain). Only such an email invites a reply."""
        to_customer = message == CONFIRMATION or message.startswith(case_emails.CASE_UPDATE) \
            or attachment_notices.refused_upload_of(message) is not None
        return bool(self.reply_domain and to_customer and item.get("kind") in self.policy.cases.lifecycles)

    def threaded(self, item: dict[str, Any], message: str, mail: Mail) -> Mail:
        """An email to the customer about a case, with the case's reply address and its thread."""
        if not self.reply_domain or not self.replies_come_home(item, message):
            return mail
        from chalicelib.inbound.address import thread_headers

        headers = thread_headers(self.hasher, str(item["reference"]), message, self.reply_domain)
        return replace(mail, headers={**mail.headers, **headers})

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

    def send_overdue_digest(self, day: date) -> str:
        """Once a day, one staff email naming the cases whose promise has passed."""
        digest = self.case_mail().overdue_digest(day)
        return self.deliver(digest, case_emails.OVERDUE_DIGEST) if digest else "nothing overdue"

    def send_weekly_summary(self, today: date) -> str:
        """Once a week, the managers' summary of the week before (chalicelib.insight.summary)."""
        if self.policy.weekly_summary is None:
            return "no address for the weekly summary"
        week = summary.last_week(today)
        counted = report.read(self.table, week, self.clock())
        if not counted:
            return "nothing counted"
        about = {"reference": summary.reference(week), "kind": summary.KIND, "week": week,
                 "figures": report.build(counted, week, summary.NO_FILTERS, case_policy()),
                 "expires_at": epoch(self.clock() + timedelta(days=summary.CLAIM_DAYS))}
        return self.deliver(about, summary.MESSAGE)

    def case_mail(self) -> case_emails.CaseMail:
        return case_emails.CaseMail(self.table, self.recipients, self.case_messages, self.policy,
                                    self.letterhead, self.clock)

    def compose(self, item: dict[str, Any], message: str) -> Mail:
        if case_emails.is_case_message(message):
            return self.case_mail().compose(item, message, self.unsubscribe_url,
                                            replies_home=self.replies_come_home(item, message))
        if message == DIGEST:
            return emails.staff_digest(item["kind"], self.policy.staff_alerts[item["kind"]],
                                       item["digest_items"], item["day"], self.letterhead)
        if message == follow_up.MESSAGE:
            return follow_up_mail.compose(self, item)
        if message == summary.MESSAGE and self.policy.weekly_summary is not None:
            return summary.compose(item, self.policy.weekly_summary, self.letterhead)
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
                unsubscribe_url = self.unsubscribe_url(item["reference"], items.language_of(item))
            return emails.confirmation(item, recipient, self.letterhead, self.policy, unsubscribe_url,
                                       files, replies_home=self.replies_come_home(item, message))
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

    def unsubscribe_url(self, reference: str, language: str = items.DEFAULT_LANGUAGE) -> str:
        """The link, its page in the customer's language (`&language=`, in another than English)."""
        expires = unsubscribe.link_expires(self.clock(), self.policy.unsubscribe_link_days)
        token = unsubscribe.sign(self.hasher, reference, expires)
        in_language = f"&language={quote(language)}" if language != items.DEFAULT_LANGUAGE else ""
        return f"{self.letterhead.site_url}/api/unsubscribe?token={quote(token)}{in_language}"

    def resend(self, sent: dict[str, Any]) -> str:
        """Staff asked for one message again (`aftercare outbox resend`)."""
        return self._send_again(str(sent["reference"]), str(sent["sk"]), self.clock())

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
        """Take the message: a new claim, or a held-up one taken over. False: nothing to send
        (sent already, given up, or another worker took it a moment ago); ClaimHeld: ask later."""
        reference = item["reference"]
        now = self.clock()
        partition, sort = sent_key(reference, message)
        # Gone with the submission it is about.
        expires = item.get("expires_at") or epoch(self.data_policy.expires_at(item["kind"], now))
        record = items.sent_item(reference=reference, message=message, about_kind=item["kind"],
                                 created=now, expires_epoch=int(expires))
        try:
            self.table.create_all([NewItem(record, SENT_GUARD)])
            self._attempts[(reference, message)] = 1
            return True
        except WriteConflict:
            pass
        existing = self.table.get(partition, sort, now_epoch=epoch(now))
        if existing is None:
            return False
        status, attempts = existing.get("status"), int(existing.get("attempts", 1))
        if status == SENDING and not is_due(existing, now, self.claim_lease):
            changed = parsed_timestamp(existing.get("updated_at")) or now
            raise ClaimHeld(reference, message, (changed + self.claim_lease - now).total_seconds())
        if status == FAILED and (existing.get(RETRY_AT_ATTRIBUTE) == NO_RETRY or attempts >= MAX_ATTEMPTS):
            return False  # refused for good, or out of attempts: staff resend it if they choose
        if status not in (SENDING, FAILED, RESEND):
            return False
        # Conditional on the claim as read: of two workers taking it over, one wins.
        takeover = ItemChange(partition, sort, {"status": SENDING, "updated_at": timestamp(now),
                                                "attempts": attempts + 1}, SENT_GUARD,
                              expect={"status": status, "updated_at": existing.get("updated_at"),
                                      "attempts": attempts})
        try:
            self.table.change_all([takeover])
        except WriteConflict:
            return False
        if status == SENDING:
            log.warning("took over the stale claim on %s for %s", message, reference)
        self._attempts[(reference, message)] = attempts + 1
        return True

    def _mark(self, reference: str, message: str, status: str, error: str = "", *,
              retryable: bool = True) -> None:
        now = self.clock()
        changes: dict[str, Any] = {"status": status, "updated_at": timestamp(now)}
        if error:
            changes["last_error"] = error[:200]
        if status == FAILED:
            attempts = self._attempts.get((reference, message), 1)
            if retryable and attempts < MAX_ATTEMPTS:
                changes[RETRY_AT_ATTRIBUTE] = timestamp(now + RETRY_BACKOFF * 2 ** (attempts - 1))
            else:
                changes[RETRY_AT_ATTRIBUTE] = NO_RETRY
                if retryable:
                    self.dead_letters({"reference": reference, "message": message,
                                       "reason": f"failed {attempts} times: {error[:200]}"})
        self.table.transition(*sent_key(reference, message), status_from=SENDING, changes=changes,
                              guard=SENT_GUARD)

    def _send_again(self, reference: str, message: str, now: datetime) -> str:
        """One message again, rebuilt from what it is about: a day's digest, or a submission."""
        if message == DIGEST:
            kind, day = reference.removeprefix("DIGEST-")[:-11], reference[-10:]
            return self.send_digest(kind, date.fromisoformat(day))
        if message == case_emails.OVERDUE_DIGEST:
            return self.send_overdue_digest(date.fromisoformat(reference[-10:]))
        if message == summary.MESSAGE:
            return self.send_weekly_summary(summary.week_of(reference).end + timedelta(days=1))
        item = self.table.get(*submission_key(reference), now_epoch=epoch(now))
        if item is None:
            return "gone"
        return self.deliver(item, message)

    def _rejected(self, reference: str, message: str, reason: str) -> str:
        self._mark(reference, message, FAILED, reason, retryable=False)
        self.dead_letters({"reference": reference, "message": message, "reason": reason})
        log.warning("%s for %s can never be sent: %s", message, reference, reason)
        return FAILED
