"""What every form shares: the base model, how it is received, and readable validation errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo

from chalicelib.forms.answers import Accepted
from chalicelib.languages import ANSWERS, FORMS_DOMAIN, N_, Said
from chalicelib.store.items import RECEIVED


def personal(**ui: Any) -> dict[str, Any]:
    """Schema extras for a field that holds personal data (encrypted at rest)."""
    return {"x-personal": True, **ui}


@dataclass(frozen=True)
class UniqueClaim:
    """A value only one submission may ever take (a serial number, say), named by its guard.

    The intake turns it into a conditional write in the same transaction as the
    submission, so either both are stored or neither; `conflict_message` is what
    the customer reads when the value is taken, and must not say by whom.
    """

    guard: str
    value: str
    conflict_message: str
    fields: dict[str, Any] = field(default_factory=dict)
    field_name: str = ""  # the form field the customer corrects when the value is taken


class Submission(BaseModel):
    """What every form shares: strict about unknown fields, tidy about spaces."""

    # Built on its first validation, not at import: a cold start builds only the forms it receives.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    # The JSON answer a stored submission gets (see `answer`).
    answer_model: ClassVar[type[Accepted]] = Accepted
    # A single click (a page vote): no fill time to measure, so the timing rule does not apply.
    one_click: ClassVar[bool] = False

    @classmethod
    def personal_fields(cls) -> tuple[str, ...]:
        return tuple(
            name
            for name, field_info in cls.model_fields.items()
            if isinstance(field_info.json_schema_extra, dict)
            and field_info.json_schema_extra.get("x-personal")
        )

    @classmethod
    def open_fields(cls) -> tuple[str, ...]:
        personal_names = set(cls.personal_fields())
        return tuple(name for name in cls.model_fields if name not in personal_names)

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        """A body that validates on `today`: the OpenAPI document's example."""
        raise NotImplementedError(cls.__name__)

    def answer(self, reference: str, today: date) -> Accepted:
        """What the customer is told once the submission is stored."""
        return Accepted(reference=reference)

    def unique_claims(self, today: date) -> list[UniqueClaim]:
        """Keys this submission must be the first to take; none for most forms."""
        return []

    def returns_to(self) -> str | None:
        """For a form that thanks on its own page: where a plain post's browser goes back to."""
        return None


@dataclass(frozen=True)
class FormKind:
    """How one kind of submission is received: its route, model and reference prefix."""

    kind: str
    path: str
    model: type[Submission]
    reference_prefix: str
    title: str
    initial_status: str = RECEIVED
    page: str = "/"  # the site page that shows the form: where "back to the form" leads
    # What the customer sent, as emails name it after "your" ("We have your ..."),
    # when the form's title does not read as a thing one sends (a service visit).
    sent_as: str = ""

    @property
    def in_words(self) -> str:
        """The submission as a customer reads of it: "your request for a service visit"."""
        return self.sent_as or self.title.lower()


@dataclass(frozen=True)
class Lookup:
    """A form that asks rather than submits (a warranty's status): its route and model; nothing is stored."""

    kind: str
    path: str
    model: type[Submission]
    title: str
    page: str = "/"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidSubmission(Exception):
    """The submission broke one or more rules; `errors` names every field."""

    def __init__(self, errors: list[FieldError]):
        super().__init__(f"{len(errors)} field(s) failed validation")
        self.errors = errors


def validate(model: type[BaseModel], payload: Any, *, today: date | None = None, form: bool = False) -> Any:
    """Validate a decoded body, or raise InvalidSubmission naming every failing field.

    `today` (from the caller's clock) is what date rules such as "not in the
    future" are checked against. Messages are written for people and never
    repeat what was sent, so no personal data can travel back in an error.
    `form`: the payload is a plain HTML form's text fields (see `sent_as_form`).
    """
    if not isinstance(payload, dict):
        raise InvalidSubmission([FieldError("", N_("Send the form's fields as a JSON object."))])
    try:
        return model.model_validate(payload, context={"today": today, "form": form})
    except ValidationError as exc:
        raise InvalidSubmission(_readable_errors(model, exc)) from None


def sent_as_form(info: ValidationInfo) -> bool:
    """A plain HTML form sends only text: "3" for a rating, "on" for a ticked box, "" for an
    empty box. JSON has types, and its values are taken only as the contract types them."""
    return bool((info.context or {}).get("form"))


def today_of(info: ValidationInfo) -> date:
    """The date a validation runs on; forms with date rules cannot be checked without it."""
    today = (info.context or {}).get("today")
    if not isinstance(today, date):
        raise TypeError("validate(..., today=...) is required for forms with date rules")
    return today


def _readable_errors(model: type[BaseModel], exc: ValidationError) -> list[FieldError]:
    errors: dict[str, FieldError] = {}
    # The input is read only to tell an empty answer apart; no message repeats it.
    for error in exc.errors(include_url=False):
        location = error["loc"]
        field_name = str(location[0]) if location else ""
        if field_name in errors:
            continue
        if error["type"] in _CHOICE_ERRORS and error.get("input") in ("", None):
            error = {**error, "type": "missing"}  # "Choose one" left chosen: required, not a list
        errors[field_name] = FieldError(field_name, _message_for(model, field_name, error))
    return list(errors.values())


@cache
def _property_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field's JSON schema, with an optional field's inner type unwrapped."""
    properties = model.model_json_schema().get("properties", {})
    unwrapped = {}
    for name, schema in properties.items():
        inner = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
        unwrapped[name] = {**schema, **(inner[0] if len(inner) == 1 else {})}
    return unwrapped


def _message_for(model: type[BaseModel], field_name: str, error: Any) -> str:
    """The sentence a person reads, as `Said` words the edge can say in their language."""
    info = model.model_fields.get(field_name)
    title = info.title if info and info.title else field_name.replace("_", " ")
    # A label reads in a message without its "(optional)": that shorter label is an answer's word.
    optional, shown = title.endswith(" (optional)"), title.removesuffix(" (optional)")
    label = Said(shown, ANSWERS if optional else FORMS_DOMAIN)
    kind = error["type"]
    if kind == "extra_forbidden":
        return Said("'{field}' is not a field of this form.", field=field_name)
    question = shown.endswith("?")
    if kind in ("missing", "string_too_short"):
        return Said("Answer “{label}”.", label=label) if question else Said("{label} is required.",
                                                                          label=label)
    # A question reads better quoted: “What is it about?” must be ...
    subject = Said("“{label}”", label=label) if question else label
    schema = _property_schemas(model).get(field_name, {})
    context = error.get("ctx") or {}
    for kinds, message in _MESSAGES:
        if kind in kinds:
            return message(subject, schema, context)
    return Said("{subject} is not valid.", subject=subject)


def _choice_message(subject: Said, schema: dict[str, Any], context: dict[str, Any]) -> str:
    labels = schema.get("x-labels") or {}
    # In the order the form lists them (the schema's enum), by the words it shows.
    values = schema.get("enum") or list(labels)
    choices = tuple(Said(labels[str(v)], FORMS_DOMAIN) if str(v) in labels else str(v) for v in values)
    return Said("{subject} — choose one of {choices}.", subject=subject,
                choices=choices or str(context.get("expected")))


def _number_message(subject: Said, schema: dict[str, Any], context: dict[str, Any]) -> str:
    if "minimum" in schema and "maximum" in schema:
        return Said("{subject} must be a whole number from {minimum} to {maximum}.", subject=subject,
                    minimum=int(schema["minimum"]), maximum=int(schema["maximum"]))
    return Said("{subject} must be a whole number.", subject=subject)


def _validator_message(subject: Said, context: dict[str, Any]) -> str:
    """A validator's own sentence (`Said`, or plain English words of the `answers` catalog)."""
    raised = context.get("error")
    words = raised.args[0] if isinstance(raised, Exception) and raised.args else raised
    return words if isinstance(words, str) and words else Said("{subject} is not valid.", subject=subject)


# A field's rule the API enforces that the customer's form has no need to say (an upload id's
# origin, a rule across fields): the OpenAPI document adds it to the field's description.
CONTRACT_NOTE = "x-contract"
_CHOICE_ERRORS = ("literal_error", "enum")
_Message = Callable[[Said, dict[str, Any], dict[str, Any]], str]
# Each pydantic error type and the sentence a person reads; none repeats what was sent.
_MESSAGES: tuple[tuple[tuple[str, ...], _Message], ...] = (
    (("string_too_long",), lambda s, _, c: Said("{subject} must be at most {count} characters.", subject=s,
                                                count=int(c.get("max_length") or 0))),
    (_CHOICE_ERRORS, _choice_message),
    (("string_pattern_mismatch",), lambda s, _, __: Said("{subject} has characters we cannot accept.",
                                                         subject=s)),
    (("bool_type", "bool_parsing"), lambda s, _, __: Said("{subject} must be yes or no.", subject=s)),
    (("int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal",
      "greater_than", "less_than"), _number_message),
    (("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
     lambda s, _, __: Said("{subject} must be a date like 2026-01-31.", subject=s)),
    (("string_type",), lambda s, _, __: Said("{subject} must be text.", subject=s)),
    (("value_error",), lambda s, _, c: _validator_message(s, c)),
)
