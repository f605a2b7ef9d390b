"""The intake forms: one model per kind, the single definition of each form's fields.

The OpenAPI document, the site's HTML forms and the staff export's columns are
all derived from these models. Field metadata that only the site needs (labels,
hints, widgets, autocomplete) travels in the JSON schema as `x-` keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ().-]{5,22}$")


def _blank_is_missing(value: Any) -> Any:
    """An empty text box in a plain HTML form posts ''; treat it as not given."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _check_email(value: str) -> str:
    if len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
        raise ValueError("Enter an email address like name@example.com.")
    return value


def _check_phone(value: str) -> str:
    if not PHONE_PATTERN.fullmatch(value):
        raise ValueError("Enter a phone number using digits, spaces and an optional leading +.")
    return value


def personal(**ui: Any) -> dict[str, Any]:
    """Schema extras for a field that holds personal data (encrypted at rest)."""
    return {"x-personal": True, **ui}


Email = Annotated[
    str,
    Field(
        max_length=254,
        title="Email address",
        description="We reply to this address and never share it.",
        json_schema_extra=personal(**{"x-autocomplete": "email", "x-input-type": "email"}),
    ),
    AfterValidator(_check_email),
]
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=120,
        title="Your name",
        json_schema_extra=personal(**{"x-autocomplete": "name"}),
    ),
]
Phone = Annotated[
    Annotated[str, Field(max_length=24), AfterValidator(_check_phone)] | None,
    BeforeValidator(_blank_is_missing),
    Field(
        title="Phone number (optional)",
        description="Only if you would like us to call you.",
        json_schema_extra=personal(**{"x-autocomplete": "tel", "x-input-type": "tel"}),
    ),
]
OrderReference = Annotated[
    Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /#.-]*$")] | None,
    BeforeValidator(_blank_is_missing),
    Field(
        title="Order or product reference (optional)",
        description="From your receipt or the label on the product.",
    ),
]
MarketingConsent = Annotated[
    bool,
    # An unticked checkbox is simply absent from a plain HTML form post.
    BeforeValidator(lambda v: False if v is None or v == "" else v),
    Field(
        title="Send me product news and offers by email",
        description="Optional. You can stop them at any time.",
        json_schema_extra={"x-widget": "checkbox"},
    ),
]


class Submission(BaseModel):
    """What every form shares: strict about unknown fields, tidy about spaces."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def personal_fields(cls) -> tuple[str, ...]:
        return tuple(
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("x-personal")
        )

    @classmethod
    def open_fields(cls) -> tuple[str, ...]:
        personal_names = set(cls.personal_fields())
        return tuple(name for name in cls.model_fields if name not in personal_names)


class Enquiry(Submission):
    """A question to the help desk."""

    name: Name
    email: Email
    phone: Phone = None
    topic: Literal[
        "product-use",
        "technical-support",
        "installation",
        "warranty",
        "returns",
        "maintenance-contract",
        "other",
    ] = Field(
        title="What is it about?",
        json_schema_extra={
            "x-labels": {
                "product-use": "Using a product",
                "technical-support": "Technical support",
                "installation": "Installation",
                "warranty": "Warranty",
                "returns": "Returns and exchanges",
                "maintenance-contract": "Annual maintenance contract",
                "other": "Something else",
            }
        },
    )
    message: str = Field(
        min_length=1,
        max_length=5000,
        title="Your message",
        json_schema_extra=personal(**{"x-widget": "textarea"}),
    )
    order_reference: OrderReference = None
    marketing_consent: MarketingConsent = False


@dataclass(frozen=True)
class FormKind:
    """How one kind of submission is received: its route, model and reference prefix."""

    kind: str
    path: str
    model: type[Submission]
    reference_prefix: str
    title: str
    initial_status: str = "received"


FORMS: dict[str, FormKind] = {
    form.kind: form
    for form in (
        FormKind("enquiry", "/enquiries", Enquiry, "ENQ", "Enquiry"),
    )
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidSubmission(Exception):
    """The submission broke one or more rules; `errors` names every field."""

    def __init__(self, errors: list[FieldError]):
        super().__init__(f"{len(errors)} field(s) failed validation")
        self.errors = errors


def validate(model: type[Submission], payload: Any) -> Submission:
    """Validate a decoded body, or raise InvalidSubmission naming every failing field.

    Messages are written for people and never repeat what was sent, so no
    personal data can travel back in an error.
    """
    if not isinstance(payload, dict):
        raise InvalidSubmission([FieldError("", "Send the form's fields as a JSON object.")])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidSubmission(_readable_errors(model, exc)) from None


def _readable_errors(model: type[Submission], exc: ValidationError) -> list[FieldError]:
    errors: dict[str, FieldError] = {}
    for error in exc.errors(include_input=False, include_url=False):
        location = error["loc"]
        field = str(location[0]) if location else ""
        if field in errors:
            continue
        errors[field] = FieldError(field, _message_for(model, field, error))
    return list(errors.values())


def _message_for(model: type[Submission], field: str, error: Any) -> str:
    info = model.model_fields.get(field)
    label = (info.title if info and info.title else field.replace("_", " ")).removesuffix(
        " (optional)"
    )
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"'{field}' is not a field of this form."
    if kind in ("missing", "string_too_short"):
        return f"Answer “{label}”." if label.endswith("?") else f"{label} is required."
    if kind == "string_too_long":
        return f"{label} must be at most {context.get('max_length')} characters."
    if kind == "literal_error":
        return f"{label} — choose one of {context.get('expected')}."
    if kind == "string_pattern_mismatch":
        return f"{label} has characters we cannot accept."
    if kind in ("bool_type", "bool_parsing"):
        return f"{label} must be yes or no."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{label} must be a whole number."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = " and ".join(str(v) for v in context.values())
        return f"{label} must be within {bounds}."
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return f"{label} must be a date like 2026-01-31."
    if kind == "string_type":
        return f"{label} must be text."
    if kind == "value_error":
        return str(context.get("error", "")) or f"{label} is not valid."
    return f"{label} is not valid."
