"""Feedback, page votes, complaints and return requests: what each adds to the common behaviour."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from chalicelib.forms.feedback import NOT_OUR_ADDRESS
from chalicelib.web.screening import PlainPostLimit, PlainPostLimits

from tests.api.posting import BuiltPage, freeze_clock, post_form, post_json

TODAY = date(2026, 11, 22)


def test_feedback_ratings_are_stored_in_the_open_and_the_comment_sealed(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/feedback", {"overall": 2, "staff_attitude": 5, "comment": "Zq kind staff",
                                            "page": "/returns/"})
    assert response.status_code == 201
    [stored] = moto_account.submissions("feedback")
    assert stored["fields"] == {"overall": 2, "staff_attitude": 5, "page": "/returns/"}
    assert "subject_hash" not in stored  # no contact details, so nobody to find
    assert "Zq kind" not in repr(moto_account.raw_items())


OUR_SITE = "http://127.0.0.1:8000"


@pytest.mark.parametrize(("typed", "stored_as"), [
    (f"{OUR_SITE}/guides/aura-book-14/", "/guides/aura-book-14/"),
    (f"{OUR_SITE}/guides/aura-book-14/?q=reset#charging", "/guides/aura-book-14/"),
    ("/policies/returns/", "/policies/returns/"),
    ("Aura Book 14 guide, charging section", "Aura Book 14 guide, charging section"),
])
def test_feedback_page_takes_an_address_on_our_site_or_a_page_title(
    api: Any, moto_account: Any, typed: str, stored_as: str
) -> None:
    response = post_json(api, "/feedback", {"overall": 4, "page": typed}, {"Origin": OUR_SITE})
    assert response.status_code == 201, response.json_body
    [stored] = moto_account.submissions("feedback")
    assert stored["fields"]["page"] == stored_as


@pytest.mark.parametrize("typed", [
    "https://elsewhere.example/guides/aura-book-14/", "http://127.0.0.1:9999/guides/", "javascript:alert(1)",
    "www.elsewhere.example/page", "//elsewhere.example/x",
])
def test_feedback_page_on_another_site_is_refused_with_a_clear_message(
    api: Any, moto_account: Any, typed: str
) -> None:
    response = post_json(api, "/feedback", {"overall": 4, "page": typed}, {"Origin": OUR_SITE})
    assert response.status_code == 400
    assert response.json_body["errors"] == [{"field": "page", "message": NOT_OUR_ADDRESS}]
    assert moto_account.raw_items() == []


def test_a_plain_form_with_our_own_page_s_address_goes_on_to_the_thank_you_page(
    api: Any, moto_account: Any
) -> None:
    body = urlencode({"overall": "4", "page": f"{OUR_SITE}/guides/aura-book-14/"})
    response = api.http.post("/feedback", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"{OUR_SITE}/feedback/",
        "Origin": OUR_SITE, "Sec-Fetch-Site": "same-origin",
    })
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/api/thanks?receipt=")
    [stored] = moto_account.submissions("feedback")
    assert stored["fields"]["page"] == "/guides/aura-book-14/"


def test_the_feedback_form_from_a_guide_s_link_has_the_page_filled_in(api: Any) -> None:
    response = api.http.get("/feedback?page=%2Fguides%2Faura-book-14%2F&comment=zz-not-from-a-link")
    assert response.status_code == 200
    page = BuiltPage(response.body.decode())
    assert page.control("f-feedback-page")["value"] == "/guides/aura-book-14/"
    assert page.control("f-feedback-comment")["text"] == "", "nothing personal is taken from a link"
    assert not page.title.startswith("Error"), "a link's form is not an error"
    assert "hidden" in page.control("f-feedback-errors")


def test_feedback_ratings_out_of_range_are_rejected(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/feedback", {"overall": 6, "product_quality": 0})
    assert response.status_code == 400
    assert {e["field"] for e in response.json_body["errors"]} == {"overall", "product_quality"}
    assert moto_account.raw_items() == []


def test_feedback_from_a_plain_form_with_radio_buttons(api: Any, moto_account: Any) -> None:
    response = post_form(api, "/feedback", {"overall": "5", "speed_of_service": "", "comment": ""})
    assert response.status_code == 303
    [stored] = moto_account.submissions("feedback")
    assert stored["fields"] == {"overall": 5}


def test_a_page_vote_is_stored_as_its_own_kind(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/page-feedback", {"page": "/guides/aura-book-14/", "helpful": True})
    assert response.status_code == 201
    assert response.json_body["reference"].startswith("PG-")
    [stored] = moto_account.submissions("page_feedback")
    assert stored["fields"] == {"page": "/guides/aura-book-14/", "helpful": True, "follows_vote": False}


def test_a_vote_is_one_click_and_never_refused_as_too_fast(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/page-feedback", {"page": "/guides/aura-book-14/", "helpful": True},
                         {"X-Form-Fill-Ms": "40"})
    assert response.status_code == 201
    assert len(moto_account.submissions("page_feedback")) == 1
    # Forms that are filled in are still timed.
    assert post_json(api, "/feedback", {"overall": 4}, {"X-Form-Fill-Ms": "40"}).status_code == 400


def test_a_vote_s_fill_time_buys_a_script_nothing(api: Any, chalice_app: Any, moto_account: Any) -> None:
    """Untimed, a vote is held to the no-JavaScript rules: our own site, and a per-address limit."""
    vote = {"page": "/guides/aura-book-14/", "helpful": True}
    from_nowhere = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000"}
    response = api.http.post("/page-feedback", headers=from_nowhere, body=json.dumps(vote))
    assert response.status_code == 403
    chalice_app.get_reception().limit = PlainPostLimits(votes=PlainPostLimit(limit=1))
    assert post_json(api, "/page-feedback", vote).status_code == 201
    limited = post_json(api, "/page-feedback", vote, {"X-Form-Fill-Ms": "90000"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert len(moto_account.submissions("page_feedback")) == 1


@pytest.mark.parametrize(("vote", "note"), [("true", "af-helpful-yes"), ("false", "af-helpful-no")])
def test_a_plain_vote_returns_to_its_page_at_the_note_for_its_answer(
    api: Any, moto_account: Any, vote: str, note: str
) -> None:
    response = post_form(api, "/page-feedback", {"page": "/policies/returns/", "helpful": vote},
                         referer="/policies/returns/")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/policies/returns/#{note}"
    assert len(moto_account.submissions("page_feedback")) == 1


def test_what_was_missing_after_a_no_is_a_comment_on_the_vote_not_another_vote(
    api: Any, moto_account: Any
) -> None:
    guide = "/guides/aura-book-14/"
    assert post_form(api, "/page-feedback", {"page": guide, "helpful": "false"}).status_code == 303
    comment = {"page": guide, "helpful": "false", "follows_vote": "true", "comment": "The reset button."}
    response = post_form(api, "/page-feedback", comment)
    assert response.headers["Location"] == f"{guide}#af-helpful-sent"
    stored = moto_account.submissions("page_feedback")
    votes = [s for s in stored if not s["fields"]["follows_vote"]]
    assert len(stored) == 2 and len(votes) == 1
    empty = post_json(api, "/page-feedback", {"page": guide, "helpful": False, "follows_vote": True})
    assert empty.status_code == 400
    assert "already counted" in empty.json_body["errors"][0]["message"]


def test_a_page_vote_without_an_answer_is_refused(api: Any) -> None:
    response = post_json(api, "/page-feedback", {"page": "/guides/aura-book-14/"})
    assert response.status_code == 400
    assert response.json_body["errors"] == [
        {"field": "helpful", "message": "Answer “Was this page helpful?”."}
    ]


def test_a_complaint_is_stored_as_a_new_case_for_staff_follow_up(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/complaints", {
        "category": "promise-not-kept", "description": "No call back.", "desired_outcome": "A call.",
        "name": "Hal Ito", "email": "hal@example.com", "order_reference": "ORD-1",
    })
    assert response.status_code == 201
    assert response.json_body["reference"].startswith("CMP-")
    [stored] = moto_account.submissions("complaint")
    assert stored["status"] == "received"
    assert stored["case_queue"] == "complaint" and stored["version"] == 0
    assert stored["fields"]["category"] == "promise-not-kept"
    assert stored["subject_hash"]


def test_a_complaint_with_marketing_opt_in_records_consent(api: Any, moto_account: Any) -> None:
    post_json(api, "/complaints", {
        "category": "other", "description": "x", "desired_outcome": "y",
        "name": "Hal Ito", "email": "hal@example.com", "marketing_consent": True,
    })
    moto_account.record_consents()
    [consent] = [i for i in moto_account.raw_items() if i.get("kind") == "consent"]
    assert consent["fields"]["source_form"] == "complaint"


def test_a_return_request_answers_where_it_stands(api: Any, chalice_app: Any, moto_account: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    response = post_json(api, "/return-requests", {
        "product": "nimbus-x5", "serial_number": "nx5-kb-0012345", "purchase_date": "2025-10-01",
        "reason": "Battery swells.", "wanted_outcome": "repair",
        "name": "Ida Kim", "email": "ida@example.com",
    })
    assert response.status_code == 201
    body = response.json_body
    assert body["reference"].startswith("RET-")
    assert {k: v for k, v in body.items() if k != "reference"} == {
        "return_window_ends_on": "2025-10-31",
        "inside_return_window": False,
        "warranty_expires_on": "2026-09-30",
        "under_warranty": False,
    }
    [stored] = moto_account.submissions("return_request")
    assert stored["fields"]["serial_number"] == "NX5KB0012345"


def test_a_return_request_for_a_serial_of_another_product_is_refused(api: Any, chalice_app: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    response = post_json(api, "/return-requests", {
        "product": "nimbus-x5", "serial_number": "AB1425001234", "purchase_date": "2026-10-01",
        "reason": "x", "wanted_outcome": "refund", "name": "Ida Kim", "email": "ida@example.com",
    })
    assert response.status_code == 400
    assert response.json_body["errors"][0]["field"] == "serial_number"


def test_the_thank_you_page_of_a_return_request_says_where_it_stands(api: Any, chalice_app: Any) -> None:
    freeze_clock(chalice_app, TODAY)
    request = {
        "product": "nimbus-x5", "serial_number": "nx5-kb-0012345", "purchase_date": "2026-10-20",
        "reason": "Battery swells.", "wanted_outcome": "repair",
        "name": "Ida Kim", "email": "ida@example.com",
    }
    answer = post_json(api, "/return-requests", request).json_body
    response = post_form(api, "/return-requests", request)
    assert response.status_code == 303
    thanks = api.http.get(response.headers["Location"].removeprefix("/api")).body.decode()
    window = "open until" if answer["inside_return_window"] else "ended on"
    window += " " + as_people_write(answer["return_window_ends_on"])
    covered = "ends on" if answer["under_warranty"] else "ended on"
    covered += " " + as_people_write(answer["warranty_expires_on"])
    assert f"<dt>Return window</dt><dd>{window}</dd>" in thanks
    assert f"<dt>Warranty</dt><dd>{covered}</dd>" in thanks


def as_people_write(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"
