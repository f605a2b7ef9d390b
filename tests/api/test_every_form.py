"""What every intake form does alike: store once, encrypt, expire, answer scripts and plain forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.forms import FORMS, FormKind
from chalicelib.rules.policy import data_policy
from chalicelib.store.references import is_reference
from chalicelib.web.screening import PlainPostLimits

from tests.api.posting import post_form, post_json

FORM_KINDS = list(FORMS.values())
ids = [form.kind for form in FORM_KINDS]
# Forms that are filled in, rather than one click (a page vote, which thanks on its own
# page and is never timed: see test_a_vote_is_one_click_and_never_refused_as_too_fast).
FILLED_IN_FORMS = [form for form in FORM_KINDS if not form.model.one_click]


def example(form: FormKind) -> dict[str, Any]:
    return form.model.example(datetime.now(UTC).date())


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_example_is_stored_with_a_kind_prefixed_reference(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    response = post_json(api, form.path, example(form))
    assert response.status_code == 201
    reference = response.json_body["reference"]
    assert is_reference(reference) and reference.startswith(form.reference_prefix + "-")
    [stored] = moto_account.submissions(form.kind)
    assert stored["reference"] == reference
    assert stored["status"] == form.initial_status
    assert set(stored["fields"]) <= set(form.model.open_fields())


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_no_personal_value_is_stored_in_plaintext(api: Any, moto_account: Any, form: FormKind) -> None:
    body = example(form)
    post_json(api, form.path, body)
    raw = json.dumps([{k: repr(v) for k, v in item.items()} for item in moto_account.raw_items()])
    personal_values = [str(body[name]) for name in form.model.personal_fields() if body.get(name)]
    assert personal_values
    for value in personal_values:
        assert value not in raw
        assert value.split()[-1] not in raw  # not even a surname or the last word


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_item_expires_after_the_kind_s_retention(api: Any, moto_account: Any, form: FormKind) -> None:
    post_json(api, form.path, example(form))
    [stored] = moto_account.submissions(form.kind)
    created = datetime.strptime(stored["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert stored["expires_at"] == int(data_policy().expires_at(form.kind, created).timestamp())


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_retry_with_same_key_returns_the_same_answer_and_stores_once(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    first = post_json(api, form.path, example(form), {"Idempotency-Key": f"retry-{form.kind}"})
    again = post_json(api, form.path, example(form), {"Idempotency-Key": f"retry-{form.kind}"})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(moto_account.submissions(form.kind)) == 1


@pytest.mark.parametrize("form", FILLED_IN_FORMS, ids=lambda form: form.kind)
def test_plain_html_form_post_redirects_to_the_thank_you_page(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    response = post_form(api, form.path, {**example(form), "website": ""}, referer=form.page)
    assert response.status_code == 303
    [stored] = moto_account.submissions(form.kind)
    thanks = api.http.get(response.headers["Location"].removeprefix("/api"))
    assert thanks.status_code == 200
    assert stored["reference"] in thanks.body.decode()


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_plain_html_form_errors_are_listed_with_a_link_back(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    response = post_form(api, form.path, {"unexpected": "zz-typed-value"}, referer=form.page)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert f'href="{form.page}"' in page
    assert "zz-typed-value" not in page
    assert moto_account.raw_items() == []


@pytest.mark.parametrize("form", [f for f in FORM_KINDS if f.page != "/"], ids=lambda f: f.kind)
def test_without_a_referer_the_link_back_leads_to_the_form_s_page(api: Any, form: FormKind) -> None:
    response = post_form(api, form.path, {})
    assert f'href="{form.page}"' in response.body.decode()


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_a_honeypot_hit_looks_stored_but_is_not(api: Any, moto_account: Any, form: FormKind) -> None:
    response = post_json(api, form.path, {**example(form), "website": "http://spam.example"})
    assert response.status_code == 201
    assert is_reference(response.json_body["reference"])
    assert response.json_body["reference"].startswith(form.reference_prefix + "-")
    assert moto_account.raw_items() == []


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_a_honeypot_hit_from_a_plain_form_gets_the_usual_redirect(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    response = post_form(api, form.path, {**example(form), "website": "spam"})
    assert moto_account.raw_items() == []
    genuine = post_form(api, form.path, example(form))
    assert response.status_code == genuine.status_code == 303
    assert response.headers["Location"].split("?")[0] == genuine.headers["Location"].split("?")[0]


# A page vote is a single click: there is no filling to time (tests/api/test_other_forms.py).
@pytest.mark.parametrize("form", FILLED_IN_FORMS, ids=lambda form: form.kind)
def test_a_script_post_faster_than_two_seconds_is_refused_and_not_stored(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    response = post_json(api, form.path, example(form), {"X-Form-Fill-Ms": "1999"})
    assert response.status_code == 400
    assert "send it again" in response.json_body["message"]
    assert moto_account.raw_items() == []
    assert post_json(api, form.path, example(form), {"X-Form-Fill-Ms": "2000"}).status_code == 201


NASTY_VALUES = [None, 0, -1, 10**40, 3.5, True, "", " ", "x" * 6000, [], {}, {"$ne": 1}, ["a"],
                "\u0000", "2026-02-30", "9999-99-99", "<script>alert(1)</script>", "../../etc"]


@pytest.mark.parametrize("form", FORM_KINDS, ids=ids)
def test_no_value_a_client_can_send_gets_a_500(
    api: Any, chalice_app: Any, moto_account: Any, form: FormKind
) -> None:
    # A vote is screened as a post without a fill time: lift the per-address limit for this many.
    chalice_app.get_reception().limit = PlainPostLimits.of(10_000)
    base = example(form)
    for field in form.model.model_fields:
        for value in NASTY_VALUES:
            response = post_json(api, form.path, {**base, field: value})
            assert response.status_code in (201, 400, 409), (field, value, response.status_code)
            if response.status_code == 400:
                text = response.body.decode()
                assert "<script>" not in text


CONTACT_FORMS = [form for form in FORM_KINDS if "email" in form.model.model_fields]


def test_every_form_with_contact_details_offers_marketing_unticked() -> None:
    assert {form.kind for form in CONTACT_FORMS} == {
        "enquiry", "warranty_registration", "complaint", "return_request", "service_visit"
    }
    for form in CONTACT_FORMS:
        consent = form.model.model_json_schema()["properties"]["marketing_consent"]
        assert consent["default"] is False and consent["x-widget"] == "checkbox"


@pytest.mark.parametrize("form", CONTACT_FORMS, ids=lambda f: f.kind)
def test_an_opt_in_is_recorded_with_its_form_and_notice_version(
    api: Any, moto_account: Any, form: FormKind
) -> None:
    post_json(api, form.path, {**example(form), "marketing_consent": True})
    moto_account.record_consents()
    [consent] = [item for item in moto_account.raw_items() if item.get("kind") == "consent"]
    assert consent["fields"]["source_form"] == form.kind
    assert consent["fields"]["notice_version"] == data_policy().notice_version
    assert consent["subject_hash"] == moto_account.submissions(form.kind)[0]["subject_hash"]
