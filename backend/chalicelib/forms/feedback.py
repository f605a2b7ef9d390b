"""Forms that tell us how we are doing: satisfaction ratings and "Was this page helpful?" votes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from chalicelib.forms.core import Submission
from chalicelib.forms.fields import (
    AspectRating,
    OptionalFreeText,
    Rating,
    ReferenceText,
    SitePath,
    blank_is_missing,
    optional_free_text,
    yes_or_no,
)


class Feedback(Submission):
    """Satisfaction ratings from 1 (very dissatisfied) to 5 (very satisfied)."""

    product_quality: AspectRating = Field(default=None, title="Product quality")
    staff_attitude: AspectRating = Field(default=None, title="Staff attitude")
    speed_of_service: AspectRating = Field(default=None, title="Speed of service")
    keeping_promises: AspectRating = Field(default=None, title="Keeping promises")
    overall: Rating = Field(title="Overall, how satisfied are you?")
    comment: OptionalFreeText = optional_free_text("Anything else you would like to tell us? (optional)")
    case_reference: Annotated[ReferenceText | None, BeforeValidator(blank_is_missing)] = Field(
        default=None,
        title="Case or order reference (optional)",
        description="If this is about a case or an order, its reference helps us look into it.",
    )
    page: Annotated[SitePath | None, BeforeValidator(blank_is_missing)] = Field(
        default=None, title="Page (optional)", description="The page of this site it is about, if any."
    )

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            "product_quality": 5,
            "staff_attitude": 4,
            "speed_of_service": 3,
            "keeping_promises": 4,
            "overall": 4,
            "comment": "Quick repair, but the first visit was rescheduled.",
            "case_reference": "ENQ-7K3M-Q9XD",
        }


class PageFeedback(Submission):
    """One reader's answer to "Was this page helpful?"."""

    page: SitePath = Field(title="Page", description="The path of the page, like /guides/aura-book-14/.")
    helpful: Annotated[bool, BeforeValidator(yes_or_no)] = Field(
        title="Was this page helpful?",
        json_schema_extra={"x-widget": "radio", "x-labels": {"true": "Yes", "false": "No"}},
    )
    comment: Annotated[Annotated[str, Field(max_length=1000)] | None, BeforeValidator(blank_is_missing)] = (
        optional_free_text("What could make this page better? (optional)")
    )

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            "page": "/guides/aura-book-14/",
            "helpful": False,
            "comment": "Show where the reset button is.",
        }
