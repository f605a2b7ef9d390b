"""Warranty registration and status over the API, on moto: one registration per serial, no probing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from chalicelib.crypto.keys import SubmissionCipher, kms_key_provider
from chalicelib.rules.catalog import catalog
from chalicelib.store.items import WARRANTY_PREFIX

from tests.api.posting import BuiltPage, freeze_clock, post_form, post_json

TODAY = date(2026, 11, 22)
REGISTRATION = {
    "product": "purewash-8",  # released 2024-04-01, 24 months
    "serial_number": "pw8 2407 k 00123",
    "purchase_date": "2026-11-02",
    "where_bought": "Kitchens & Co, York",
    "name": "Gita Hale",
    "email": "Gita.Hale@example.com",
    "phone": "01904 000111",
    "address": "1 Fossgate, York",
    "marketing_consent": False,
}
STATUS_QUERY = {"serial_number": "PW82407K00123", "email": "gita.hale@example.com"}
REGISTER = "/warranty-registrations"


@pytest.fixture
def today(chalice_app: Any) -> date:
    freeze_clock(chalice_app, TODAY)
    return TODAY


def register(api: Any, headers: dict[str, str] | None = None, **changes: Any) -> Any:
    return post_json(api, REGISTER, {**REGISTRATION, **changes}, headers)


def status_of(api: Any, **query: str) -> Any:
    return post_json(api, "/warranty-status", {**STATUS_QUERY, **query})


def warranty_items(moto_account: Any) -> list[dict[str, Any]]:
    return [item for item in moto_account.raw_items() if item["pk"].startswith(WARRANTY_PREFIX)]


def test_registration_answers_the_warranty_expiry_from_the_catalog(api: Any, today: date) -> None:
    response = register(api)
    assert response.status_code == 201
    body = response.json_body
    assert body["reference"].startswith("WR-")
    assert {k: v for k, v in body.items() if k != "reference"} == {
        "product": "purewash-8",
        "product_name": "PureWash 8",
        "registered_on": "2026-11-22",
        "expires_on": "2028-11-01",
    }


def test_registration_stores_the_normalised_serial_and_claims_it(
    api: Any, moto_account: Any, today: date
) -> None:
    reference = register(api).json_body["reference"]
    [stored] = moto_account.submissions("warranty_registration")
    assert stored["fields"]["serial_number"] == "PW82407K00123"
    [claim] = warranty_items(moto_account)
    assert claim["pk"] == "WARRANTY#PW82407K00123"
    assert claim["reference"] == reference
    assert claim["subject_hash"] == stored["subject_hash"]
    assert claim["created_at"] == stored["created_at"]
    assert claim["expires_at"] == stored["expires_at"]
    assert (claim["product"], claim["registered_on"], claim["expires_on"]) == \
        ("purewash-8", "2026-11-22", "2028-11-01")
    assert "kind" not in claim  # not a submission: stays out of the staff's per-kind exports


def test_the_owner_s_details_are_stored_encrypted_only(api: Any, moto_account: Any, today: date) -> None:
    reference = register(api).json_body["reference"]
    raw = json.dumps([{k: repr(v) for k, v in item.items()} for item in moto_account.raw_items()])
    for value in ("Gita", "Hale", "example.com", "000111", "Fossgate"):
        assert value not in raw
    [stored] = moto_account.submissions("warranty_registration")
    cipher = SubmissionCipher(kms_key_provider(moto_account.data_key_id))
    opened = cipher.open(stored["personal"], kind="warranty_registration", reference=reference)
    assert opened == {"name": "Gita Hale", "email": "Gita.Hale@example.com", "phone": "01904 000111",
                      "address": "1 Fossgate, York"}


def test_a_second_registration_of_the_serial_gets_409_revealing_nobody(
    api: Any, moto_account: Any, today: date
) -> None:
    register(api)
    again = register(api, serial_number="PW8-2407-K-00123", name="Ivo Jones", email="ivo@example.com")
    assert again.status_code == 409
    text = again.body.decode()
    assert "already has a registered warranty" in again.json_body["message"]
    for first_owner in ("Gita", "Hale", "example.com", "WR-"):
        assert first_owner not in text
    assert len(moto_account.submissions("warranty_registration")) == 1
    assert len(warranty_items(moto_account)) == 1


def test_a_refused_registration_stores_no_consent_either(api: Any, moto_account: Any, today: date) -> None:
    register(api)
    assert register(api, marketing_consent=True).status_code == 409
    assert [i for i in moto_account.raw_items() if i.get("kind") == "consent"] == []


def test_a_retry_with_the_same_key_is_not_a_conflict(api: Any, moto_account: Any, today: date) -> None:
    first = register(api, {"Idempotency-Key": "wr-1"})
    again = register(api, {"Idempotency-Key": "wr-1"})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(warranty_items(moto_account)) == 1


def test_the_same_serial_with_another_key_is_a_conflict(api: Any, today: date) -> None:
    assert register(api, {"Idempotency-Key": "wr-2"}).status_code == 201
    assert register(api, {"Idempotency-Key": "wr-3"}, name="Ivo Jones").status_code == 409


def test_a_retry_without_a_key_after_a_lost_answer_gets_its_own_reference_not_a_409(
    api: Any, moto_account: Any, today: date
) -> None:
    # The first write was applied but its answer lost (a 503 at the client): the same
    # person sends the same registration again, without an Idempotency-Key.
    first = register(api)
    again = register(api)
    other_key = register(api, {"Idempotency-Key": "wr-4"})
    assert first.status_code == again.status_code == other_key.status_code == 201
    assert again.json_body["reference"] == other_key.json_body["reference"] == first.json_body["reference"]
    assert again.json_body == first.json_body
    assert len(moto_account.submissions("warranty_registration")) == 1
    assert len(warranty_items(moto_account)) == 1
    # Someone else with the same serial is still refused.
    assert register(api, email="ivo@example.com").status_code == 409


def test_a_taken_serial_is_named_at_the_serial_number_field(api: Any, today: date) -> None:
    register(api)
    again = register(api, email="ivo@example.com")
    assert again.status_code == 409
    [error] = again.json_body["errors"]
    assert error["field"] == "serial_number"
    assert "already has a registered warranty" in error["message"]


def test_a_plain_form_registration_of_a_taken_serial_comes_back_with_the_message_at_the_serial(
    api: Any, today: date
) -> None:
    register(api)
    someone_else = {**REGISTRATION, "name": "Ivo Jones", "email": "ivo@example.com"}
    response = post_form(api, REGISTER, someone_else, referer="/warranty/register/")
    assert response.status_code == 409
    assert response.headers["Content-Type"].startswith("text/html")
    page = BuiltPage(response.body.decode())
    serial = page.control("f-warranty-registration-serial-number")
    assert serial["value"] == REGISTRATION["serial_number"]
    assert serial["aria-invalid"] == "true"
    assert "already has a registered warranty" in page.text_of("f-warranty-registration-serial-number-error")
    assert [href for href, _ in page.links_in("f-warranty-registration-errors")] == [
        "#f-warranty-registration-serial-number"
    ]


def test_a_product_bought_today_registers_and_one_from_tomorrow_does_not(api: Any, today: date) -> None:
    assert register(api, purchase_date=TODAY.isoformat()).status_code == 201
    tomorrow = register(api, purchase_date=(TODAY + timedelta(days=1)).isoformat(),
                        serial_number="PW82407K00124")
    assert tomorrow.status_code == 400
    assert tomorrow.json_body["errors"] == [
        {"field": "purchase_date", "message": "The date of purchase cannot be in the future."}
    ]


def test_the_registration_window_closes_after_ninety_days(api: Any, today: date) -> None:
    ninety_days_ago = (TODAY - timedelta(days=90)).isoformat()
    assert register(api, purchase_date=ninety_days_ago).status_code == 201
    late = register(api, purchase_date=(TODAY - timedelta(days=91)).isoformat(),
                    serial_number="PW82407K00999")
    assert late.status_code == 400
    assert "within 90 days" in late.json_body["errors"][0]["message"]


# -- Status ---------------------------------------------------------------------------

def test_status_answers_the_owner_who_gives_serial_and_email(api: Any, today: date) -> None:
    register(api)
    response = status_of(api, serial_number="pw8-2407-k-00123", email=" GITA.HALE@example.com ")
    assert response.status_code == 200
    assert response.json_body == {
        "product": "purewash-8",
        "product_name": "PureWash 8",
        "registered_on": "2026-11-22",
        "expires_on": "2028-11-01",
        "under_warranty": True,
    }


def test_status_is_under_warranty_on_the_expiry_day_and_not_after(api: Any, chalice_app: Any,
                                                                   today: date) -> None:
    register(api)
    freeze_clock(chalice_app, date(2028, 11, 1))
    assert status_of(api).json_body["under_warranty"] is True
    freeze_clock(chalice_app, date(2028, 11, 2))
    assert status_of(api).json_body["under_warranty"] is False


def test_status_gives_the_same_404_for_an_unknown_serial_and_a_wrong_email(api: Any, today: date) -> None:
    register(api)
    unknown_serial = status_of(api, serial_number="PW82407K99999")
    wrong_email = status_of(api, email="someone.else@example.com")
    assert unknown_serial.status_code == wrong_email.status_code == 404
    assert unknown_serial.body == wrong_email.body
    assert "Gita" not in wrong_email.body.decode()


def test_status_after_the_record_s_retention_is_404(api: Any, chalice_app: Any, today: date) -> None:
    register(api)
    freeze_clock(chalice_app, date(2032, 11, 23))  # 72 months on: due for deletion, even if TTL lags
    assert status_of(api).status_code == 404


def test_status_without_the_email_is_a_400_naming_it(api: Any, today: date) -> None:
    response = post_json(api, "/warranty-status", {"serial_number": "PW82407K00123"})
    assert response.status_code == 400
    assert [error["field"] for error in response.json_body["errors"]] == ["email"]


def test_status_takes_no_personal_data_in_the_url(api: Any, today: date) -> None:
    response = api.http.get("/warranty-status?serial_number=PW82407K00123&email=gita.hale%40example.com")
    assert response.status_code in (403, 404, 405)


def test_status_from_a_plain_form_is_an_html_page(api: Any, today: date) -> None:
    register(api)
    response = post_form(api, "/warranty-status", STATUS_QUERY, referer="/warranty/check/")
    assert response.status_code == 200
    page = response.body.decode()
    assert "PureWash 8 is under warranty" in page and "1 November 2028" in page
    missing = post_form(api, "/warranty-status", {**STATUS_QUERY, "email": "x@example.com"})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/html")
    assert 'href="/warranty/check/"' in missing.body.decode()


def test_status_lookup_does_not_fail_on_odd_bodies(api: Any, today: date) -> None:
    for body in ("{", "[]", json.dumps({"serial_number": None, "email": ["a"]}), json.dumps({"x": 1})):
        assert post_json(api, "/warranty-status", body).status_code == 400


def test_the_thank_you_page_of_a_registration_says_when_the_warranty_ends(api: Any, today: date) -> None:
    response = post_form(api, REGISTER, REGISTRATION)
    assert response.status_code == 303
    thanks = api.http.get(response.headers["Location"].removeprefix("/api")).body.decode()
    expires = date.fromisoformat(status_of(api).json_body["expires_on"])
    assert f"<dt>Warranty ends on</dt><dd>{expires.day} {expires:%B %Y}</dd>" in thanks
    assert f"<dt>Product</dt><dd>{catalog().product(REGISTRATION['product']).name}</dd>" in thanks
