"""Spam screening over the API: where a post comes from, the no-JavaScript rules, and contesting a serial."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from chalicelib.forms import FORMS
from chalicelib.web.screening import PlainPostLimits

from tests.api.posting import as_form_fields, post_form, post_json
from tests.api.test_warranty import REGISTER, REGISTRATION, register
from tests.api.test_warranty import today as today  # a fixture

FEEDBACK = FORMS["feedback"]
# What Chromium sends with a plain form post from the site's own page (JavaScript off).
BROWSER_FORM_POST = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Host": "help.example",
    "Origin": "https://help.example",
    "Referer": "https://help.example/feedback/",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
}


def feedback() -> dict[str, Any]:
    return FEEDBACK.model.example(datetime.now(UTC).date())


def bare_json(api: Any, body: Any, headers: dict[str, str]) -> Any:
    import json

    return api.http.post(FEEDBACK.path, headers={"Content-Type": "application/json", **headers},
                         body=json.dumps(body))


def test_a_script_that_leaves_out_the_fill_time_is_held_to_the_no_javascript_rules(
    api: Any, moto_account: Any
) -> None:
    response = bare_json(api, feedback(), {})
    assert response.status_code == 403
    assert "our own site" in response.json_body["message"]
    for nonsense in ("{}", "", "not-a-number", "-5", "1e3", "9" * 50):
        response = bare_json(api, feedback(), {"X-Form-Fill-Ms": nonsense})
        assert response.status_code == 400, nonsense
        assert response.json_body["errors"][0]["field"] == "X-Form-Fill-Ms"
    assert moto_account.raw_items() == []
    # The same post, as a same-site browser sends it, is taken.
    assert bare_json(api, feedback(), {"Sec-Fetch-Site": "same-origin"}).status_code == 201


def test_json_from_another_origin_is_refused_even_with_a_fill_time(api: Any, moto_account: Any) -> None:
    for headers in ({"Origin": "https://evil.example", "Host": "help.example"},
                    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}):
        response = bare_json(api, feedback(), {**headers, "X-Form-Fill-Ms": "5000"})
        assert response.status_code == 403
        assert set(response.json_body) == {"message"}
    assert moto_account.raw_items() == []


def test_a_person_without_javascript_gets_through_and_another_site_does_not(
    api: Any, moto_account: Any
) -> None:
    body = urlencode(as_form_fields(feedback()))
    assert api.http.post(FEEDBACK.path, headers=BROWSER_FORM_POST, body=body).status_code == 303
    # An older browser sends Origin but no Fetch Metadata.
    older = {k: v for k, v in BROWSER_FORM_POST.items() if not k.startswith("Sec-")}
    changed = urlencode(as_form_fields({**feedback(), "comment": "Second thoughts."}))
    assert api.http.post(FEEDBACK.path, headers=older, body=changed).status_code == 303
    cross = {**BROWSER_FORM_POST, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = api.http.post(FEEDBACK.path, headers=cross, body=body)
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("text/html")
    assert len(moto_account.submissions("feedback")) == 2


def test_the_same_plain_form_sent_twice_is_stored_once(api: Any, moto_account: Any) -> None:
    body = urlencode(as_form_fields(feedback()))
    first = api.http.post(FEEDBACK.path, headers=BROWSER_FORM_POST, body=body)
    again = api.http.post(FEEDBACK.path, headers=BROWSER_FORM_POST, body=body)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(moto_account.submissions("feedback")) == 1


def test_plain_posts_are_limited_per_address_with_retry_after(api: Any, chalice_app: Any) -> None:
    chalice_app.get_reception().limit = PlainPostLimits.of(2)
    answers = [post_form(api, FEEDBACK.path, {**feedback(), "comment": f"Visit {n}."}).status_code
               for n in range(3)]
    assert answers == [303, 303, 429]
    limited = bare_json(api, feedback(), {"Sec-Fetch-Site": "same-origin"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # The site's script, which measures the fill time, is not held to the plain-post limit.
    assert post_json(api, FEEDBACK.path, feedback()).status_code == 201


def test_one_honest_person_without_javascript_is_never_limited(api: Any, chalice_app: Any) -> None:
    """Issue 24: about 20 plain posts in ten minutes (retries after a 400, page votes) gave a 429."""
    chalice_app.get_reception().limit = PlainPostLimits()  # the limits as deployed
    answers = []
    for page in range(30):
        vote = {"page": f"/guides/page-{page}/", "helpful": "true"}
        answers.append(post_form(api, "/page-feedback", vote).status_code)
    for _ in range(25):  # a form sent back and corrected, again and again
        answers.append(post_form(api, FEEDBACK.path, {**feedback(), "overall": "9"}).status_code)
    taken = {**feedback(), "comment": "Sent at last."}
    answers += [post_form(api, FEEDBACK.path, taken).status_code for _ in range(3)]  # and again
    assert 429 not in answers
    assert answers.count(400) == 25 and answers[-3:] == [303, 303, 303]


def test_votes_and_refused_forms_leave_a_form_s_room_alone(api: Any, chalice_app: Any) -> None:
    chalice_app.get_reception().limit = PlainPostLimits.of(2)
    votes = [post_form(api, "/page-feedback", {"page": f"/p{n}/", "helpful": "false"}).status_code
             for n in range(3)]
    refused = [post_form(api, FEEDBACK.path, {**feedback(), "overall": "0"}).status_code for _ in range(5)]
    taken = [post_form(api, FEEDBACK.path, {**feedback(), "comment": f"Visit {n}."}).status_code
             for n in range(3)]
    assert votes == [303] * 3 and refused == [400] * 5
    assert taken == [303, 303, 429]  # two forms a window, as set: the third is one too many


def test_a_taken_serial_can_be_contested_with_proof_of_purchase(
    api: Any, moto_account: Any, today: Any
) -> None:
    assert register(api).status_code == 201
    conflict = register(api, name="Ivo Jones", email="ivo@example.com")
    assert conflict.status_code == 409
    claim = conflict.json_body["claim"]
    assert claim["path"] == FORMS["enquiry"].path
    assert claim["fields"]["topic"] == "proof-of-purchase"
    assert claim["fields"]["order_reference"] == "PW82407K00123"
    sent = post_json(api, claim["path"], {**claim["fields"], "name": "Ivo Jones", "email": "ivo@example.com"})
    assert sent.status_code == 201 and sent.json_body["reference"].startswith("ENQ-")


def test_the_html_409_offers_a_claim_form_that_works_without_javascript(
    api: Any, moto_account: Any, today: Any
) -> None:
    assert register(api).status_code == 201
    someone_else = {**REGISTRATION, "email": "ivo@example.com"}
    page = post_form(api, REGISTER, someone_else, referer="/warranty/register/").body.decode()
    [form] = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    action, inner = form
    assert action == "/api/enquiries"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner))
    assert fields == {"topic": "proof-of-purchase", "order_reference": "PW82407K00123"}
    message = unescape(re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", inner, re.S).group(1))
    assert "proof of purchase" in message
    sent = post_form(api, action.removeprefix("/api"),
                     {**fields, "message": message, "name": "Ivo Jones", "email": "ivo@example.com"})
    assert sent.status_code == 303
    [enquiry] = moto_account.submissions("enquiry")
    assert enquiry["fields"]["topic"] == "proof-of-purchase"


def test_a_quick_warranty_check_is_not_refused_but_another_site_is(api: Any, moto_account: Any) -> None:
    query = {"serial_number": "V55240012345", "email": "someone@example.com"}
    assert post_json(api, "/warranty-status", query, {"X-Form-Fill-Ms": "100"}).status_code == 404
    cross = post_json(api, "/warranty-status", query, {"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403


@pytest.mark.parametrize(("path", "query", "missing"), [
    ("/warranty-status", {"serial_number": "V55240012345", "email": "someone@example.com"}, "email"),
    ("/track", {"reference": "CMP-2222-2222", "email": "someone@example.com"}, "email"),
])
def test_each_look_up_is_screened_before_it_is_validated_and_never_for_its_speed(
    api: Any, moto_account: Any, monkeypatch: pytest.MonkeyPatch, path: str, query: dict[str, str],
    missing: str,
) -> None:
    from tests.api.test_track import MESSAGE_ROLE

    monkeypatch.setenv("AFTERCARE_CASE_MESSAGE_ROLE_ARN", MESSAGE_ROLE)
    assert post_json(api, path, query, {"X-Form-Fill-Ms": "100"}).status_code == 404
    assert post_json(api, path, query, {"Sec-Fetch-Site": "cross-site"}).status_code == 403
    # Another site learns nothing of what a valid query looks like: refused before validation.
    incomplete = {name: value for name, value in query.items() if name != missing}
    assert post_json(api, path, incomplete, {"Sec-Fetch-Site": "cross-site"}).status_code == 403
    invalid = post_json(api, path, incomplete, {"X-Form-Fill-Ms": "100"})
    assert invalid.status_code == 400
    assert [e["field"] for e in invalid.json_body["errors"]] == [missing]
