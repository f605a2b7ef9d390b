"""The "Book a visit" form: what is needed, where, and dates that can be kept."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from chalicelib.forms import FORMS, InvalidSubmission, ServiceVisit, validate

TODAY = date(2026, 11, 23)


def book(form: bool = False, **changes: Any) -> ServiceVisit:
    """`form`: as a plain HTML form posts it, where an empty box is sent as ""."""
    body = {**ServiceVisit.example(TODAY), **changes}
    return validate(ServiceVisit, {k: v for k, v in body.items() if v is not ...}, today=TODAY, form=form)


def failing_fields(**changes: Any) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as refused:
        book(**changes)
    return {error.field: error.message for error in refused.value.errors}


def test_the_example_books_and_the_contact_and_address_are_sealed() -> None:
    visit = book()
    assert visit.need == "installation"
    assert {"name", "email", "phone", "address", "details"} <= set(ServiceVisit.personal_fields())
    assert "first_choice" in ServiceVisit.open_fields() and "need" in ServiceVisit.open_fields()
    assert FORMS["service_visit"].initial_status == "requested"


def test_the_serial_is_optional_but_must_fit_the_product_when_given() -> None:
    assert book(serial_number=...).serial_number is None
    assert book(form=True, serial_number="").serial_number is None
    assert "serial_number" in failing_fields(serial_number="ZZ99999999")


def test_dates_must_be_ahead_within_three_months_and_different() -> None:
    assert "first_choice" in failing_fields(first_choice=TODAY.isoformat())
    assert "second_choice" in failing_fields(second_choice=(TODAY + timedelta(days=91)).isoformat())
    same = (TODAY + timedelta(days=7)).isoformat()
    assert "different" in failing_fields(first_choice=same, second_choice=same)["second_choice"]
    assert "third_choice" in failing_fields(third_choice=same)
    assert book(form=True, third_choice="").third_choice is None


def test_a_visit_needs_a_phone_an_address_and_a_known_need() -> None:
    assert {"phone", "address"} <= set(failing_fields(phone=..., address=...))
    assert "need" in failing_fields(need="painting")
    assert "phone" in failing_fields(phone="call me")
