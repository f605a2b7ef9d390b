"""POST /api/enquiries through Chalice's test client, on moto's DynamoDB and KMS."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.exceptions import ClientError
from chalicelib.store.references import is_reference
from chalicelib.web.receipts import RECEIPT_SECONDS

from tests.api.posting import FORM_HEADERS as PLAIN_FORM
from tests.api.posting import JSON_HEADERS, BuiltPage

VALID = {
    "name": "Ann Lee",
    "email": "ann.lee@example.com",
    "phone": "+44 20 7946 0958",
    "topic": "warranty",
    "message": "The screen flickers when cold.",
    "order_reference": "ORD-12345",
    "marketing_consent": True,
}
FORM_HEADERS = {**PLAIN_FORM, "Referer": "http://127.0.0.1/contact/"}


def post(api: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.http.post(
        "/enquiries", headers={**JSON_HEADERS, **(headers or {})},
        body=body if isinstance(body, str | bytes) else json.dumps(body),
    )


def test_valid_enquiry_answers_201_with_a_readable_reference(api: Any, moto_account: Any) -> None:
    response = post(api, VALID)
    assert response.status_code == 201
    reference = response.json_body["reference"]
    assert is_reference(reference) and reference.startswith("ENQ-")
    [stored] = moto_account.submissions("enquiry")
    assert stored["reference"] == reference
    assert stored["fields"]["topic"] == "warranty"
    assert stored["status"] == "received"


def test_stored_item_holds_no_personal_data_in_plaintext(api: Any, moto_account: Any) -> None:
    post(api, VALID)
    raw = json.dumps([{k: repr(v) for k, v in item.items()} for item in moto_account.raw_items()])
    for value in ("Ann Lee", "ann.lee@example.com", "7946 0958", "flickers"):
        assert value not in raw


def test_personal_fields_decrypt_with_the_kms_key(api: Any, moto_account: Any) -> None:
    from chalicelib.crypto.keys import SubmissionCipher, kms_key_provider

    post(api, VALID)
    [stored] = moto_account.submissions("enquiry")
    cipher = SubmissionCipher(kms_key_provider(moto_account.data_key_id))
    opened = cipher.open(stored["personal"], kind="enquiry", reference=stored["reference"])
    assert opened == {"name": "Ann Lee", "email": "ann.lee@example.com",
                      "phone": "+44 20 7946 0958", "message": "The screen flickers when cold."}


def test_item_expires_after_the_policy_retention(api: Any, moto_account: Any) -> None:
    post(api, VALID)
    [stored] = moto_account.submissions("enquiry")
    created_year = int(stored["created_at"][:4])
    from datetime import UTC, datetime

    expires = datetime.fromtimestamp(stored["expires_at"], UTC)
    assert expires.year == created_year + 2


def test_marketing_opt_in_is_recorded_with_time_form_and_notice(api: Any, moto_account: Any) -> None:
    post(api, VALID)
    assert [i for i in moto_account.raw_items() if i.get("kind") == "consent"] == []  # until the stream
    moto_account.record_consents()
    [consent] = [i for i in moto_account.raw_items() if i.get("kind") == "consent"]
    assert consent["status"] == "opted-in"
    assert consent["fields"]["source_form"] == "enquiry"
    assert consent["fields"]["notice_version"]
    assert consent["fields"]["given_at"]
    assert consent["subject_hash"] == moto_account.submissions("enquiry")[0]["subject_hash"]


def test_no_consent_record_without_opt_in(api: Any, moto_account: Any) -> None:
    post(api, {**VALID, "marketing_consent": False})
    assert [i for i in moto_account.raw_items() if i.get("kind") == "consent"] == []


def test_missing_fields_are_all_named_in_one_400(api: Any, moto_account: Any) -> None:
    response = post(api, {"phone": "x"})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json_body["errors"]}
    assert fields == {"name", "email", "topic", "message", "phone"}
    assert moto_account.raw_items() == []


def test_unknown_fields_are_rejected(api: Any) -> None:
    response = post(api, {**VALID, "is_admin": True})
    assert response.status_code == 400
    assert response.json_body["errors"] == [
        {"field": "is_admin", "message": "'is_admin' is not a field of this form."}
    ]


@pytest.mark.parametrize(("body", "headers", "status"), [
    ("{not json", {}, 400),
    ("", {}, 400),
    ("[]", {}, 400),
    ("x" * (1024 * 1024), {}, 413),
    ("hello", {"Content-Type": "text/plain"}, 415),
])
def test_unreadable_bodies_get_clear_answers_never_500(
    api: Any, body: str, headers: dict[str, str], status: int
) -> None:
    response = post(api, body, headers)
    assert response.status_code == status
    assert response.json_body["message"]


def test_retry_with_same_key_returns_same_reference(api: Any, moto_account: Any) -> None:
    first = post(api, VALID, {"Idempotency-Key": "retry-1"})
    again = post(api, VALID, {"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert first.json_body == again.json_body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(moto_account.submissions("enquiry")) == 1
    moto_account.record_consents()
    assert len([i for i in moto_account.raw_items() if i.get("kind") == "consent"]) == 1


def test_same_key_with_a_different_form_is_refused(api: Any, moto_account: Any) -> None:
    post(api, VALID, {"Idempotency-Key": "retry-2"})
    response = post(api, {**VALID, "message": "Something else"}, {"Idempotency-Key": "retry-2"})
    assert response.status_code == 422
    assert len(moto_account.submissions("enquiry")) == 1


def test_without_a_key_each_post_is_a_new_enquiry(api: Any, moto_account: Any) -> None:
    references = {post(api, VALID).json_body["reference"] for _ in range(2)}
    assert len(references) == 2


def test_storage_failure_answers_503_with_retry_after(
    api: Any, chalice_app: Any, monkeypatch: pytest.MonkeyPatch, moto_account: Any
) -> None:
    table = chalice_app.get_reception().intake.table

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")

    monkeypatch.setattr(table.client, "put_item", throttled)
    monkeypatch.setattr(table.client, "transact_write_items", throttled)
    response = post(api, VALID)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "try again" in response.json_body["message"]
    assert "Nothing was stored" not in response.json_body["message"]  # it may have been applied


def test_plain_html_form_post_redirects_to_the_thank_you_page(api: Any, moto_account: Any) -> None:
    body = urlencode({**VALID, "marketing_consent": "on", "website": ""})
    response = api.http.post("/enquiries", headers=FORM_HEADERS, body=body)
    assert response.status_code == 303
    location = response.headers["Location"]
    [stored] = moto_account.submissions("enquiry")
    assert location.startswith("/api/thanks?receipt=")
    assert stored["reference"] not in location, "the reference rides only inside the signed receipt"
    page = api.http.get(location.removeprefix("/api"))
    assert page.status_code == 200
    assert stored["reference"] in page.body.decode()


def test_plain_html_form_errors_come_back_on_the_form_itself_with_what_was_typed(
    api: Any, moto_account: Any
) -> None:
    body = urlencode({**VALID, "email": "nope", "topic": ""})
    response = api.http.post("/enquiries", headers=FORM_HEADERS, body=body)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    page = BuiltPage(response.body.decode())
    assert page.title.startswith("Error: ")
    assert page.stylesheets_of_the_site, "the site's own look, not a bare page"
    email = page.control("f-enquiry-email")
    assert email["value"] == "nope", "what was typed is in the field"
    assert email["aria-invalid"] == "true"
    assert "f-enquiry-email-error" in email["aria-describedby"].split()
    assert "Enter an email address" in page.text_of("f-enquiry-email-error")
    assert page.control("f-enquiry-message")["text"] == VALID["message"]
    assert page.control("f-enquiry-name")["value"] == VALID["name"]
    assert "aria-invalid" not in page.control("f-enquiry-name")
    summary_links = page.links_in("f-enquiry-errors")
    assert ("#f-enquiry-email", True) in [(href, "email" in text.lower()) for href, text in summary_links]
    assert "#f-enquiry-topic" in [href for href, _ in summary_links]
    assert "hidden" not in page.control("f-enquiry-errors")
    assert moto_account.raw_items() == []


def thank_you_location(api: Any) -> str:
    body = urlencode({**VALID, "marketing_consent": "on"})
    return str(api.http.post("/enquiries", headers=FORM_HEADERS, body=body).headers["Location"])


def test_thanks_page_shows_a_reference_only_from_its_signed_receipt(api: Any, moto_account: Any) -> None:
    location = thank_you_location(api)
    [stored] = moto_account.submissions("enquiry")
    # A well-formed reference typed into the address bar is not thanked for.
    for guessed in (f"/thanks?reference={stored['reference']}", "/thanks?reference=ENQ-AAAA-AAAA",
                    "/thanks?receipt=%3Cscript%3E", "/thanks"):
        response = api.http.get(guessed)
        assert response.status_code == 404, guessed
        page = response.body.decode()
        assert "no longer available" in page
        assert stored["reference"] not in page and "ENQ-" not in page
        content = page[page.index("<h1"):page.index("</article>")] if "</article>" in page else page
        assert "<script>" not in content
    # A receipt altered in any byte is refused.
    payload, mac = location.removeprefix("/api/thanks?receipt=").split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert api.http.get(f"/thanks?receipt={forged}.{mac}").status_code == 404
    assert api.http.get(location.removeprefix("/api")).status_code == 200


def test_thanks_receipt_expires_after_a_short_while(api: Any, chalice_app: Any, moto_account: Any) -> None:
    sent_at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    chalice_app.get_reception().clock = lambda: sent_at
    location = thank_you_location(api).removeprefix("/api")
    chalice_app.get_reception().clock = lambda: sent_at + timedelta(seconds=RECEIPT_SECONDS - 1)
    assert api.http.get(location).status_code == 200
    chalice_app.get_reception().clock = lambda: sent_at + timedelta(seconds=RECEIPT_SECONDS + 1)
    late = api.http.get(location)
    assert late.status_code == 404
    assert "ENQ-" not in late.body.decode()


def test_thanks_receipts_survive_a_restart_of_the_api(api: Any, chalice_app: Any) -> None:
    location = thank_you_location(api).removeprefix("/api")
    chalice_app.get_reception.cache_clear()  # a new process: the key is derived again, the same
    assert api.http.get(location).status_code == 200


def test_health(api: Any) -> None:
    assert api.http.get("/health").json_body == {"status": "ok"}


def test_bad_input_is_answered_without_touching_aws(
    api: Any, monkeypatch: pytest.MonkeyPatch, moto_account: Any
) -> None:
    """A deployment that cannot store anything still tells a customer what to correct."""
    monkeypatch.delenv("AFTERCARE_SUBJECT_KEY_ID")  # settings that cannot build a hasher
    clients: list[str] = []
    real_client = boto3.client

    def counted_client(name: str, *args: Any, **kwargs: Any) -> Any:
        clients.append(name)
        return real_client(name, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", counted_client)
    invalid = post(api, {**VALID, "email": "not an email"})
    assert invalid.status_code == 400
    assert [error["field"] for error in invalid.json_body["errors"]] == ["email"]
    assert post(api, "[]").status_code == 400
    assert clients == []
    assert post(api, VALID).status_code == 503  # the same deployment, given a valid form
