"""The public API's front desk: screen a post for spam, validate it, and only then store or look up.

Nothing here reaches AWS until the input is valid, so bad input is answered
with its errors even when the deployment cannot store anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.antispam import (
    CROSS_SITE_MESSAGE,
    PLAIN_POST_WINDOW_SECONDS,
    RATE_LIMITED_MESSAGE,
    TOO_FAST_MESSAGE,
    PlainPostLimit,
    Verdict,
    screen,
)
from chalicelib.catalog import catalog
from chalicelib.forms import FormKind, WarrantyStatusQuery, validate
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.intake import Intake, Receipt, pretend
from chalicelib.references import Chooser
from chalicelib.warranty import NoSuchWarranty, WarrantyLookup
from chalicelib.web import FormPost


class TooFast(Exception):
    """Sent quicker than a person fills a form; the message asks to send it again."""

    def __init__(self) -> None:
        super().__init__(TOO_FAST_MESSAGE)


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
    limit: PlainPostLimit = field(default_factory=PlainPostLimit)
    _intake: Intake | None = field(default=None, init=False, repr=False)

    @property
    def intake(self) -> Intake:
        if self._intake is None:
            # The intake reads this reception's clock, whatever it is set to later.
            self._intake = self.connect(lambda: self.clock())
        return self._intake

    def screen(self, post: FormPost, address: str) -> Verdict:
        """The spam verdict; refusals are raised (see chalicelib.antispam)."""
        verdict = screen(post, self.limit, address)
        if verdict in REFUSALS:
            raise REFUSALS[verdict]()
        return verdict

    def submit(self, form: FormKind, post: FormPost, address: str = "") -> Receipt:
        """Store one form post exactly once, or pretend to (spam); raises on bad input first."""
        verdict = self.screen(post, address)
        today = self.clock().date()
        submission = validate(form.model, post.fields, today=today, form=post.from_browser_form)
        if verdict is Verdict.DECOY:
            return pretend(form, submission, today, self.choose)
        return self.intake.receive(
            form, submission, post.idempotency_key, from_browser_form=post.from_browser_form
        )

    def warranty_status(self, post: FormPost, address: str = "") -> WarrantyStatus:
        """A look-up stores nothing, so a quick one (autofill) is not refused for its speed;
        where it comes from, the honeypot and the per-address limit still apply."""
        try:
            verdict = self.screen(post, address)
        except TooFast:
            verdict = Verdict.GENUINE
        query = validate(WarrantyStatusQuery, post.fields, form=post.from_browser_form)
        if verdict is Verdict.DECOY:
            raise NoSuchWarranty()
        intake = self.intake
        lookup = WarrantyLookup(intake.table, intake.hasher, catalog(), self.clock)
        return lookup.status(query.serial_number, query.email)
