"""Feedback, page votes, complaints and return requests: what each adds to the common behaviour."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.api.posting import freeze_clock, post_form, post_json

TODAY = date(2026, 11, 22)


def test_feedback_ratings_are_stored_in_the_open_and_the_comment_sealed(api: Any, moto_account: Any) -> None:
    response = post_json(api, "/feedback", {"overall": 2, "staff_attitude": 5, "comment": "Zq kind staff",
                                            "page": "/returns/"})
    assert response.status_code == 201
    [stored] = moto_account.submissions("feedback")
    assert stored["fields"] == {"overall": 2, "staff_attitude": 5, "page": "/returns/"}
    assert "subject_hash" not in stored  # no contact details, so nobody to find
    assert "Zq kind" not in repr(moto_account.raw_items())


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
    assert stored["fields"] == {"page": "/guides/aura-book-14/", "helpful": True}


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
