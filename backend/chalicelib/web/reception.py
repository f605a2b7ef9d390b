"""The public API's front desk: screen a post for spam, validate it, and only then store or look up.

Nothing here reaches AWS until the input is valid, so bad input is answered
with its errors even when the deployment cannot store anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from chalicelib.cases.tracking import CaseTracker, NoSuchCase
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
from chalicelib.intake import uploads
from chalicelib.intake.receiving import Intake, Receipt, pretend
from chalicelib.intake.warranty import NoSuchWarranty, WarrantyLookup
from chalicelib.rules.catalog import catalog
from chalicelib.store.references import Chooser
from chalicelib.web.posts import SAME_SITE, FormPost, own_addresses_as_paths
from chalicelib.web.receipts import Thanks, read, sign
from chalicelib.web.screening import (
    CROSS_SITE_MESSAGE,
    PLAIN_POST_WINDOW_SECONDS,
    RATE_LIMITED_MESSAGE,
    TOO_FAST_MESSAGE,
    PlainPostLimits,
    Verdict,
    held_to_plain_rules,
    screen,
)

Q = TypeVar("Q", WarrantyStatusQuery, TrackQuery)


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


class CrossSite(Exception):
    """Not sent from our own site's pages (or saying nothing of where from, without a fill time)."""

    def __init__(self) -> None:
        super().__init__(CROSS_SITE_MESSAGE)


class RateLimited(Exception):
    """Too many posts without a fill time from one address; `retry_after` is in seconds."""

    retry_after = PLAIN_POST_WINDOW_SECONDS // 10

    def __init__(self) -> None:
        super().__init__(RATE_LIMITED_MESSAGE)


REFUSALS: dict[Verdict, type[Exception]] = {
    Verdict.TOO_FAST: TooFast, Verdict.CROSS_SITE: CrossSite, Verdict.RATE_LIMITED: RateLimited,
}


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
    limit: PlainPostLimits = field(default_factory=PlainPostLimits)
    _intake: Intake | None = field(default=None, init=False, repr=False)
    _receipt_key: bytes | None = field(default=None, init=False, repr=False)
    _tracker: CaseTracker | None = field(default=None, init=False, repr=False)

    @property
    def intake(self) -> Intake:
        if self._intake is None:
            # The intake reads this reception's clock, whatever it is set to later.
            self._intake = self.connect(lambda: self.clock())
        return self._intake

    def screen(self, post: FormPost, address: str, *, timed: bool = True) -> Verdict:
        """The spam verdict; refusals are raised (see chalicelib.web.screening)."""
        verdict = screen(post, self.limit, address, timed=timed)
        if verdict in REFUSALS:
            raise REFUSALS[verdict]()
        return verdict

    def submit(self, form: FormKind, post: FormPost, address: str = "") -> Receipt:
        """Store one form post exactly once, or pretend to (spam); raises on bad input first."""
        timed = not form.model.one_click
        verdict = self.screen(post, address, timed=timed)
        today = self.clock().date()
        fields = own_addresses_as_paths(post.fields, site_address_fields(form.model), post.site_origin)
        submission = validate(form.model, fields, today=today, form=post.from_browser_form)
        if verdict is Verdict.DECOY:
            receipt = pretend(form, submission, today, self.choose)
        else:
            receipt = self._store(form, submission, post)
            if timed and held_to_plain_rules(post) and not receipt.replayed:
                # Counted once taken: the tries before it (each a 400) and a repeat of it are not.
                self.limit.count_taken(address)
        return replace(receipt, returns_to=submission.returns_to())

    def _store(self, form: FormKind, submission: Submission, post: FormPost) -> Receipt:
        """Store with the uploads it names, each one this intake issued, unused and not expired."""
        upload_ids = getattr(submission, uploads.FIELD, None) or []
        try:
            named = uploads.resolve(self.intake.table, form.kind, upload_ids, self.clock())
        except InvalidSubmission:
            # A retry of a stored submission names uploads its first attempt used.
            replay = None
            if upload_ids and post.idempotency_key:
                replay = self.intake.replay_of(form, submission, post.idempotency_key)
            elif upload_ids and post.from_browser_form:
                replay = self.intake.replay_of_form_post(form, submission)
            if replay is None:
                raise
            return replay
        return self.intake.receive(
            form, submission, post.idempotency_key, named, from_browser_form=post.from_browser_form,
            language=post.language,
        )

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

    def screen_upload(self, post: FormPost) -> None:
        """An upload is asked for by the site's script while a form is being filled, so it has
        no fill time of its own: like a post without one, it must say it comes from our own
        site (Sec-Fetch-Site, or Origin against the site's origins), else CrossSite."""
        if post.site != SAME_SITE:
            raise CrossSite()

    def _look_up(self, post: FormPost, address: str, model: type[Q]) -> Q | None:
        """A look-up's query, or None for a decoy (answered as not found). It stores nothing,
        so a quick one (autofill) is not refused for its speed; where it comes from, the
        honeypot and the per-address limit still apply, before the query is validated."""
        try:
            verdict = self.screen(post, address)
        except TooFast:
            verdict = Verdict.GENUINE
        query: Q = validate(model, post.fields, form=post.from_browser_form)
        if verdict is Verdict.DECOY:
            return None
        if held_to_plain_rules(post):
            self.limit.count_taken(address)  # an answer given, found or not: a probe counts
        return query

    def warranty_status(self, post: FormPost, address: str = "") -> WarrantyStatus:
        query = self._look_up(post, address, WarrantyStatusQuery)
        if query is None:
            raise NoSuchWarranty()
        intake = self.intake
        lookup = WarrantyLookup(intake.table, intake.hasher, catalog(), self.clock)
        return lookup.status(query.serial_number, query.email)

    def track(self, post: FormPost, address: str = "") -> CaseProgress:
        """Where a case stands, for whoever knows its reference and the email given with it."""
        query = self._look_up(post, address, TrackQuery)
        if query is None:
            raise NoSuchCase()
        if self._tracker is None:
            assert self.connect_tracker is not None, "Reception(connect_tracker=...) is needed to track"
            self._tracker = self.connect_tracker(lambda: self.clock())
        return self._tracker.progress(query.reference, query.email, post.language)
