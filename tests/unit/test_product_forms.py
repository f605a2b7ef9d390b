"""Warranty registration, return request and warranty status: the rules, at their boundaries."""

from datetime import date, timedelta
from typing import Any

import pytest
from chalicelib.forms import (
    InvalidSubmission,
    ReturnRequest,
    WarrantyRegistration,
    WarrantyStatusQuery,
    validate,
)
from chalicelib.rules.catalog import catalog
from chalicelib.store.items import WARRANTY_GUARD, claim_key

TODAY = date(2026, 11, 22)
TV = catalog().product("vista-55-oled")  # released 2024-10-01, 36 months, V55 + 9 digits
REGISTRATION = {
    "product": "vista-55-oled",
    "serial_number": "V55240012345",
    "purchase_date": "2026-11-01",
    "where_bought": "Aftercare Store, Leeds",
    "name": "Dana Eze",
    "email": "dana.eze@example.com",
}
RETURN = {
    "product": "vista-55-oled",
    "serial_number": "V55240012345",
    "purchase_date": "2026-11-01",
    "reason": "Dead pixels in the corner.",
    "wanted_outcome": "replacement",
    "name": "Eli Fox",
    "email": "eli.fox@example.com",
}


def errors_of(model: Any, payload: dict[str, Any], today: date = TODAY) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as caught:
        validate(model, payload, today=today)
    return {error.field: error.message for error in caught.value.errors}


def register(today: date = TODAY, **changes: Any) -> WarrantyRegistration:
    return validate(WarrantyRegistration, {**REGISTRATION, **changes}, today=today)


def test_a_product_bought_today_can_be_registered() -> None:
    registration = register(purchase_date=TODAY.isoformat())
    assert registration.purchase_date == TODAY


def test_a_purchase_date_in_the_future_is_refused() -> None:
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "purchase_date": "2026-11-23"})
    assert errors == {"purchase_date": "The date of purchase cannot be in the future."}


def test_the_release_day_is_the_earliest_purchase_date() -> None:
    assert register(today=date(2024, 10, 5), purchase_date="2024-10-01").purchase_date == TV.released
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "purchase_date": "2024-09-30"},
                       today=date(2024, 10, 5))
    assert "went on sale on 1 October 2024" in errors["purchase_date"]


def test_registration_is_open_for_ninety_days_from_purchase() -> None:
    last_day = date(2026, 11, 1) + timedelta(days=90)
    assert register(today=last_day).purchase_date == date(2026, 11, 1)
    errors = errors_of(WarrantyRegistration, REGISTRATION, today=last_day + timedelta(days=1))
    assert "within 90 days" in errors["purchase_date"]


@pytest.mark.parametrize("typed", ["V55240012345", "v55 2400 12345", "V55-240-012-345", " v55240012345 "])
def test_serials_are_accepted_however_typed_and_stored_normalised(typed: str) -> None:
    assert register(serial_number=typed).serial_number == "V55240012345"


@pytest.mark.parametrize("serial", [
    "V5524001234",     # one digit short
    "V552400123456",   # one digit too many
    "V5X240012345",    # a letter where a digit belongs
    "X55240012345",    # another prefix
    "AB1425001234",    # a laptop's serial, on the television
])
def test_serials_that_do_not_fit_the_product_s_pattern_are_refused(serial: str) -> None:
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "serial_number": serial})
    assert errors["serial_number"] == (
        "That is not a serial number of the Vista 55 OLED: theirs look like V55240012345."
    )


@pytest.mark.parametrize("serial", ["", "  ", "V5!", "é" * 10, "x" * 41])
def test_serials_that_are_no_serial_at_all_are_refused(serial: str) -> None:
    assert "serial_number" in errors_of(WarrantyRegistration, {**REGISTRATION, "serial_number": serial})


def test_an_unknown_product_is_refused_and_lists_the_catalog_names() -> None:
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "product": "toaster-9000"})
    assert set(errors) == {"product"}  # the serial is not judged against no product
    assert "Vista 55 OLED" in errors["product"] and "ChefMate Blend" in errors["product"]


@pytest.mark.parametrize("sent", ["22/11/2026", "2026-11-31", "20261101", 20261101, "yesterday", None])
def test_purchase_dates_must_be_real_iso_dates(sent: Any) -> None:
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "purchase_date": sent})
    assert set(errors) == {"purchase_date"}
    assert "2026-01-31" in errors["purchase_date"] or "required" in errors["purchase_date"]


def test_every_missing_field_is_named() -> None:
    errors = errors_of(WarrantyRegistration, {})
    assert set(errors) == {"product", "serial_number", "purchase_date", "where_bought", "name", "email"}


def test_optional_contact_details_may_be_left_blank() -> None:
    registration = validate(WarrantyRegistration, {**REGISTRATION, "phone": "", "address": " "}, today=TODAY,
                            form=True)
    assert registration.phone is None and registration.address is None
    assert registration.marketing_consent is False


def test_personal_fields_of_a_registration_are_the_owner_s() -> None:
    assert set(WarrantyRegistration.personal_fields()) == {"name", "email", "phone", "address"}


def test_the_answer_gives_the_warranty_expiry_from_the_catalog() -> None:
    answer = register().answer("WR-2222-3333", TODAY)
    assert answer.model_dump(mode="json") == {
        "reference": "WR-2222-3333",
        "product": "vista-55-oled",
        "product_name": "Vista 55 OLED",
        "registered_on": "2026-11-22",
        "expires_on": "2029-10-31",
    }


def test_a_registration_claims_its_normalised_serial_and_nothing_personal() -> None:
    [claim] = register(serial_number="v55 2400 12345").unique_claims(TODAY)
    assert (claim.guard, claim.value) == (WARRANTY_GUARD, "V55240012345")
    assert claim_key(claim.guard, claim.value) == ("WARRANTY#V55240012345", "REGISTRATION")
    assert claim.fields == {"product": "vista-55-oled", "registered_on": "2026-11-22",
                            "expires_on": "2029-10-31"}
    assert "dana" not in claim.conflict_message.lower()


def test_date_rules_need_today_from_the_caller() -> None:
    with pytest.raises(TypeError):
        validate(WarrantyRegistration, REGISTRATION)


def test_error_messages_never_repeat_what_was_sent() -> None:
    errors = errors_of(WarrantyRegistration, {**REGISTRATION, "serial_number": "ZZSECRET9",
                                              "email": "zz-secret@", "purchase_date": "zz-secret"})
    assert not any("zz" in message.lower() for message in errors.values())


# -- Return requests --------------------------------------------------------------

def assess(today: date, **changes: Any) -> dict[str, Any]:
    request = validate(ReturnRequest, {**RETURN, **changes}, today=today)
    return request.answer("RET-2222-3333", today).model_dump(mode="json")


def test_the_last_day_of_the_return_window_is_inside_it() -> None:
    answer = assess(date(2026, 12, 1))
    assert answer["return_window_ends_on"] == "2026-12-01"
    assert answer["inside_return_window"] is True
    assert assess(date(2026, 12, 2))["inside_return_window"] is False


def test_the_warranty_s_last_day_is_still_under_warranty() -> None:
    assert assess(date(2029, 10, 31))["under_warranty"] is True
    answer = assess(date(2029, 11, 1))
    assert answer["warranty_expires_on"] == "2029-10-31"
    assert answer["under_warranty"] is False


def test_a_return_may_be_asked_for_long_after_the_registration_window() -> None:
    assert assess(date(2028, 1, 1))["inside_return_window"] is False


def test_a_return_bought_in_the_future_or_before_release_is_refused() -> None:
    future = errors_of(ReturnRequest, {**RETURN, "purchase_date": "2026-11-23"})
    too_early = errors_of(ReturnRequest, {**RETURN, "purchase_date": "2024-01-01"})
    assert "future" in future["purchase_date"]
    assert "went on sale" in too_early["purchase_date"]


@pytest.mark.parametrize("outcome", ["repair", "replacement", "refund", "exchange"])
def test_each_wanted_outcome_is_accepted(outcome: str) -> None:
    request = validate(ReturnRequest, {**RETURN, "wanted_outcome": outcome}, today=TODAY)
    assert request.wanted_outcome == outcome


def test_an_unlisted_outcome_is_refused() -> None:
    errors = errors_of(ReturnRequest, {**RETURN, "wanted_outcome": "store credit"})
    assert "Refund me" in errors["wanted_outcome"]


# -- Warranty status ------------------------------------------------------------------

def test_a_status_query_normalises_the_serial_and_checks_the_email() -> None:
    query = validate(WarrantyStatusQuery, {"serial_number": "v55-2400-12345", "email": "Dana@Example.com"})
    assert query.serial_number == "V55240012345"
    errors = errors_of(WarrantyStatusQuery, {"serial_number": "", "email": "nope"})
    assert set(errors) == {"serial_number", "email"}
