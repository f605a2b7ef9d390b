from typing import Any

import pytest
from chalicelib.forms import FORMS, Enquiry, InvalidSubmission, validate

VALID = {
    "name": "Ann Lee",
    "email": "ann@example.com",
    "topic": "warranty",
    "message": "My screen flickers.",
}


def errors_of(payload: Any) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as caught:
        validate(Enquiry, payload)
    return {error.field: error.message for error in caught.value.errors}


def test_valid_enquiry_is_tidied_and_defaults_to_no_marketing() -> None:
    enquiry = validate(Enquiry, {**VALID, "name": "  Ann Lee  ", "phone": ""}, form=True)
    assert enquiry.name == "Ann Lee"
    assert enquiry.phone is None
    assert enquiry.marketing_consent is False


def test_every_failing_field_is_named_at_once() -> None:
    errors = errors_of({"email": "not-an-email", "topic": "gossip", "colour": "red"})
    assert set(errors) == {"name", "email", "topic", "message", "colour"}
    assert "email address" in errors["email"].lower()
    assert "not a field" in errors["colour"]


def test_error_messages_never_repeat_what_was_sent() -> None:
    secret = "zz-unique-secret@example"
    errors = errors_of({**VALID, "email": secret, "phone": "call me maybe"})
    assert all(secret not in message and "call me" not in message for message in errors.values())


@pytest.mark.parametrize("topic", [
    "product-use", "technical-support", "installation", "warranty", "returns",
    "maintenance-contract", "other",
])
def test_each_listed_topic_is_accepted(topic: str) -> None:
    assert validate(Enquiry, {**VALID, "topic": topic}).topic == topic


@pytest.mark.parametrize("email", ["a@b", "no-at.example.com", "two@@example.com", "sp ace@x.io"])
def test_malformed_emails_are_refused(email: str) -> None:
    assert "email" in errors_of({**VALID, "email": email})


def test_phone_must_look_like_a_phone_number() -> None:
    assert "phone" in errors_of({**VALID, "phone": "ring me"})
    assert validate(Enquiry, {**VALID, "phone": "+44 20 7946 0958"}).phone == "+44 20 7946 0958"


def test_message_length_is_bounded() -> None:
    assert validate(Enquiry, {**VALID, "message": "x" * 5000})
    assert "5000" in errors_of({**VALID, "message": "x" * 5001})["message"]


@pytest.mark.parametrize(("sent", "stored"), [("on", True), ("true", True), (True, True),
                                              ("", False), (False, False)])
def test_marketing_consent_is_explicit_opt_in(sent: Any, stored: bool) -> None:
    consent = validate(Enquiry, {**VALID, "marketing_consent": sent}, form=isinstance(sent, str))
    assert consent.marketing_consent is stored
    if isinstance(sent, str):  # JSON takes true or false only
        assert "marketing_consent" in errors_of({**VALID, "marketing_consent": sent})


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert errors_of(["name"]) == {"": "Send the form's fields as a JSON object."}


def test_personal_fields_are_the_ones_encrypted() -> None:
    assert set(Enquiry.personal_fields()) == {"name", "email", "phone", "message"}
    assert set(Enquiry.open_fields()) == {
        "topic", "order_reference", "marketing_consent", "follow_up_consent"}


def test_every_form_kind_has_a_distinct_route_and_prefix() -> None:
    paths = [form.path for form in FORMS.values()]
    prefixes = [form.reference_prefix for form in FORMS.values()]
    assert len(set(paths)) == len(paths)
    assert len(set(prefixes)) == len(prefixes)


def test_a_topic_left_at_choose_one_is_said_to_be_required_not_listed() -> None:
    """Issue 24, point 11: a plain form posts "" for an untouched menu."""
    with pytest.raises(InvalidSubmission) as caught:
        validate(Enquiry, {**VALID, "topic": ""}, form=True)
    [error] = caught.value.errors
    missing = errors_of({k: v for k, v in VALID.items() if k != "topic"})["topic"]
    assert error.message == missing
    assert "Installation" not in error.message and "choose one of" not in error.message


def test_a_wrong_topic_lists_the_choices_in_the_menu_s_order() -> None:
    topic = Enquiry.model_json_schema()["properties"]["topic"]
    message = errors_of({**VALID, "topic": "gossip"})["topic"]
    positions = [message.index(topic["x-labels"][value]) for value in topic["enum"]]
    assert positions == sorted(positions)


@pytest.mark.parametrize("kind, field", [
    ("warranty_registration", "purchase_date"), ("return_request", "purchase_date"),
    ("service_visit", "first_choice"),
])
def test_an_empty_date_is_said_to_be_required(kind: str, field: str) -> None:
    from datetime import date

    with pytest.raises(InvalidSubmission) as caught:
        validate(FORMS[kind].model, {field: ""}, today=date(2026, 12, 7), form=True)
    message = {e.field: e.message for e in caught.value.errors}[field]
    assert message.endswith("is required.") and "year-month-day" not in message
