"""Receiving a submission: seal its personal fields, write it once, answer with a reference."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from chalicelib import items
from chalicelib.crypto import RecipientSeal, SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FormKind, Submission, UniqueClaim
from chalicelib.lifecycles import case_policy
from chalicelib.policy import DataPolicy
from chalicelib.references import Chooser, new_reference
from chalicelib.storage import ItemChange, NewItem, SubmissionTable, WriteConflict
from chalicelib.uploads import ATTACHMENT_GUARD, attach, used_by_another

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

    def __init__(self, message: str, field_name: str = ""):
        super().__init__(message)
        self.message = message
        self.field_name = field_name  # the form field that holds the taken value


@dataclass(frozen=True)
class Receipt:
    reference: str
    answer: dict[str, Any]
    replayed: bool = False
    screened_out: bool = False  # a decoy: answered as if stored, nothing stored
    returns_to: str | None = None  # a form that thanks on its own page: where a plain post goes back


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
        self, form: FormKind, submission: Submission, idempotency_key: str | None = None,
        uploads: Sequence[dict[str, Any]] = (),
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
            stored = self._items(form, submission, reference, now)
            subject = stored[0].item.get("subject_hash")
            writes: list[NewItem | ItemChange] = [*stored]
            writes[1:1] = [self._claim_item(form, claim, reference, subject, now) for claim in claims]
            writes.extend(attach(
                uploads, reference=reference, subject=subject, now=now,
                expires=self.policy.expires_at(form.kind, now),
            ))
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
                    return self._replay(form, submission, idempotency_key, fingerprint, now, uploads)
                if conflict.guard == SUBMISSION_GUARD:
                    continue
                if conflict.guard == ATTACHMENT_GUARD:
                    raise used_by_another() from None
                for claim in claims:
                    if conflict.guard == claim.guard:
                        raise AlreadyClaimed(claim.conflict_message, claim.field_name) from None
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
            queue=form.kind if form.kind in case_policy().lifecycles else None,
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

    def replay_of(self, form: FormKind, submission: Submission, key: str) -> Receipt | None:
        """The first answer to this very submission under this key, if it was stored."""
        record = self.table.get(*items.idempotency_key(form.kind, key), now_epoch=items.epoch(self.clock()))
        if record is None or record["fingerprint"] != self._fingerprint(form, submission):
            return None
        return Receipt(record["reference"], items.replayed_answer(record), replayed=True)

    def _replay(
        self, form: FormKind, submission: Submission, key: str, fingerprint: str, now: datetime,
        uploads: Sequence[dict[str, Any]] = (),
    ) -> Receipt:
        record = self.table.get(*items.idempotency_key(form.kind, key), now_epoch=items.epoch(now))
        if record is None:
            # The first attempt's record expired between our write and this
            # read: its key is free again, so this attempt is a new one.
            return self.receive(form, submission, key, uploads)
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
