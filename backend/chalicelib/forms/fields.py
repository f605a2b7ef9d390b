"""Field types the forms share: contact details, references, ratings, products, serials and dates."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from chalicelib.forms.core import CONTRACT_NOTE, personal, sent_as_form
from chalicelib.languages import N_, Said
from chalicelib.rules.catalog import catalog, normalise_serial

# Whitespace and control characters are spelled out, so that Python and the JSON
# schema's ECMA-262 regular expressions (whose \s differ) mean the same here.
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f\x85\ufeff"
EMAIL_PATTERN = re.compile(rf"^[^{_NOT_IN_EMAIL}]{{1,64}}@[^{_NOT_IN_EMAIL}.]+(\.[^{_NOT_IN_EMAIL}.]+)+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ().-]{5,22}$")
ISO_DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Any serial of any product, once normalised; each product's own pattern is stricter.
SERIAL_SHAPE = re.compile(r"^[A-Z0-9]{4,32}$")
# What may be typed for one: 4 to 32 letters and digits, with spaces, dashes and dots between.
SERIAL_INPUT = re.compile(r"^[ \-–.]*(?:[A-Za-z0-9][ \-–.]*){4,32}$")
SITE_PATH_PATTERN = r"^/[A-Za-z0-9/_.~-]*$"
_SEPARATORS = r"[ \-–.]*"
_SERIAL_ATOM = re.compile(r"(\[[A-Z0-9-]+\]|\\d|[A-Z0-9])(\{\d+(?:,\d*)?\}|[?+*])?")


def typed_serial_pattern(product_patterns: list[str]) -> str:
    """What may be typed for a serial of some product, as one JSON schema pattern.

    Each product's pattern (on the normalised serial: upper case, no separators)
    is widened the way normalisation narrows: either case, and spaces, dashes or
    dots after any character. A pattern this cannot read widens to SERIAL_INPUT.
    """
    typed = []
    for pattern in product_patterns:
        atoms, at = [], 0
        while at < len(pattern):
            atom = _SERIAL_ATOM.match(pattern, at)
            if atom is None:
                return SERIAL_INPUT.pattern
            character, times = atom.group(1), atom.group(2) or ""
            if character.startswith("["):
                character = "[" + character[1:-1] + character[1:-1].lower().replace("0-9", "") + "]"
            elif character.isalpha():
                character = f"[{character}{character.lower()}]"
            atoms.append(f"(?:{character}{_SEPARATORS}){times}")
            at = atom.end()
        typed.append("".join(atoms))
    return f"^{_SEPARATORS}(?:{'|'.join(typed)})$"


def blank_is_missing(value: Any, info: ValidationInfo) -> Any:
    """An empty text box in a plain HTML form posts ''; treat it as not given (JSON leaves it out)."""
    if sent_as_form(info) and isinstance(value, str) and not value.strip():
        return None
    return value


def yes_or_no(value: Any, info: ValidationInfo) -> Any:
    """JSON true or false; a form's "on", "true" or "false" (an unticked box is absent, or "")."""
    if isinstance(value, bool):
        return value
    if sent_as_form(info) and isinstance(value, str):
        return value or False
    raise PydanticCustomError("bool_type", "Input should be a valid boolean")


def _check_email(value: str) -> str:
    if len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
        raise ValueError(N_("Enter an email address like name@example.com."))
    return value


def _check_phone(value: str) -> str:
    if not PHONE_PATTERN.fullmatch(value):
        raise ValueError(N_("Enter a phone number using digits, spaces and an optional leading +."))
    return value


def _iso_date_text(value: Any) -> Any:
    """Dates come as YYYY-MM-DD text, as a date input sends them; not as numbers."""
    if isinstance(value, date):
        return value
    if value is None or isinstance(value, str) and not value.strip():
        # An empty date box: said as missing ("... is required"), not as a format to follow.
        raise PydanticCustomError("missing", "Field required")
    if not isinstance(value, str) or not ISO_DATE_PATTERN.fullmatch(value.strip()):
        raise ValueError(N_("Enter the date as year-month-day, like 2026-01-31."))
    return value.strip()


def _serial_shape(value: str) -> str:
    serial = normalise_serial(value)
    if not SERIAL_INPUT.fullmatch(value) or not SERIAL_SHAPE.fullmatch(serial):
        raise ValueError(N_("Enter the serial number as printed on the label: letters and digits."))
    return serial


def fits_product(serial: str, product_id: str | None) -> str:
    """A serial number checked against its product's own pattern (when the product is known)."""
    if product_id is not None:
        product = catalog().product(product_id)
        if not product.accepts_serial(serial):
            raise ValueError(Said("That is not a serial number of the {product}: theirs look like {example}.",
                                  product=product.name, example=product.serial_example))
    return serial


def _whole_number(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, bool):  # JSON true would otherwise count as a 1
        raise ValueError(N_("Choose a rating from 1 to 5."))
    if isinstance(value, str) and not sent_as_form(info):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


Email = Annotated[
    str,
    Field(
        max_length=254,
        title="Email address",
        description="We reply to this address and never share it.",
        json_schema_extra=personal(**{
            "x-autocomplete": "email", "x-input-type": "email", "pattern": EMAIL_PATTERN.pattern,
        }),
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
    Annotated[
        str, Field(max_length=24, json_schema_extra={"pattern": PHONE_PATTERN.pattern}),
        AfterValidator(_check_phone),
    ] | None,
    BeforeValidator(blank_is_missing),
    Field(
        title="Phone number (optional)",
        description="Only if you would like us to call you.",
        json_schema_extra=personal(**{"x-autocomplete": "tel", "x-input-type": "tel"}),
    ),
]
Address = Annotated[
    Annotated[str, Field(max_length=500)] | None,
    BeforeValidator(blank_is_missing),
    Field(
        title="Postal address (optional)",
        description="Where an engineer would visit or we would collect from.",
        json_schema_extra=personal(**{"x-widget": "textarea", "x-autocomplete": "street-address"}),
    ),
]
ReferenceText = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /#.-]*$")]
OrderReference = Annotated[
    ReferenceText | None,
    BeforeValidator(blank_is_missing),
    Field(
        title="Order or product reference (optional)",
        description="From your receipt or the label on the product.",
    ),
]
# A consent's tick box, off unless ticked; an unticked checkbox is simply absent
# from a plain HTML form post.
ConsentBox = Annotated[bool, BeforeValidator(yes_or_no), Field(json_schema_extra={"x-widget": "checkbox"})]
MarketingConsent = Annotated[
    ConsentBox,
    Field(title="Send me product news and offers by email",
          description="Optional. You can stop them at any time."),
]
FollowUpConsent = Annotated[
    ConsentBox,
    Field(title="Ask me how we did when my request is closed",
          description="Optional. One email when we close it, with a link to rate us. Nothing else."),
]

RATING_LABELS = {
    "1": "Very dissatisfied",
    "2": "Dissatisfied",
    "3": "Neither satisfied nor dissatisfied",
    "4": "Satisfied",
    "5": "Very satisfied",
}
_RATING_UI = {"x-widget": "radio", "x-labels": RATING_LABELS}
Rating = Annotated[int, Field(ge=1, le=5, json_schema_extra=_RATING_UI), BeforeValidator(_whole_number)]
AspectRating = Annotated[
    Annotated[int, Field(ge=1, le=5), BeforeValidator(_whole_number)] | None,
    BeforeValidator(blank_is_missing),
    Field(description="Leave it blank if it does not apply.", json_schema_extra=_RATING_UI),
]


def free_text(title: str, max_length: int, description: str | None = None) -> Any:
    """A required text box of the customer's own words: personal, so encrypted."""
    return Field(
        min_length=1, max_length=max_length, title=title, description=description,
        json_schema_extra=personal(**{"x-widget": "textarea"}),
    )


OptionalFreeText = Annotated[Annotated[str, Field(max_length=2000)] | None, BeforeValidator(blank_is_missing)]


def optional_free_text(title: str) -> Any:
    return Field(default=None, title=title, json_schema_extra=personal(**{"x-widget": "textarea"}))


# The product list comes from the catalog, so a new product needs no code change.
if TYPE_CHECKING:
    ProductId = str
else:
    ProductId = Literal[tuple(catalog().products)]
Product = Annotated[
    ProductId,
    Field(
        title="Product",
        description="Find the model on the label or in the box.",
        json_schema_extra={"x-labels": catalog().product_names()},
    ),
]


def serial_hint() -> str:
    """Where each product's serial number is, in the catalog's words (its guide quotes them too)."""
    places = "; ".join(f"{p.name}: {p.serial_location}" for p in catalog().products.values())
    return f"Where to find it: {places}. On a label it follows “S/N”."


def serial_hint_per_product() -> dict[str, str]:
    """The same, one product at a time: the site's script shows the chosen product's alone."""
    return {p.id: f"The {p.name}'s is {p.serial_location}. On a label it follows “S/N”."
            for p in catalog().products.values()}


SerialNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        title="Serial number",
        description=serial_hint(),
        # The shape of some product's serial; that it is the chosen product's is checked
        # against the catalog (the contract says so: JSON schema has no rule across fields).
        json_schema_extra={"x-autocomplete": "off",
                           CONTRACT_NOTE: "It must be a serial of the product chosen (each product's serials "
                           "have their own pattern, as in the catalog); spaces, dashes and dots are ignored.",
                           "pattern": typed_serial_pattern(
                               [p.serial_pattern.pattern for p in catalog().products.values()]),
                           "x-hint-per-product": serial_hint_per_product()},
    ),
    AfterValidator(_serial_shape),
]
PurchaseDate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    Field(
        title="Date of purchase",
        description="As on your receipt.",
        json_schema_extra={"x-input-type": "date", "format": "date",
                           CONTRACT_NOTE: "Not in the future, and not before the product went on sale; to "
                           "register a warranty, within the registration window after purchase (see the "
                           "warranty policy)."},
    ),
]
SitePath = Annotated[str, Field(max_length=200, pattern=SITE_PATH_PATTERN)]
