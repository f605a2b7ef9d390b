"""The public API's front desk: screen a post for spam, validate it, and only then store or look up.

Nothing here reaches AWS until the input is valid, so bad input is answered
with its errors even when the deployment cannot store anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.antispam import TOO_FAST_MESSAGE, Verdict, screen
from chalicelib.catalog import catalog
from chalicelib.forms import FormKind, WarrantyStatusQuery, validate
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.intake import Intake, Receipt, pretend
from chalicelib.references import Chooser
from chalicelib.warranty import WarrantyLookup
from chalicelib.web import FormPost


class TooFast(Exception):
    """Sent quicker than a person fills a form; the message asks to send it again."""

    def __init__(self) -> None:
        super().__init__(TOO_FAST_MESSAGE)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Reception:
    """Takes decoded posts; `connect` builds the intake (and its AWS clients) on first need."""

    connect: Callable[[Callable[[], datetime]], Intake]
    clock: Callable[[], datetime] = utc_now
    choose: Chooser = secrets.choice
    _intake: Intake | None = field(default=None, init=False, repr=False)

    @property
    def intake(self) -> Intake:
        if self._intake is None:
            # The intake reads this reception's clock, whatever it is set to later.
            self._intake = self.connect(lambda: self.clock())
        return self._intake

    def submit(self, form: FormKind, post: FormPost) -> Receipt:
        """Store one form post exactly once, or pretend to (spam); raises on bad input first."""
        verdict = screen(post)
        if verdict is Verdict.TOO_FAST:
            raise TooFast()
        today = self.clock().date()
        submission = validate(form.model, post.fields, today=today)
        if verdict is Verdict.DECOY:
            return pretend(form, submission, today, self.choose)
        return self.intake.receive(form, submission, post.idempotency_key)

    def warranty_status(self, post: FormPost) -> WarrantyStatus:
        query = validate(WarrantyStatusQuery, post.fields)
        intake = self.intake
        lookup = WarrantyLookup(intake.table, intake.hasher, catalog(), self.clock)
        return lookup.status(query.serial_number, query.email)
