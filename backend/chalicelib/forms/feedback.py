"""Forms that tell us how we are doing: satisfaction ratings and "Was this page helpful?" votes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from chalicelib.forms.answers import Accepted
from chalicelib.forms.core import Submission
from chalicelib.forms.fields import (
    SITE_PATH_PATTERN,
    AspectRating,
    OptionalFreeText,
    Rating,
    ReferenceText,
    SitePath,
    blank_is_missing,
    optional_free_text,
    yes_or_no,
)
from chalicelib.languages import N_
from chalicelib.store.references import SIGNED_LINK_PATTERN

# A field that takes an address on this site: the front desk turns one pasted
# with the site's own origin (https://...) into its path before validation.
SITE_ADDRESS = "x-site-address"
NOT_OUR_ADDRESS = N_(
    "That address is not on this site. Paste the address of one of our pages, "
    "or type the page's title."
)
PageOrTitle = Annotated[str, Field(max_length=200)]
FollowUpToken = Annotated[str, Field(max_length=120, pattern=SIGNED_LINK_PATTERN)]
SCHEME_OR_HOST = re.compile(r"^([a-z][a-z0-9+.-]*:|//|www\.)", re.IGNORECASE)


def page_or_title(value: Any, info: ValidationInfo) -> Any:
    """A path on this site (/guides/...) or a page's title in plain words; any other address is refused."""
    value = blank_is_missing(value, info)
    if not isinstance(value, str):
        return value
    value = value.strip()
    if SCHEME_OR_HOST.match(value):
        raise ValueError(NOT_OUR_ADDRESS)
    if value.startswith("/") and not re.fullmatch(SITE_PATH_PATTERN, value.split("?")[0].split("#")[0]):
        raise ValueError(NOT_OUR_ADDRESS)
    if any(ord(character) < 32 for character in value):
        raise ValueError(N_("The page's title must be on one line."))
    return value


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
    page: Annotated[PageOrTitle | None, BeforeValidator(page_or_title)] = Field(
        default=None, title="Page (optional)",
        description="The page of this site it is about, if any: paste its address or type its title.",
        json_schema_extra={SITE_ADDRESS: True},
    )
    # Carried by the link in the email that asks how we did (chalicelib.cases.follow_up):
    # signed for one case, it is what ties this rating to that case. A hidden field.
    follow_up_token: Annotated[FollowUpToken | None, BeforeValidator(blank_is_missing)] = Field(
        default=None, title="The link from our email asking how we did",
        description="Filled in by that link; it ties your rating to your request.",
        json_schema_extra={"x-widget": "hidden"},
    )

    @model_validator(mode="after")
    def _the_link_names_its_case(self) -> Feedback:
        """A link's case goes in the case reference when that was left blank; the intake checks
        the link's signature and that a reference typed in agrees with it."""
        if self.follow_up_token and not self.case_reference:
            self.case_reference = self.follow_up_token.split(".", 1)[0]
        return self

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


# Where a page's own thanks show after a plain (no-JavaScript) post: the page
# shows the element with this id when it is the address's fragment (CSS
# :target), so the reader stays on the page. overrides/partials/page-helpful.html
# draws these three.
THANKS_FOR_YES = "af-helpful-yes"
ASK_WHAT_WAS_MISSING = "af-helpful-no"
THANKS_FOR_COMMENT = "af-helpful-sent"


class VoteCounted(Accepted):
    """A page vote or its comment, and which of the page's notes to show the reader."""

    thanks_at: str = Field(
        title="The id of the page's note to show",
        examples=[ASK_WHAT_WAS_MISSING],
        description="Without JavaScript the browser returns to the page at this #fragment.",
    )


class PageFeedback(Submission):
    """One reader's answer to "Was this page helpful?", or what was missing, sent after a No."""

    one_click: ClassVar[bool] = True
    answer_model: ClassVar[type[Accepted]] = VoteCounted

    page: SitePath = Field(title="Page", description="The path of the page, like /guides/aura-book-14/.")
    helpful: Annotated[bool, BeforeValidator(yes_or_no)] = Field(
        title="Was this page helpful?",
        json_schema_extra={"x-widget": "radio", "x-labels": {"true": "Yes", "false": "No"}},
    )
    comment: Annotated[Annotated[str, Field(max_length=1000)] | None, BeforeValidator(blank_is_missing)] = (
        optional_free_text("What was missing? (optional)")
    )
    follows_vote: Annotated[bool, BeforeValidator(yes_or_no)] = Field(
        default=False,
        title="A comment on a vote already counted",
        description="True when this only adds what was missing to the reader's earlier No: not a vote.",
    )

    @model_validator(mode="after")
    def _a_follow_up_says_something(self) -> PageFeedback:
        if self.follows_vote and not self.comment:
            raise ValueError(N_("Write what was missing, or leave it: your vote is already counted."))
        return self

    def thanks_at(self) -> str:
        if self.follows_vote:
            return THANKS_FOR_COMMENT
        return THANKS_FOR_YES if self.helpful else ASK_WHAT_WAS_MISSING

    def answer(self, reference: str, today: date) -> VoteCounted:
        return VoteCounted(reference=reference, thanks_at=self.thanks_at())

    def returns_to(self) -> str:
        return f"{self.page}#{self.thanks_at()}"

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            "page": "/guides/aura-book-14/",
            "helpful": False,
            "comment": "Show where the reset button is.",
        }
