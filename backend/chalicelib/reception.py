"""The public API's front desk: screen a post for spam, validate it, and only then store or look up.

Nothing here reaches AWS until the input is valid, so bad input is answered
with its errors even when the deployment cannot store anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from chalicelib import uploads
from chalicelib.antispam import TOO_FAST_MESSAGE, Verdict, screen
from chalicelib.catalog import catalog
from chalicelib.forms import (
    FormKind,
    InvalidSubmission,
    Submission,
    TrackQuery,
    WarrantyStatusQuery,
    validate,
)
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.forms.feedback import SITE_ADDRESS
from chalicelib.forms.tracking import CaseProgress
from chalicelib.intake import Intake, Receipt, pretend
from chalicelib.receipts import Thanks, read, sign
from chalicelib.references import Chooser
from chalicelib.tracking import CaseTracker
from chalicelib.warranty import WarrantyLookup
from chalicelib.web import FormPost, own_addresses_as_paths


class TooFast(Exception):
    """Sent quicker than a person fills a form; the message asks to send it again."""

    def __init__(self) -> None:
        super().__init__(TOO_FAST_MESSAGE)


def site_address_fields(model: type[Submission]) -> tuple[str, ...]:
    """The fields that take an address on this site (marked in the model's schema)."""
    return tuple(
        name for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(SITE_ADDRESS)
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Reception:
    """Takes decoded posts; `connect` builds the intake (and its AWS clients) on first need."""

    connect: Callable[[Callable[[], datetime]], Intake]
    clock: Callable[[], datetime] = utc_now
    choose: Chooser = secrets.choice
    # Builds the case tracker (its own key access: customer messages only) on first need.
    connect_tracker: Callable[[Callable[[], datetime]], CaseTracker] | None = None
    _intake: Intake | None = field(default=None, init=False, repr=False)
    _receipt_key: bytes | None = field(default=None, init=False, repr=False)
    _tracker: CaseTracker | None = field(default=None, init=False, repr=False)

    @property
    def intake(self) -> Intake:
        if self._intake is None:
            # The intake reads this reception's clock, whatever it is set to later.
            self._intake = self.connect(lambda: self.clock())
        return self._intake

    def submit(self, form: FormKind, post: FormPost) -> Receipt:
        """Store one form post exactly once, or pretend to (spam); raises on bad input first."""
        verdict = screen(post, timed=not form.model.one_click)
        if verdict is Verdict.TOO_FAST:
            raise TooFast()
        today = self.clock().date()
        fields = own_addresses_as_paths(post.fields, site_address_fields(form.model), post.site_origin)
        submission = validate(form.model, fields, today=today)
        if verdict is Verdict.DECOY:
            receipt = pretend(form, submission, today, self.choose)
        else:
            receipt = self._store(form, submission, post)
        return replace(receipt, returns_to=submission.returns_to())

    def _store(self, form: FormKind, submission: Submission, post: FormPost) -> Receipt:
        """Store with the uploads it names, each one this intake issued, unused and not expired."""
        upload_ids = getattr(submission, uploads.FIELD, None) or []
        try:
            named = uploads.resolve(self.intake.table, form.kind, upload_ids, self.clock())
        except InvalidSubmission:
            # A retry of a stored submission names uploads its first attempt used.
            replay = self.intake.replay_of(form, submission, post.idempotency_key) if (
                post.idempotency_key and upload_ids) else None
            if replay is None:
                raise
            return replay
        return self.intake.receive(form, submission, post.idempotency_key, named)

    @property
    def receipt_key(self) -> bytes:
        """The thank-you receipts' HMAC key, derived from the subject key (KMS in AWS; locally the
        key file under the local key folder, so receipts outlive a restart), once per process."""
        if self._receipt_key is None:
            self._receipt_key = self.intake.hasher.digest(b"receipt:signing-key").encode()
        return self._receipt_key

    def sign_thanks(self, kind: str, receipt: Receipt) -> str:
        return sign(self.receipt_key, Thanks(kind, receipt.answer), self.clock())

    def thanks(self, receipt: str) -> Thanks:
        """What a thank-you receipt carries; raises NoReceipt for a forged, altered or old one."""
        return read(self.receipt_key, receipt, self.clock())

    def warranty_status(self, post: FormPost) -> WarrantyStatus:
        query = validate(WarrantyStatusQuery, post.fields)
        intake = self.intake
        lookup = WarrantyLookup(intake.table, intake.hasher, catalog(), self.clock)
        return lookup.status(query.serial_number, query.email)

    def track(self, post: FormPost) -> CaseProgress:
        """Where a case stands, for whoever knows its reference and the email given with it."""
        query = validate(TrackQuery, post.fields)
        if self._tracker is None:
            assert self.connect_tracker is not None, "Reception(connect_tracker=...) is needed to track"
            self._tracker = self.connect_tracker(lambda: self.clock())
        return self._tracker.progress(query.reference, query.email)
