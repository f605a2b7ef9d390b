"""Receiving a submission: seal its personal fields, write it once, answer with a reference."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.crypto import RecipientSeal, SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FormKind, Submission, UniqueClaim
from chalicelib.policy import DataPolicy
from chalicelib.references import Chooser, new_reference
from chalicelib.storage import NewItem, SubmissionTable, WriteConflict

SUBMISSION_SORT_KEY = "SUBMISSION"
IDEMPOTENCY_SORT_KEY = "IDEMPOTENCY"
CONSENT_SORT_KEY = "CONSENT"
SUBMISSION_GUARD = "submission"
IDEMPOTENCY_GUARD = "idempotency"
REFERENCE_ATTEMPTS = 3


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different submission."""


class AlreadyClaimed(Exception):
    """Another submission holds a key this one needed (a serial number already registered).

    The message is written for the customer and says nothing about the other submission.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Receipt:
    reference: str
    answer: dict[str, Any]
    replayed: bool = False


@dataclass
class Intake:
    table: SubmissionTable
    cipher: SubmissionCipher
    hasher: SubjectHasher
    policy: DataPolicy
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    choose: Chooser = secrets.choice
    # Seals the email address apart, for the notifier (see crypto.RecipientSeal).
    recipients: RecipientSeal | None = None

    def receive(
        self, form: FormKind, submission: Submission, idempotency_key: str | None = None
    ) -> Receipt:
        """Store one submission exactly once and answer with its reference.

        With an idempotency key, a retry of the same submission answers the
        first reference and stores nothing; the same key with a different
        submission is refused.
        """
        now = self.clock()
        fingerprint = self._fingerprint(form, submission)
        claims = submission.unique_claims(now.date())
        for _ in range(REFERENCE_ATTEMPTS):
            reference = new_reference(form.reference_prefix, self.choose)
            answer = submission.answer(reference, now.date()).model_dump(mode="json")
            items = self._items(form, submission, reference, now)
            subject = items[0].item.get("subject_hash")
            items[1:1] = [self._claim_item(form, claim, reference, subject, now) for claim in claims]
            if idempotency_key:
                # First in the transaction: when a retry also collides with its
                # own claims, the idempotency record is the conflict reported.
                items.insert(
                    0, self._idempotency_item(form, idempotency_key, fingerprint, answer, subject, now)
                )
            try:
                self.table.create_all(items)
            except WriteConflict as conflict:
                if conflict.guard == IDEMPOTENCY_GUARD and idempotency_key:
                    return self._replay(form, submission, idempotency_key, fingerprint, now)
                if conflict.guard == SUBMISSION_GUARD:
                    continue
                for claim in claims:
                    if conflict.guard == claim.guard:
                        raise AlreadyClaimed(claim.conflict_message) from None
                raise
            return Receipt(reference, answer)
        raise RuntimeError("could not find a free reference")  # 30^8 references; never in practice

    def pretend(self, form: FormKind, submission: Submission) -> Receipt:
        """The answer a submission would get, with a fresh reference, storing nothing (for spam)."""
        reference = new_reference(form.reference_prefix, self.choose)
        answer = submission.answer(reference, self.clock().date()).model_dump(mode="json")
        return Receipt(reference, answer)

    def _items(
        self, form: FormKind, submission: Submission, reference: str, now: datetime
    ) -> list[NewItem]:
        personal = {
            name: value
            for name in form.model.personal_fields()
            if (value := getattr(submission, name)) is not None
        }
        email = personal.get("email")
        subject = subject_hash(self.hasher, email) if email else None
        item: dict[str, Any] = {
            "pk": f"SUB#{reference}",
            "sk": SUBMISSION_SORT_KEY,
            "kind": form.kind,
            "reference": reference,
            "created_at": timestamp(now),
            "status": form.initial_status,
            "expires_at": epoch(self.policy.expires_at(form.kind, now)),
            "subject_hash": subject,
            "personal": self.cipher.seal(personal, kind=form.kind, reference=reference),
            "fields": {
                name: open_value(getattr(submission, name)) for name in form.model.open_fields()
            },
        }
        if email and self.recipients is not None:
            item["recipient"] = self.recipients.seal(email, kind=form.kind, reference=reference)
        items = [NewItem(item, SUBMISSION_GUARD)]
        if getattr(submission, "marketing_consent", False) and email and subject:
            items.append(self._consent_item(form, personal, subject, reference, now))
        return items

    def _claim_item(
        self, form: FormKind, claim: UniqueClaim, reference: str, subject: str | None, now: datetime
    ) -> NewItem:
        """The record that holds a unique key for the submission `reference`.

        It carries the subject hash, time and the kind's expiry, so that it is
        erased and expires together with the submission it belongs to.
        """
        item = {
            **claim.fields,
            "pk": claim.partition,
            "sk": claim.sort,
            "reference": reference,
            "created_at": timestamp(now),
            "expires_at": epoch(self.policy.expires_at(form.kind, now)),
            "subject_hash": subject,
        }
        return NewItem(item, claim.guard)

    def _consent_item(
        self, form: FormKind, personal: dict[str, Any], subject: str, source: str, now: datetime
    ) -> NewItem:
        """Each opt-in is its own record: the proof of when, where and under which notice."""
        reference = new_reference("CON", self.choose)
        contact = {"email": personal["email"], "name": personal.get("name")}
        item = {
            "pk": f"CONSENT#{subject}#{reference}",
            "sk": CONSENT_SORT_KEY,
            "kind": "consent",
            "reference": reference,
            "created_at": timestamp(now),
            "status": "opted-in",
            "expires_at": epoch(self.policy.expires_at("consent", now)),
            "subject_hash": subject,
            "personal": self.cipher.seal(contact, kind="consent", reference=reference),
            "fields": {
                "channel": "email",
                "given_at": timestamp(now),
                "source_form": form.kind,
                "source_reference": source,
                "notice_version": self.policy.notice_version,
            },
        }
        return NewItem(item, "consent")

    def _idempotency_item(
        self, form: FormKind, key: str, fingerprint: str, answer: dict[str, Any],
        subject: str | None, now: datetime,
    ) -> NewItem:
        """The record that makes a retry answer the first reference.

        It carries the subject hash and time so that erasing a person finds it
        through the by-subject index too.
        """
        item = {
            "pk": idempotency_partition(form.kind, key),
            "sk": IDEMPOTENCY_SORT_KEY,
            "created_at": timestamp(now),
            "subject_hash": subject,
            "reference": answer["reference"],
            "fingerprint": fingerprint,
            "answer": json.dumps(answer, separators=(",", ":")),
            "expires_at": epoch(self.policy.idempotency_expires_at(now)),
        }
        return NewItem(item, IDEMPOTENCY_GUARD)

    def _replay(
        self, form: FormKind, submission: Submission, key: str, fingerprint: str, now: datetime
    ) -> Receipt:
        record = self.table.get(
            idempotency_partition(form.kind, key), IDEMPOTENCY_SORT_KEY, now_epoch=epoch(now)
        )
        if record is None:
            # The first attempt's record expired between our write and this
            # read: its key is free again, so this attempt is a new one.
            return self.receive(form, submission, key)
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        return Receipt(record["reference"], json.loads(record["answer"]), replayed=True)

    def _fingerprint(self, form: FormKind, submission: Submission) -> str:
        """A keyed digest of the submission: compares retries without storing their content."""
        canonical = json.dumps(submission.model_dump(mode="json"), sort_keys=True)
        return self.hasher.digest(f"idempotency:{form.kind}:{canonical}".encode())


def idempotency_partition(kind: str, key: str) -> str:
    return f"IDEM#{kind}#{hashlib.sha256(key.encode()).hexdigest()}"


def timestamp(moment: datetime) -> str:
    """Sortable UTC time with microseconds: the created_at of every item."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def open_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value
