"""POST /api/track on moto: status in plain words, customer messages only, no probing, no decrypting."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalicelib.cases.book import CASE_MESSAGE_CONTEXT, CaseBook, Change
from chalicelib.crypto.keys import SubmissionCipher
from chalicelib.forms import ServiceVisit
from chalicelib.rules.lifecycles import IllegalMove, case_policy
from chalicelib.settings import Settings

from tests.api.posting import post_form, post_json

COMPLAINT = {
    "category": "promise-not-kept", "description": "No call back.", "desired_outcome": "A call.",
    "name": "Hal Ito", "email": "Hal.Ito@example.com", "order_reference": "ORD-1",
}
INTERNAL_NOTE = "Courier admitted losing the parcel"
MESSAGE_ROLE = "arn:aws:iam::123456789012:role/aftercare-case-messages"


@pytest.fixture
def tracked(api: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A complaint taken on by Sam Patel and resolved, with messages for the customer."""
    monkeypatch.setenv("AFTERCARE_CASE_MESSAGE_ROLE_ARN", MESSAGE_ROLE)
    reference = post_json(api, "/complaints", COMPLAINT).json_body["reference"]
    settings = Settings.from_environ(os.environ)
    book = CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))
    book.change(reference, Change(status="acknowledged", handler="Sam Patel",
                                  message="Sam will call you tomorrow."), actor="staff")
    book.change(reference, Change(status="resolved", note=INTERNAL_NOTE,
                                  message="We have refunded the delivery charge."), actor="staff")
    return reference


def test_the_customer_sees_status_handler_steps_and_messages(api: Any, tracked: str) -> None:
    answer = post_json(api, "/track", {"reference": tracked.lower(), "email": " hal.ito@EXAMPLE.com "})

    assert answer.status_code == 200
    body = answer.json_body
    assert body["reference"] == tracked and body["status"] == "resolved"
    assert body["status_words"] == case_policy().lifecycle("complaint").status("resolved").words
    assert body["handler"] == "Sam"  # first name only
    assert [m["message"] for m in body["messages"]] == [
        "Sam will call you tomorrow.", "We have refunded the delivery charge."]
    assert [step["words"] for step in body["steps"]][0] == "We have received your complaint."
    assert len(body["steps"]) == 3
    assert INTERNAL_NOTE not in answer.body.decode() and "Patel" not in answer.body.decode()


def test_a_wrong_email_and_an_unknown_reference_get_the_same_answer(api: Any, tracked: str) -> None:
    wrong_email = post_json(api, "/track", {"reference": tracked, "email": "someone@example.com"})
    unknown = post_json(api, "/track", {"reference": "CMP-2222-2222", "email": COMPLAINT["email"]})

    assert wrong_email.status_code == unknown.status_code == 404
    assert wrong_email.body == unknown.body


def test_without_javascript_the_answer_is_a_page_with_the_messages(api: Any, tracked: str) -> None:
    page = post_form(api, "/track", {"reference": tracked, "email": COMPLAINT["email"]}, referer="/track/")

    text = page.body.decode()
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "We have resolved your complaint." in text and "Sam will call you tomorrow." in text
    assert INTERNAL_NOTE not in text
    missing = post_form(api, "/track", {"reference": "nonsense"}, referer="/track/")
    assert missing.status_code == 400 and "Reference" in missing.body.decode()


def test_the_track_function_opens_customer_messages_and_nothing_else(
    api: Any, tracked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_open = SubmissionCipher.open

    def spy(self: SubmissionCipher, blob: bytes, *, kind: str, reference: str) -> dict[str, Any]:
        opened.append(kind)
        return real_open(self, blob, kind=kind, reference=reference)

    monkeypatch.setattr(SubmissionCipher, "open", spy)
    assert post_json(api, "/track", {"reference": tracked, "email": COMPLAINT["email"]}).status_code == 200
    assert opened == [CASE_MESSAGE_CONTEXT, CASE_MESSAGE_CONTEXT]


def test_bad_bodies_get_the_contract_answers(api: Any) -> None:
    assert post_json(api, "/track", {"reference": "CMP-2222-2222"}).status_code == 400
    assert post_json(api, "/track", "[1]").status_code == 400
    assert api.http.post("/track", headers={"Content-Type": "text/plain"}, body="x").status_code == 415


def test_the_openapi_document_describes_track(api: Any) -> None:
    document = api.http.get("/openapi.json").json_body
    operation = document["paths"]["/track"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "404", "503"}
    assert set(document["components"]["schemas"]["TrackQuery"]["required"]) == {"reference", "email"}


def test_a_booked_visit_shows_its_window_and_engineer(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERCARE_CASE_MESSAGE_ROLE_ARN", MESSAGE_ROLE)
    body = ServiceVisit.example(datetime.now(UTC).date())
    booked = datetime.now(UTC).date() + timedelta(days=8)
    reference = post_json(api, "/service-visits", body).json_body["reference"]
    settings = Settings.from_environ(os.environ)
    book = CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))
    with pytest.raises(IllegalMove, match="visit window"):
        book.change(reference, Change(status="scheduled", handler="Priya Shah"), actor="staff")
    for free_text in ("Monday morning", "3 December, 9:00 to 13:00", f"{booked.isoformat()} 13:00-09:00",
                      f"{booked.isoformat()} 03:00-05:00", "2020-01-06 morning"):
        with pytest.raises(IllegalMove, match="visit window"):
            book.change(reference, Change(status="scheduled", handler="Priya Shah", window=free_text),
                        actor="staff")
    book.change(reference, Change(status="scheduled", handler="Priya Shah",
                                  window=f"{booked.isoformat()} morning"), actor="staff")

    shown = post_json(api, "/track", {"reference": reference, "email": body["email"]}).json_body

    assert reference.startswith("VIS-") and shown["status_words"] == "Your visit is booked."
    in_words = f"{booked:%A} {booked.day} {booked:%B}, 9:00 to 13:00"
    assert shown["visit_window"] == in_words and shown["handler"] == "Priya"
    # Once booked, the promise is the booking: its day, not "within fifteen working days".
    assert shown["next_step_due_on"] == booked.isoformat()
    page = post_form(api, "/track", {"reference": reference, "email": body["email"]}).body.decode()
    assert in_words in page


def test_the_thank_you_page_of_a_case_links_to_tracking_with_the_reference_only(
    api: Any, moto_account: Any
) -> None:
    sent = post_form(api, "/complaints", COMPLAINT)
    [reference] = [item["reference"] for item in moto_account.submissions("complaint")]
    feedback = post_form(api, "/feedback", {"overall": 4})  # feedback is not a case: nothing to follow

    case_page = api.http.get(sent.headers["Location"].removeprefix("/api")).body.decode()
    other_page = api.http.get(feedback.headers["Location"].removeprefix("/api")).body.decode()

    assert reference.startswith("CMP-")
    assert f'href="/api/track?reference={reference}"' in case_page
    # (The site's navigation around both pages links the Track a request page, as on every page.)
    assert "/api/track?" not in other_page and "Follow your request" not in other_page
    assert "example.com" not in case_page


def test_the_emailed_track_link_answers_the_track_page_with_the_reference_filled_in(api: Any) -> None:
    response = api.http.get("/track?reference=CMP-7K3M-Q9XD")
    assert response.status_code == 200
    assert 'value="CMP-7K3M-Q9XD"' in response.body.decode()
