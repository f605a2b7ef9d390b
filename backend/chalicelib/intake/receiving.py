"""Receiving a submission: seal its personal fields, write it once, answer with a reference."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.cases import follow_up
from chalicelib.crypto.keys import RecipientSeal, SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FormKind, Submission, UniqueClaim
from chalicelib.intake.uploads import ATTACHMENT_GUARD, attach, used_by_another
from chalicelib.languages import SOURCE_LANGUAGE
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.policy import DataPolicy
from chalicelib.store import items
from chalicelib.store.references import Chooser, new_reference
from chalicelib.store.table import (
    ItemChange,
    NewItem,
    StorageUnavailable,
    SubmissionTable,
    WriteConflict,
)

SUBMISSION_GUARD = "submission"
IDEMPOTENCY_GUARD = "idempotency"
# Each consent a form's tick box records, and the box.
CONSENT_BOXES = ((items.CONSENT_KIND, "marketing_consent"), (items.FOLLOW_UP_KIND, "follow_up_consent"))
REFERENCE_ATTEMPTS = 3
FORM_WINDOW_SECONDS = 15 * 60  # a plain HTML form post's derived key lasts this window and the next


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different submission."""


class AlreadyClaimed(Exception):
    """Another submission holds a key this one needed (a serial number already registered).

    The message is written for the customer and says nothing about the other submission.
    """

    def __init__(self, message: str, claim: UniqueClaim | None = None):
        super().__init__(message)
        self.message = message
        self.claim = claim  # what was claimed: the answer offers a way to contest it

    @property
    def field_name(self) -> str:
        """The form field that holds the taken value (where the message is shown)."""
        return self.claim.field_name if self.claim is not None else ""


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
        uploads: Sequence[dict[str, Any]] = (), *, from_browser_form: bool = False,
        language: str = SOURCE_LANGUAGE,
    ) -> Receipt:
        """Store one submission exactly once and answer with its reference.

        With an idempotency key, a retry of the same submission answers the
        first reference and stores nothing; the same key with a different
        submission is refused. A plain HTML form post without one gets a key
        derived from its content (see `_form_key`). `language`: the customer's, which
        their emails are written in (stored beside the open fields; not personal).

        The reference is chosen before the first attempt and kept: botocore
        retries a write that timed out or got a 5xx, and such a write may have
        been applied. A conditional failure on our own reference is therefore
        settled by reading the stored item and comparing content fingerprints
        (same: it is ours, success), never by storing again under a new one.
        """
        now = self.clock()
        follow_up.check_link(self.hasher, submission, now)
        # Always: a write that may have been applied is recognised by it (see `_settle`).
        fingerprint = self._fingerprint(form, submission)
        if idempotency_key is None and from_browser_form:
            idempotency_key, earlier = self._form_key(form, fingerprint, now)
            if earlier is not None:
                return earlier
        for _ in range(REFERENCE_ATTEMPTS):
            reference = new_reference(form.reference_prefix, self.choose)
            writes, answer = self._writes(
                form, submission, reference, fingerprint, idempotency_key, now, uploads, language
            )
            try:
                self.table.create_all(writes)
            except WriteConflict as conflict:
                receipt = self._settle(
                    form, submission, conflict, reference, fingerprint, idempotency_key, now, uploads
                )
                if receipt is None:
                    continue  # another submission holds this reference: a true collision
                return receipt
            return Receipt(reference, answer)
        # 30^8 references: three collisions in a row mean the table is not answering truthfully.
        raise StorageUnavailable("no free reference after repeated collisions")

    def _writes(
        self, form: FormKind, submission: Submission, reference: str, fingerprint: str,
        idempotency_key: str | None, now: datetime, uploads: Sequence[dict[str, Any]],
        language: str = SOURCE_LANGUAGE,
    ) -> tuple[list[NewItem | ItemChange], dict[str, Any]]:
        answer = submission.answer(reference, now.date()).model_dump(mode="json")
        stored = self._items(form, submission, reference, fingerprint, now, language)
        subject = stored[0].item.get("subject_hash")
        claims = submission.unique_claims(now.date())
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
        return writes, answer

    def _settle(
        self, form: FormKind, submission: Submission, conflict: WriteConflict, reference: str,
        fingerprint: str, idempotency_key: str | None, now: datetime,
        uploads: Sequence[dict[str, Any]],
    ) -> Receipt | None:
        """What a conditional failure means: a replay, our own applied write, or a refusal.

        None: the reference belongs to another submission; try another.
        """
        if conflict.guard == IDEMPOTENCY_GUARD and idempotency_key:
            return self._replay(form, submission, idempotency_key, fingerprint, now, uploads)
        if conflict.guard == SUBMISSION_GUARD:
            return self._ours(submission, reference, fingerprint, now)
        if conflict.guard == ATTACHMENT_GUARD:
            raise used_by_another() from None
        for claim in submission.unique_claims(now.date()):
            if conflict.guard == claim.guard:
                # A retry without a key after an answer that was lost (a 503 for a write
                # that was applied) finds its own claim: the same content under the claim's
                # reference is that submission, answered again; anyone else is refused.
                holder = self.table.get(*items.claim_key(claim.guard, claim.value),
                                        now_epoch=items.epoch(now), attributes=("reference",))
                if holder is not None and holder.get("reference"):
                    ours = self._ours(submission, str(holder["reference"]), fingerprint, now)
                    if ours is not None:
                        return ours
                raise AlreadyClaimed(claim.conflict_message, claim) from None
        raise conflict

    def _ours(
        self, submission: Submission, reference: str, fingerprint: str, now: datetime
    ) -> Receipt | None:
        """The receipt of the stored submission `reference` if it is this very content, else None."""
        stored = self.table.get(
            *items.submission_key(reference), now_epoch=items.epoch(now), attributes=("fingerprint",)
        )
        if stored is None or stored.get("fingerprint") != fingerprint:
            return None
        return Receipt(reference, submission.answer(reference, now.date()).model_dump(mode="json"))

    def _form_key(
        self, form: FormKind, fingerprint: str, now: datetime
    ) -> tuple[str, Receipt | None]:
        """The idempotency key of a plain HTML form post, and the earlier receipt if any.

        A page served from the CDN is the same for everyone and runs no script,
        so it cannot carry a key of its own; a key issued with each page would
        need a server round trip per page view. Instead the key is the content's
        keyed fingerprint and a 15-minute window: a double click, the browser
        re-sending after a timeout or Back-and-send-again give one reference,
        while the same words sent again later are a new submission. The window
        before this one is read too, so a repeat just after a boundary still
        finds the first.
        """
        window = int(now.timestamp()) // FORM_WINDOW_SECONDS
        previous = items.idempotency_key(form.kind, f"form:{window - 1}:{fingerprint}")
        record = self.table.get(*previous, now_epoch=items.epoch(now))
        earlier = None
        if record is not None and record.get("fingerprint") == fingerprint:
            earlier = Receipt(record["reference"], items.replayed_answer(record), replayed=True)
        return f"form:{window}:{fingerprint}", earlier

    def _items(
        self, form: FormKind, submission: Submission, reference: str, fingerprint: str, now: datetime,
        language: str = SOURCE_LANGUAGE,
    ) -> list[NewItem]:
        personal = items.personal_part(submission)
        email = personal.get("email")
        subject = subject_hash(self.hasher, email) if email else None
        item = items.submission_item(
            kind=form.kind, reference=reference, created=now, status=form.initial_status,
            expires=self.policy.expires_at(form.kind, now), subject=subject,
            sealed=self.cipher.seal(personal, kind=form.kind, reference=reference),
            fields=items.open_part(submission), fingerprint=fingerprint,
            queue=form.kind if form.kind in case_policy().lifecycles else None, language=language,
        )
        if email and self.recipients is not None:
            item[items.RECIPIENT_ATTRIBUTE] = self.recipients.seal(email, kind=form.kind, reference=reference)
        opt_ins = [
            self._opt_in(personal, consent_kind) for consent_kind, ticked in CONSENT_BOXES
            if getattr(submission, ticked, False) and email and subject
        ]
        if opt_ins:
            # Recorded from the stream (chalicelib.notify.consents): the request writes one item, not a
            # transaction, and the opt-in is as durable as the submission that carries it.
            item[items.OPT_INS_ATTRIBUTE] = opt_ins
        return [NewItem(item, SUBMISSION_GUARD)]

    def _claim_item(
        self, form: FormKind, claim: UniqueClaim, reference: str, subject: str | None, now: datetime
    ) -> NewItem:
        item = items.claim_item(
            guard=claim.guard, value=claim.value, fields=claim.fields, reference=reference,
            subject=subject, created=now, expires=self.policy.expires_at(form.kind, now),
        )
        return NewItem(item, claim.guard)

    def _opt_in(self, personal: dict[str, Any], consent_kind: str) -> dict[str, Any]:
        """One ticked consent box: its record's reference and the contact sealed for it."""
        reference = new_reference("CON", self.choose)
        contact = {name: personal.get(name) for name in items.CONSENT_CONTACT}
        return items.opt_in(
            kind=consent_kind, reference=reference, notice_version=self.policy.notice_version,
            sealed=self.cipher.seal(contact, kind=consent_kind, reference=reference),
        )

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

    def replay_of_form_post(self, form: FormKind, submission: Submission) -> Receipt | None:
        """The first answer to this plain HTML form post in its key's window (see `_form_key`)."""
        fingerprint = self._fingerprint(form, submission)
        window = int(self.clock().timestamp()) // FORM_WINDOW_SECONDS
        for key in (f"form:{window}:{fingerprint}", f"form:{window - 1}:{fingerprint}"):
            replay = self.replay_of(form, submission, key)
            if replay is not None:
                return replay
        return None

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
        return content_fingerprint(self.hasher, form.kind, submission)


def content_fingerprint(hasher: SubjectHasher, kind: str, submission: Submission) -> str:
    """A keyed digest of the submission: compares retries without storing their content."""
    canonical = json.dumps(submission.model_dump(mode="json"), sort_keys=True)
    return hasher.digest(f"idempotency:{kind}:{canonical}".encode())


def pretend(form: FormKind, submission: Submission, today: date, choose: Chooser) -> Receipt:
    """The answer a submission would get, with a fresh reference, storing nothing (for spam)."""
    reference = new_reference(form.reference_prefix, choose)
    answer = submission.answer(reference, today).model_dump(mode="json")
    return Receipt(reference, answer, screened_out=True)
