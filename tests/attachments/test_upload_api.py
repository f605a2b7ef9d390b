"""POST /api/uploads and the intake's rules for the uploads a submission names."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import pytest
from chalicelib.forms import FORMS
from chalicelib.settings import Settings
from chalicelib.store import items

from tests.api.posting import freeze_clock, post_form, post_json
from tests.samples import payload_for

TODAY = date(2026, 11, 22)
JPEG_REQUEST = {"form": "return_request", "content_type": "image/jpeg", "size": 2_000}


def issue(api: Any, **changes: Any) -> dict[str, Any]:
    response = post_json(api, "/uploads", {**JPEG_REQUEST, **changes})
    assert response.status_code == 201, response.json_body
    return response.json_body  # type: ignore[no-any-return]


def send(api: Any, kind: str, attachments: Any, **headers: str) -> Any:
    form = FORMS[kind]
    return post_json(api, form.path, {**payload_for(form, TODAY), "attachments": attachments}, headers)


def upload_records(account: Any) -> dict[str, dict[str, Any]]:
    return {item["upload_id"]: item for item in account.raw_items() if items.record_type(item) == "upload"}


def test_an_upload_is_issued_as_a_presigned_post_for_a_random_key(
    uploads_api: Any, moto_account: Any
) -> None:
    first, second = issue(uploads_api), issue(uploads_api)
    assert first["upload_id"] != second["upload_id"]
    assert first["fields"]["key"] == items.upload_object_key(first["upload_id"])
    assert first["fields"]["Content-Type"] == "image/jpeg"
    assert {"policy", "x-amz-signature"} <= set(first["fields"])
    record = upload_records(moto_account)[first["upload_id"]]
    assert (record["form_kind"], record["used"], record["check"]) == ("return_request", False, "issued")


@pytest.mark.parametrize(("change", "field"), [
    ({"content_type": "application/x-msdownload"}, "content_type"),
    ({"size": 10 * 1024 * 1024 + 1}, "size"),
    ({"size": 0}, "size"),
    ({"size": True}, "size"),
    ({"size": "2000"}, "size"),
    ({"size": 2000.5}, "size"),
    ({"form": "enquiry"}, "form"),
])
def test_an_upload_outside_the_limits_is_refused_naming_the_field(
    uploads_api: Any, moto_account: Any, change: dict[str, Any], field: str
) -> None:
    response = post_json(uploads_api, "/uploads", {**JPEG_REQUEST, **change})
    assert response.status_code == 400
    assert [e["field"] for e in response.json_body["errors"]] == [field]
    assert moto_account.raw_items() == []


def test_a_submission_marks_its_uploads_used_in_the_same_write(uploads_api: Any, chalice_app: Any,
                                                              moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    ids = [issue(uploads_api)["upload_id"], issue(uploads_api, content_type="application/pdf")["upload_id"]]
    response = send(uploads_api, "return_request", ids)
    assert response.status_code == 201, response.json_body
    [stored] = moto_account.submissions("return_request")
    assert stored["fields"]["attachments"] == ids
    records = upload_records(moto_account)
    for upload_id in ids:
        assert records[upload_id]["used"] is True
        assert records[upload_id]["reference"] == stored["reference"]
        assert records[upload_id]["subject_hash"] == stored["subject_hash"]
        assert records[upload_id][items.EXPIRY_ATTRIBUTE] == stored[items.EXPIRY_ATTRIBUTE]


def test_a_plain_html_form_names_its_uploads_in_one_field(uploads_api: Any, chalice_app: Any,
                                                          moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    ids = [issue(uploads_api, form="complaint")["upload_id"] for _ in range(2)]
    body = {**payload_for(FORMS["complaint"], TODAY), "attachments": ",".join(ids)}
    assert post_form(uploads_api, FORMS["complaint"].path, body).status_code == 303
    [stored] = moto_account.submissions("complaint")
    assert stored["fields"]["attachments"] == ids


def refusal(response: Any) -> str:
    assert response.status_code == 400, response.json_body
    [error] = response.json_body["errors"]
    assert error["field"] == "attachments"
    return str(error["message"])


def test_a_forged_upload_id_is_refused(uploads_api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    assert "not one of our uploads" in refusal(send(uploads_api, "return_request", ["A" * 24]))
    assert "not one of our uploads" in refusal(send(uploads_api, "return_request", ["../../etc"]))
    assert moto_account.submissions() == []


def test_a_used_upload_cannot_be_sent_again(uploads_api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api)["upload_id"]
    assert send(uploads_api, "return_request", [upload_id]).status_code == 201
    assert "already sent" in refusal(send(uploads_api, "return_request", [upload_id]))
    assert len(moto_account.submissions()) == 1


def test_a_retry_with_the_same_key_answers_the_first_reference(uploads_api: Any, chalice_app: Any,
                                                               moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api)["upload_id"]
    first = send(uploads_api, "return_request", [upload_id], **{"Idempotency-Key": "k-1"})
    again = send(uploads_api, "return_request", [upload_id], **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json_body["reference"] == first.json_body["reference"]
    assert len(moto_account.submissions()) == 1


def test_an_upload_for_another_form_is_refused(uploads_api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api, form="complaint")["upload_id"]
    assert "different form" in refusal(send(uploads_api, "return_request", [upload_id]))
    assert upload_records(moto_account)[upload_id]["used"] is False


def test_an_expired_upload_is_refused(uploads_api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api)["upload_id"]
    freeze_clock(chalice_app, TODAY + timedelta(days=1))
    assert "too long ago" in refusal(send(uploads_api, "return_request", [upload_id]))
    assert moto_account.submissions() == []


def test_more_than_three_files_are_refused(uploads_api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    ids = [issue(uploads_api)["upload_id"] for _ in range(4)]
    assert "at most 3" in refusal(send(uploads_api, "return_request", ids))
    assert not any(record["used"] for record in upload_records(moto_account).values())


def test_the_same_upload_twice_in_one_submission_is_refused(uploads_api: Any, chalice_app: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api)["upload_id"]
    assert "twice" in refusal(send(uploads_api, "return_request", [upload_id, upload_id]))


def test_forms_without_files_take_no_attachments(uploads_api: Any, chalice_app: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    upload_id = issue(uploads_api)["upload_id"]
    response = post_json(uploads_api, FORMS["enquiry"].path,
                         {**payload_for(FORMS["enquiry"], TODAY), "attachments": [upload_id]})
    assert response.status_code == 400
    assert [e["field"] for e in response.json_body["errors"]] == ["attachments"]


# -- Where an upload request comes from (screened like a form post without a fill time) ---

def ask_bare(api: Any, headers: dict[str, str]) -> Any:
    return api.http.post("/uploads", headers={"Content-Type": "application/json", **headers},
                         body=json.dumps(JPEG_REQUEST))


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {},  # says nothing of where it comes from: a script, not the site's page
    {"Origin": "https://elsewhere.example", "Host": "help.example"},
])
def test_an_upload_asked_for_from_another_site_or_from_nowhere_is_refused(
    uploads_api: Any, moto_account: Any, headers: dict[str, str]
) -> None:
    response = ask_bare(uploads_api, headers)
    assert response.status_code == 403
    assert "our own site" in response.json_body["message"]
    assert moto_account.raw_items() == []


def test_a_browser_without_sec_fetch_site_is_known_by_the_sites_own_origin(
    uploads_api: Any, chalice_app: Any, moto_account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behind the CDN the API's Host is API Gateway's, not the site's: the origin is configured.
    headers = {"Origin": "https://help.example", "Host": "abc123.execute-api.eu-west-1.amazonaws.com"}
    chalice_app.site_origins.cache_clear()
    assert ask_bare(uploads_api, headers).status_code == 403
    monkeypatch.setenv("AFTERCARE_SITE_ORIGINS", "https://help.example")
    chalice_app.site_origins.cache_clear()
    try:
        assert ask_bare(uploads_api, headers).status_code == 201
    finally:
        chalice_app.site_origins.cache_clear()


def test_a_files_name_is_stored_sealed_and_a_name_too_long_is_refused(
    uploads_api: Any, moto_account: Any
) -> None:
    issued = issue(uploads_api, name="Ann Lee receipt.jpg")
    record = upload_records(moto_account)[issued["upload_id"]]
    assert isinstance(record[items.FILE_NAME_ATTRIBUTE], bytes)
    assert b"Ann Lee" not in record[items.FILE_NAME_ATTRIBUTE]
    staff_cipher = Settings.from_environ(os.environ).cipher()
    opened = staff_cipher.open(record[items.FILE_NAME_ATTRIBUTE], kind="return_request",
                               reference=issued["upload_id"])
    assert opened == {"name": "Ann Lee receipt.jpg"}
    response = post_json(uploads_api, "/uploads", {**JPEG_REQUEST, "name": "x" * 256})
    assert response.status_code == 400
    assert [e["field"] for e in response.json_body["errors"]] == ["name"]


def test_a_size_written_as_a_number_with_no_fraction_is_the_whole_number(
    uploads_api: Any, moto_account: Any
) -> None:
    # JSON schema's integer is any number with no fraction: 2000.0 is the size 2000.
    assert issue(uploads_api, size=2000.0)["max_bytes"] == 2000
