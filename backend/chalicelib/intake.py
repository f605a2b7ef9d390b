"""Receiving a submission: seal its personal fields, write it once, answer with a reference."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from chalicelib import items
from chalicelib.crypto import RecipientSeal, SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FormKind, Submission, UniqueClaim
from chalicelib.policy import DataPolicy
from chalicelib.references import Chooser, new_reference
from chalicelib.storage import NewItem, SubmissionTable, WriteConflict

SUBMISSION_GUARD = "submission"
IDEMPOTENCY_GUARD = "idempotency"
CONSENT_GUARD = "consent"
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
    screened_out: bool = False  # a decoy: answered as if stored, nothing stored


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
        # Only a retry with the same key compares fingerprints: without a key, none is needed.
        fingerprint = self._fingerprint(form, submission) if idempotency_key else ""
        claims = submission.unique_claims(now.date())
        for _ in range(REFERENCE_ATTEMPTS):
            reference = new_reference(form.reference_prefix, self.choose)
            answer = submission.answer(reference, now.date()).model_dump(mode="json")
            writes = self._items(form, submission, reference, now)
            subject = writes[0].item.get("subject_hash")
            writes[1:1] = [self._claim_item(form, claim, reference, subject, now) for claim in claims]
            if idempotency_key:
                # First in the transaction: when a retry also collides with its
                # own claims, the idempotency record is the conflict reported.
                writes.insert(
                    0, self._idempotency_item(form, idempotency_key, fingerprint, answer, subject, now)
                )
            try:
                self.table.create_all(writes)
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

    def _items(
        self, form: FormKind, submission: Submission, reference: str, now: datetime
    ) -> list[NewItem]:
        personal = items.personal_part(submission)
        email = personal.get("email")
        subject = subject_hash(self.hasher, email) if email else None
        item = items.submission_item(
            kind=form.kind, reference=reference, created=now, status=form.initial_status,
            expires=self.policy.expires_at(form.kind, now), subject=subject,
            sealed=self.cipher.seal(personal, kind=form.kind, reference=reference),
            fields=items.open_part(submission),
        )
        if email and self.recipients is not None:
            item[items.RECIPIENT_ATTRIBUTE] = self.recipients.seal(email, kind=form.kind, reference=reference)
        stored = [NewItem(item, SUBMISSION_GUARD)]
        if getattr(submission, "marketing_consent", False) and email and subject:
            stored.append(self._consent_item(form, personal, subject, reference, now))
        return stored

    def _claim_item(
        self, form: FormKind, claim: UniqueClaim, reference: str, subject: str | None, now: datetime
    ) -> NewItem:
        item = items.claim_item(
            guard=claim.guard, value=claim.value, fields=claim.fields, reference=reference,
            subject=subject, created=now, expires=self.policy.expires_at(form.kind, now),
        )
        return NewItem(item, claim.guard)

    def _consent_item(
        self, form: FormKind, personal: dict[str, Any], subject: str, source: str, now: datetime
    ) -> NewItem:
        reference = new_reference("CON", self.choose)
        contact = {name: personal.get(name) for name in items.CONSENT_CONTACT}
        item = items.consent_item(
            reference=reference, subject=subject,
            sealed=self.cipher.seal(contact, kind=items.CONSENT_KIND, reference=reference),
            created=now, expires=self.policy.expires_at(items.CONSENT_KIND, now),
            source_form=form.kind, source_reference=source, notice_version=self.policy.notice_version,
        )
        return NewItem(item, CONSENT_GUARD)

    def _idempotency_item(
        self, form: FormKind, key: str, fingerprint: str, answer: dict[str, Any],
        subject: str | None, now: datetime,
    ) -> NewItem:
        item = items.idempotency_item(
            kind=form.kind, key=key, fingerprint=fingerprint, answer=answer, subject=subject,
            created=now, expires=self.policy.idempotency_expires_at(now),
        )
        return NewItem(item, IDEMPOTENCY_GUARD)

    def _replay(
        self, form: FormKind, submission: Submission, key: str, fingerprint: str, now: datetime
    ) -> Receipt:
        record = self.table.get(*items.idempotency_key(form.kind, key), now_epoch=items.epoch(now))
        if record is None:
            # The first attempt's record expired between our write and this
            # read: its key is free again, so this attempt is a new one.
            return self.receive(form, submission, key)
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        return Receipt(record["reference"], items.replayed_answer(record), replayed=True)

    def _fingerprint(self, form: FormKind, submission: Submission) -> str:
        """A keyed digest of the submission: compares retries without storing their content."""
        canonical = json.dumps(submission.model_dump(mode="json"), sort_keys=True)
        return self.hasher.digest(f"idempotency:{form.kind}:{canonical}".encode())


def pretend(form: FormKind, submission: Submission, today: date, choose: Chooser) -> Receipt:
    """The answer a submission would get, with a fresh reference, storing nothing (for spam)."""
    reference = new_reference(form.reference_prefix, choose)
    answer = submission.answer(reference, today).model_dump(mode="json")
    return Receipt(reference, answer, screened_out=True)
