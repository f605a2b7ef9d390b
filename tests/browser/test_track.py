"""Track a request, as a customer uses it: with JavaScript, without it, and with a wrong email."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.cases.book import CaseBook, Change
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store.table import SubmissionTable

from .conftest import Visit, form_pages
from .test_forms import post_json

pytestmark = pytest.mark.browser

COMPLAINT = {
    "category": "promise-not-kept", "description": "No call back.", "desired_outcome": "A call.",
    "name": "Hal Ito", "email": "hal.ito@example.com", "order_reference": "ORD-1",
}
NOTE = "Courier admitted losing the parcel"
MESSAGE = "Sam will call you tomorrow."


def acknowledged_complaint(live: Any) -> str:
    status, answer = post_json(live.base_url, "/api/complaints", COMPLAINT)
    assert status == 201, answer
    reference = str(answer["reference"])
    book = CaseBook(SubmissionTable(live.table_name, live.dynamodb), live.cipher(), case_policy(),
                    lambda: datetime.now(UTC))
    book.change(reference, Change(status="acknowledged", handler="Sam Patel", note=NOTE, message=MESSAGE),
                actor="local:test")
    return reference


def track(visit: Visit, reference: str | None, email: str) -> Any:
    path = form_pages()["track"] + (f"?reference={reference}" if reference and visit.javascript else "")
    page = visit.open(path)
    form = page.locator("form[data-af-form=track]")
    if reference and not visit.javascript:
        form.get_by_label("Reference").fill(reference)
    form.get_by_label(re.compile("email", re.I)).fill(email)
    form.locator(".af-submit").click()
    return page


def test_track_with_javascript_fills_the_reference_and_shows_the_messages(with_js: Visit, live: Any) -> None:
    reference = acknowledged_complaint(live)

    page = track(with_js, reference, COMPLAINT["email"])

    outcome = page.locator(".af-outcome")
    outcome.get_by_role("heading", name="Your complaint").wait_for()
    text = outcome.inner_text()
    assert "A handler has taken on your complaint." in text and MESSAGE in text and "Sam" in text
    assert NOTE not in text and "Patel" not in text
    assert page.url.endswith(f"?reference={reference}"), "the page answers in place"
    assert COMPLAINT["email"] not in " ".join(with_js.requests)


def test_track_without_javascript_answers_a_plain_page(without_js: Visit, live: Any) -> None:
    reference = acknowledged_complaint(live)

    page = track(without_js, reference, COMPLAINT["email"])

    page.wait_for_url(re.compile(r"/api/track$"))
    text = page.locator("body").inner_text()
    assert "A handler has taken on your complaint." in text and MESSAGE in text
    assert NOTE not in text and COMPLAINT["email"] not in page.url


def test_a_wrong_email_is_told_plainly_and_what_was_typed_stays(with_js: Visit, live: Any) -> None:
    reference = acknowledged_complaint(live)

    page = track(with_js, reference, "someone.else@example.com")

    page.locator(".af-error-summary").wait_for()
    assert "We found no request" in page.locator(".af-error-summary").inner_text()
    assert page.get_by_label("Reference").input_value() == reference
