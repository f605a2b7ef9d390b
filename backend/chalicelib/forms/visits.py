"""Booking a service visit: installation, repair, relocation or an AMC preventive visit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from chalicelib.forms.core import Submission, personal, today_of
from chalicelib.forms.fields import (
    Email,
    FollowUpConsent,
    MarketingConsent,
    Name,
    OptionalFreeText,
    Product,
    SerialNumber,
    _check_phone,
    _iso_date_text,
    blank_is_missing,
    fits_product,
    optional_free_text,
    serial_hint,
)
from chalicelib.languages import N_
from chalicelib.rules.catalog import catalog

# How far ahead a visit can be asked for: further out, plans change.
BOOKING_HORIZON_DAYS = 90
NEEDS: dict[str, Any] = {
    "installation": "Installation",
    "repair": "Repair",
    "relocation": "Moving it to a new place (relocation)",
    "amc_preventive": "Preventive visit under my maintenance contract (AMC)",
}
TIMES_OF_DAY: dict[str, Any] = {
    "morning": "Morning (9:00 to 13:00)", "afternoon": "Afternoon (13:00 to 17:00)", "any": "Any time of day",
}


def _preferred(title: str, required: bool) -> Any:
    return Field(
        default=... if required else None, title=title,
        description="A working day within the next three months." if required else None,
        json_schema_extra={"x-input-type": "date"},
    )


PreferredDate = Annotated[date, BeforeValidator(_iso_date_text)]
OptionalPreferredDate = Annotated[PreferredDate | None, BeforeValidator(blank_is_missing)]
VisitPhone = Annotated[
    str,
    Field(
        min_length=1, max_length=24, title="Phone number",
        description="The engineer calls before coming.",
        json_schema_extra=personal(**{"x-autocomplete": "tel", "x-input-type": "tel"}),
    ),
]
VisitAddress = Annotated[
    str,
    Field(
        min_length=1, max_length=500, title="Address of the visit",
        json_schema_extra=personal(**{"x-widget": "textarea", "x-autocomplete": "street-address"}),
    ),
]
OptionalSerial = Annotated[SerialNumber | None, BeforeValidator(blank_is_missing)]


class ServiceVisit(Submission):
    """A visit by an engineer: what is needed, where, and two or three dates that suit."""

    product: Product
    serial_number: OptionalSerial = Field(
        default=None, title="Serial number (if you know it)",
        description=serial_hint(),
        json_schema_extra={"x-autocomplete": "off"},
    )
    need: Literal["installation", "repair", "relocation", "amc_preventive"] = Field(
        title="What do you need?", json_schema_extra={"x-widget": "radio", "x-labels": NEEDS},
    )
    address: VisitAddress
    first_choice: PreferredDate = _preferred("First choice of date", required=True)
    second_choice: PreferredDate = _preferred("Second choice of date", required=True)
    third_choice: OptionalPreferredDate = _preferred("Third choice of date (optional)", required=False)
    time_of_day: Literal["morning", "afternoon", "any"] = Field(
        default="any", title="Time of day", json_schema_extra={"x-widget": "radio", "x-labels": TIMES_OF_DAY},
    )
    details: OptionalFreeText = optional_free_text("Anything the engineer should know? (optional)")
    name: Name
    email: Email
    phone: VisitPhone
    marketing_consent: MarketingConsent = False
    follow_up_consent: FollowUpConsent = False

    @field_validator("phone")
    @classmethod
    def _phone_shape(cls, phone: str) -> str:
        return _check_phone(phone)

    @field_validator("serial_number")
    @classmethod
    def _serial_fits_the_product(cls, serial: str | None, info: ValidationInfo) -> str | None:
        return None if serial is None else fits_product(serial, info.data.get("product"))

    @field_validator("first_choice", "second_choice", "third_choice")
    @classmethod
    def _bookable(cls, day: date | None, info: ValidationInfo) -> date | None:
        if day is None:
            return None
        today = today_of(info)
        if day <= today:
            raise ValueError(N_("Choose a date after today."))
        if day > today + timedelta(days=BOOKING_HORIZON_DAYS):
            raise ValueError(N_("Choose a date within the next three months."))
        return day

    @field_validator("second_choice", "third_choice")
    @classmethod
    def _another_date(cls, day: date | None, info: ValidationInfo) -> date | None:
        others = ("first_choice", "second_choice")
        earlier = [info.data.get(name) for name in others if name != info.field_name]
        if day is not None and day in earlier:
            raise ValueError(N_("Choose a date different from your other choices."))
        return day

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        product = catalog().product("purewash-8")
        return {
            "product": product.id,
            "serial_number": product.serial_example,
            "need": "installation",
            "address": "1 Fossgate, York YO1 9TA",
            "first_choice": (today + timedelta(days=7)).isoformat(),
            "second_choice": (today + timedelta(days=9)).isoformat(),
            "time_of_day": "morning",
            "name": "Gita Hale",
            "email": "gita.hale@example.com",
            "phone": "01904 000111",
            "marketing_consent": False,
        }
