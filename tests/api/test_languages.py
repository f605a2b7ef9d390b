"""The API answers in the language of the page a form came from (its hidden `language` field),
else in the client's Accept-Language, else in English: errors, the no-JS form again, thanks,
warranty, track and unsubscribe pages; and the language is stored with the submission."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store.items import LANGUAGE_ATTRIBUTE

from tests.api.posting import BuiltPage, freeze_clock, post_form, post_json
from tests.api.test_track import COMPLAINT, MESSAGE_ROLE
from tests.api.test_warranty import REGISTER, REGISTRATION, STATUS_QUERY

TODAY = date(2026, 12, 7)
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
IN_HINDI = {"language": "hi"}


def content(page: str) -> str:
    """A page's own content, without the site's header and footer (which carry the scripts' words)."""
    return page.split("<article", 1)[-1].split("</article>", 1)[0]


@pytest.fixture
def today(chalice_app: Any) -> date:
    freeze_clock(chalice_app, TODAY)
    return TODAY


def test_a_hindi_page_s_errors_come_back_in_hindi_and_an_english_page_s_in_english(
    api: Any, today: date,
) -> None:
    broken = {**REGISTRATION, "email": "not an address", "serial_number": ""}
    hindi = post_json(api, REGISTER, {**broken, **IN_HINDI})
    english = post_json(api, REGISTER, broken)

    assert hindi.status_code == english.status_code == 400
    said = {e["field"]: e["message"] for e in hindi.json_body["errors"]}
    assert said["email"] == "name@example.com जैसा ईमेल पता लिखें।"
    assert said["serial_number"] == "सीरियल नंबर भरना ज़रूरी है।"  # the label from the forms catalog
    assert hindi.json_body["message"] == "नीचे बताए गए ख़ाने ठीक करें।"
    assert {e["field"]: e["message"] for e in english.json_body["errors"]}["email"] == (
        "Enter an email address like name@example.com.")


def test_a_json_client_may_ask_for_hindi_with_accept_language(api: Any, today: date) -> None:
    def asking(language: str, **more_headers: str) -> Any:
        # A script, not a page of the site: no Sec-Fetch-Site, the fill time it measured.
        headers = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000",
                   "Accept-Language": language}
        answer = api.http.post(REGISTER, headers={**headers, **more_headers},
                               body=json.dumps({**REGISTRATION, "email": "x"}))
        return str(answer.json_body["errors"][0]["message"])

    assert DEVANAGARI.search(asking("hi-IN,hi;q=0.9,en;q=0.5"))
    assert asking("ta-IN").startswith("Enter an email address")  # a language we do not have: English
    # A page of the site is answered in its own language, whatever its reader's browser prefers.
    assert asking("hi", **{"Sec-Fetch-Site": "same-origin"}).startswith("Enter an email address")


def test_a_message_with_values_says_them_as_hindi_does(api: Any, today: date) -> None:
    too_early = post_json(api, REGISTER, {**REGISTRATION, "purchase_date": "2024-01-05", **IN_HINDI})

    [error] = too_early.json_body["errors"]
    # PureWash 8 went on sale on 2024-04-01: the product's name as printed, the date in Hindi.
    assert error["message"] == "PureWash 8 की बिक्री 1 अप्रैल 2024 को शुरू हुई थी; ख़रीद की तारीख़ जाँच लें।"


def test_without_javascript_the_hindi_form_comes_back_in_hindi_with_its_errors(
    api: Any, today: date,
) -> None:
    page = post_form(api, REGISTER, {**REGISTRATION, "email": "x", **IN_HINDI},
                     referer="/hi/warranty/register/")

    assert page.status_code == 400
    text = page.body.decode()
    shown = BuiltPage(text)
    assert '<html lang="hi"' in text
    assert shown.title.startswith("ग़लती: ")
    assert "name@example.com जैसा ईमेल पता लिखें।" in text
    assert 'name="language" value="hi"' in text  # the form sent again stays in Hindi
    assert "Enter an email address" not in content(text)


def test_the_thank_you_page_of_a_hindi_form_is_in_hindi_with_its_dates(
    api: Any, today: date,
) -> None:
    sent = post_form(api, REGISTER, {**REGISTRATION, **IN_HINDI}, referer="/hi/warranty/register/")

    assert sent.status_code == 303
    location = sent.headers["Location"]
    assert parse_qs(urlsplit(location).query)["language"] == ["hi"]
    thanks = api.http.get(location.removeprefix("/api"))
    text = thanks.body.decode()
    assert thanks.status_code == 200 and '<html lang="hi"' in text
    assert "धन्यवाद" in text and "1 नवंबर 2028" in text  # the warranty's end (purchased 2026-11-02, 24 months)
    english = api.http.get(post_form(api, REGISTER, {**REGISTRATION, "serial_number": "PW82407K00124"})
                           .headers["Location"].removeprefix("/api")).body.decode()
    assert "Thank you" in english and "1 November 2028" in english
    assert not DEVANAGARI.search(content(english))


def test_the_language_is_stored_with_the_submission_and_english_stores_none(
    api: Any, today: date, moto_account: Any,
) -> None:
    hindi = post_json(api, "/complaints", {**COMPLAINT, **IN_HINDI})
    english = post_json(api, "/complaints", COMPLAINT)
    stored = {item["reference"]: item for item in moto_account.submissions()}
    assert stored[hindi.json_body["reference"]][LANGUAGE_ATTRIBUTE] == "hi"
    assert LANGUAGE_ATTRIBUTE not in stored[english.json_body["reference"]]  # English items are as they were


def test_the_warranty_check_answers_in_hindi(api: Any, today: date) -> None:
    post_json(api, REGISTER, REGISTRATION)
    page = post_form(api, "/warranty-status", {**STATUS_QUERY, **IN_HINDI}, referer="/hi/warranty/check/")
    missing = post_json(api, "/warranty-status", {**STATUS_QUERY, "email": "b@example.com", **IN_HINDI})

    text = page.body.decode()
    assert page.status_code == 200
    assert "आपका PureWash 8 वारंटी में है।" in text and "7 दिसंबर 2026" in text  # registered today
    assert 'href="/hi/warranty/check/"' in text
    assert missing.status_code == 404 and missing.json_body["message"].startswith("इस सीरियल नंबर")


def test_the_track_answer_is_in_hindi_words_and_dates(
    api: Any, today: date, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AFTERCARE_CASE_MESSAGE_ROLE_ARN", MESSAGE_ROLE)
    reference = post_json(api, "/complaints", COMPLAINT).json_body["reference"]
    answer = post_json(api, "/track", {"reference": reference, "email": COMPLAINT["email"], **IN_HINDI})
    page = post_form(api, "/track", {"reference": reference, "email": COMPLAINT["email"], **IN_HINDI},
                     referer="/hi/track/")

    body = answer.json_body
    words = case_policy("hi").lifecycle("complaint").status("received")
    assert body["status_words"] == words.words == "हमें आपकी शिकायत मिल गई है।"
    assert body["next_step"] == words.next_step and body["title"] == "शिकायत"
    assert body["received_on"] == "2026-12-07"  # JSON keeps its dates as data
    text = page.body.decode()
    assert "हमें आपकी शिकायत मिल गई है।" in text and "7 दिसंबर 2026" in text and "अब तक क्या हुआ" in text
    assert "What has happened so far" not in content(text)


def test_the_unsubscribe_pages_follow_the_link_s_language(api: Any) -> None:
    page = api.http.get("/unsubscribe?token=nonsense&language=hi")
    english = api.http.get("/unsubscribe?token=nonsense")

    assert page.status_code == english.status_code == 400
    assert "इस लिंक से हम ख़बरें और ऑफ़र बंद नहीं कर सके" in page.body.decode()
    assert "We could not unsubscribe you with this link" in english.body.decode()


def test_an_email_s_link_opens_its_form_in_the_email_s_language(api: Any) -> None:
    from chalicelib.cases.follow_up import link
    from chalicelib.crypto.keys import LocalSubjectHasher

    address = link("https://help.example.com", LocalSubjectHasher(b"k" * 32), "CMP-2222-3333",
                   datetime(2026, 12, 7, tzinfo=UTC), "hi")
    assert parse_qs(urlsplit(address).query)["language"] == ["hi"]
    form = api.http.get(address.removeprefix("https://help.example.com/api"))
    track = api.http.get("/track?reference=CMP-2222-3333&language=hi")
    for page in (form, track):
        assert page.status_code == 200 and '<html lang="hi"' in page.body.decode()
    assert 'value="CMP-2222-3333"' in form.body.decode() + track.body.decode()
