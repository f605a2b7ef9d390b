"""Tracking a request: what the customer gives (reference and email) and what the page shows back."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from chalicelib.forms.answers import Answer
from chalicelib.forms.core import Submission
from chalicelib.forms.fields import Email
from chalicelib.languages import N_
from chalicelib.store.references import REFERENCE_PATTERN

# What may be typed for one: a reference in either case, with spaces around it.
_CHARACTER = "[2-9A-HJKMNP-TV-Za-hjkmnp-tv-z]"
REFERENCE_INPUT = rf"^[ \t\r\n]*[A-Za-z]{{2,4}}-{_CHARACTER}{{4}}-{_CHARACTER}{{4}}[ \t\r\n]*$"


def _tidy_reference(value: str) -> str:
    """People copy references with spaces around them or type them in lower case."""
    reference = value.strip().upper()
    if not REFERENCE_PATTERN.fullmatch(reference):
        raise ValueError(N_("Enter the reference as it is in your email, like CMP-7K3M-Q9XD."))
    return reference


Reference = Annotated[
    str,
    Field(
        max_length=20, title="Reference",
        description="From your confirmation email, for example CMP-7K3M-Q9XD.",
        json_schema_extra={"x-autocomplete": "off", "pattern": REFERENCE_INPUT},
    ),
    AfterValidator(_tidy_reference),
]


class TrackQuery(Submission):
    """A reference and the email address given with it: neither alone reveals anything."""

    reference: Reference
    email: Email = Field(title="Email address", description="The address you gave on the form.")

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {"reference": "CMP-7K3M-Q9XD", "email": "hal.ito@example.com"}


class Step(Answer):
    on: date = Field(title="Date")
    words: str = Field(title="What happened")


class CustomerMessage(Answer):
    on: date = Field(title="Date")
    message: str = Field(title="Our message to you")


class CaseProgress(Answer):
    """Where a request stands, in plain words: nothing staff noted for themselves."""

    reference: str = Field(title="Reference")
    kind: str = Field(title="Kind of request", examples=["complaint"])
    title: str = Field(title="What it is", examples=["Complaint"])
    status: str = Field(title="Status", examples=["acknowledged"])
    status_words: str = Field(title="Where it stands")
    received_on: date = Field(title="Received on")
    updated_on: date = Field(title="Last changed on")
    handler: str | None = Field(default=None, title="Who is handling it (first name)")
    visit_window: str | None = Field(default=None, title="Visit window")
    next_step: str = Field(title="What happens next")
    next_step_due_on: date | None = Field(default=None, title="We promised the next step by")
    closed: bool = Field(title="Closed")
    steps: list[Step] = Field(title="What has happened so far")
    messages: list[CustomerMessage] = Field(title="Messages for you")
