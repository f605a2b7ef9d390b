"""Every form over HTTP on the local stack (DynamoDB Local): the OpenAPI examples, posted as-is."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from chalicelib.crypto.keys import LocalSubjectHasher
from chalicelib.forms import FORMS, validate
from chalicelib.intake.receiving import AlreadyClaimed, Intake
from chalicelib.rules.policy import data_policy
from chalicelib.store.items import WARRANTY_PREFIX
from chalicelib.store.table import SubmissionTable

from tests.conftest import LiveStack
from tests.integration.test_local_stack import http


def post(live: LiveStack, path: str, body: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
    status, answer_headers, answer = http(
        "POST", f"{live.base_url}/api{path}", json.dumps(body).encode(),
        # As the site's script in a browser sends them: its fill time, the browser's Sec-Fetch-Site.
        {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin",
         **headers},
    )
    return status, answer_headers, json.loads(answer)


def openapi(live: LiveStack) -> dict[str, Any]:
    status, _, body = http("GET", f"{live.base_url}/api/openapi.json")
    assert status == 200
    return json.loads(body)


def examples(document: dict[str, Any]) -> dict[str, Any]:
    """Each JSON body the document shows (the unsubscribe POST takes its token in the query)."""
    return {
        path: operations["post"]["requestBody"]["content"]["application/json"]["example"]
        for path, operations in document["paths"].items()
        if "requestBody" in operations.get("post", {})
    }


def test_every_openapi_example_succeeds_on_a_fresh_stack(live: LiveStack) -> None:
    bodies = examples(openapi(live))
    status_query = bodies.pop("/warranty-status")
    # The example's reference was never given out: the answer any unknown reference gets.
    status, _, answer = post(live, "/track", bodies.pop("/track"))
    assert status == 404, answer
    references = {}
    for path, body in bodies.items():
        status, _, answer = post(live, path, body)
        assert status == 201, (path, answer)
        if path != "/uploads":  # an upload answers its presigned POST, not a reference
            references[path] = answer["reference"]
    # The complaint just sent is a case its sender can follow.
    status, _, answer = post(live, "/track", {"reference": references["/complaints"],
                                              "email": bodies["/complaints"]["email"]})
    assert status == 200 and answer["status"] == "received", answer
    status, _, answer = post(live, "/warranty-status", status_query)
    assert status == 200, answer
    assert answer["under_warranty"] is True
    # The same person's same registration again is recognised (issue 24, point 18) ...
    status, _, answer = post(live, "/warranty-registrations", bodies["/warranty-registrations"],
                             **{"Idempotency-Key": "another-key"})
    assert status == 201 and answer["reference"] == references["/warranty-registrations"], answer
    # ... and someone else's registration of that serial is told it is taken.
    someone_else = {**bodies["/warranty-registrations"], "email": "someone.else@example.com",
                    "name": "Someone Else"}
    status, _, answer = post(live, "/warranty-registrations", someone_else,
                             **{"Idempotency-Key": "a-third-key"})
    assert status == 409
    # Nothing about the first owner; the message beside the serial field, and a way to contest.
    assert set(answer) == {"message", "errors", "claim"}
    assert [error["field"] for error in answer["errors"]] == ["serial_number"]
    assert set(answer["claim"]["fields"]) == {"topic", "order_reference", "message"}
    assert {item["kind"] for item in live.submissions()} == set(FORMS)


def test_no_example_s_personal_data_is_stored_in_plaintext(live: LiveStack) -> None:
    bodies = examples(openapi(live))
    for form in FORMS.values():
        post(live, form.path, bodies[form.path])
    raw = repr(live.dynamodb().scan(TableName=live.table_name)["Items"])
    for form in FORMS.values():
        for field in form.model.personal_fields():
            if value := bodies[form.path].get(field):
                assert str(value) not in raw, (form.kind, field)


def test_the_same_serial_registered_at_once_from_many_places_is_stored_once(live: LiveStack) -> None:
    body = examples(openapi(live))["/warranty-registrations"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(
            lambda n: post(live, "/warranty-registrations", body, **{"Idempotency-Key": f"device-{n}"}),
            range(6),
        ))
    statuses = [status for status, _, _ in answers]
    # The same person's same registration is recognised, whichever device sent it (issue 24,
    # point 18): every 201 carries the one stored reference. A clash inside DynamoDB's
    # transaction can also answer 503 (retry later).
    assert {answer["reference"] for status, _, answer in answers if status == 201} != set()
    assert len({answer["reference"] for status, _, answer in answers if status == 201}) == 1
    assert set(statuses) <= {201, 409, 503}
    assert len(live.submissions("warranty_registration")) == 1
    warranties = [i for i in live.raw_items() if i["pk"].startswith(WARRANTY_PREFIX)]
    assert len(warranties) == 1


def test_a_plain_form_warranty_check_shows_a_page(live: LiveStack) -> None:
    bodies = examples(openapi(live))
    post(live, "/warranty-registrations", bodies["/warranty-registrations"])
    status, _, page = http(
        "POST", f"{live.base_url}/api/warranty-status", urlencode(bodies["/warranty-status"]).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"},
    )
    assert status == 200
    assert b"is under warranty" in page


@pytest.fixture
def intake(local_table: SubmissionTable) -> Intake:
    from chalicelib.crypto.keys import LocalKeyProvider, SubmissionCipher

    return Intake(local_table, SubmissionCipher(LocalKeyProvider.from_key(b"k" * 32)),
                  LocalSubjectHasher(b"s" * 32), data_policy())


def test_a_claim_conflict_on_the_real_engine_is_reported_as_already_claimed(intake: Intake) -> None:
    form = FORMS["warranty_registration"]
    registration = validate(form.model, form.model.example(datetime.now(UTC).date()),
                            today=datetime.now(UTC).date())
    first = intake.receive(form, registration, "key-a")
    assert intake.receive(form, registration, "key-a").reference == first.reference
    # The same registration again is recognised (issue 24, point 18); someone else's is refused.
    assert intake.receive(form, registration, "key-b").reference == first.reference
    someone_else = validate(form.model, {**form.model.example(datetime.now(UTC).date()),
                                         "email": "someone.else@example.com", "name": "Someone Else"},
                            today=datetime.now(UTC).date())
    with pytest.raises(AlreadyClaimed):
        intake.receive(form, someone_else, "key-c")
    with pytest.raises(AlreadyClaimed):
        intake.receive(form, someone_else)


def test_spam_screening_holds_over_http(live: LiveStack) -> None:
    body = examples(openapi(live))["/feedback"]
    status, _, answer = post(live, "/feedback", body, **{"X-Form-Fill-Ms": "300"})
    assert status == 400 and "send it again" in answer["message"]
    status, _, answer = post(live, "/feedback", {**body, "website": "http://spam.example"})
    assert status == 201 and answer["reference"].startswith("FB-")
    assert live.submissions() == []
