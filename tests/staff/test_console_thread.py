"""The case page's conversation: the customer's emailed replies beside staff's messages, a held
reply marked as not theirs, and the reply box started from a saved reply of the case's status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chalicelib.cases.book import CUSTOMER_ACTOR, CaseBook, Change
from chalicelib.cases.notices import MESSAGE_TEMPLATE, notice_for
from chalicelib.console.door import Console
from chalicelib.inbound.handler import OTHER_ADDRESS
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.saved_replies import for_status, parse_saved_replies, saved_replies

from tests.staff.conftest import HelpDesk
from tests.staff.test_console import Browser, text
from tests.staff.test_console import console as console  # a fixture
from tests.staff.test_console import help_desk as help_desk  # a fixture

HANDLER = "sam.lee@shop.example"


def book(help_desk: HelpDesk) -> CaseBook:
    return CaseBook(help_desk.table, help_desk.settings.cipher(), case_policy(), lambda: datetime.now(UTC))


def test_the_thread_shows_the_customer_s_reply_beside_ours_escaped_and_a_held_one_apart(
    console: Console, help_desk: HelpDesk
) -> None:
    reference = help_desk.submit("complaint")
    cases = book(help_desk)
    cases.change(reference, Change(handler="Sam Lee", message="Could you send a photo?"), actor="Sam Lee")
    cases.change(reference, Change(reply="Here it is <script>alert(1)</script>"), actor=CUSTOMER_ACTOR)
    cases.change(reference, Change(reply="Not the customer", held=OTHER_ADDRESS), actor=CUSTOMER_ACTOR)
    page = Browser(console, HANDLER, ("handlers",)).get(f"/staff/cases/{reference}")
    html, shown = page.body.decode(), text(page)
    assert page.status == 200
    thread = shown.split("Conversation with the customer", 1)[1].split("History", 1)[0]
    order = [thread.index(said) for said in ("Could you send a photo?", "Here it is", "Not the customer")]
    assert order == sorted(order)
    assert "We wrote" in thread and "The customer wrote" in thread
    assert f"Held, not attached: {OTHER_ADDRESS}" in thread
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_saved_reply_of_the_case_s_status_starts_the_reply_box_without_javascript(
    console: Console, help_desk: HelpDesk
) -> None:
    reference = help_desk.submit("complaint")
    browser = Browser(console, HANDLER, ("handlers",))
    [first, *_] = for_status("complaint", "received")
    page = browser.get(f"/staff/cases/{reference}").body.decode()
    assert f'href="/staff/cases/{reference}?saved=1#message"' in page and first.title in page
    assert for_status("complaint", "acknowledged")[0].title not in page  # another status's
    started = browser.get(f"/staff/cases/{reference}", saved="1").body.decode()
    assert f'name="message" rows="4">{first.text}</textarea>' in started
    for wrong in ("0", "99", "x"):
        assert 'name="message" rows="4"></textarea>' in browser.get(f"/staff/cases/{reference}",
                                                                     saved=wrong).body.decode()


def test_a_hindi_case_offers_its_saved_replies_in_hindi_on_a_page_that_stays_english(
    console: Console, help_desk: HelpDesk
) -> None:
    browser = Browser(console, HANDLER, ("handlers",))
    hindi_case, english_case = help_desk.submit("complaint", language="hi"), help_desk.submit("complaint")
    [hindi], [english] = for_status("complaint", "received", "hi"), for_status("complaint", "received")
    assert hindi.id == english.id and hindi.text != english.text
    page = browser.get(f"/staff/cases/{hindi_case}").body.decode()
    assert "Start from a saved reply in Hindi (hi), the customer's language:" in page
    assert f'?saved=1#message" lang="hi">{hindi.title}</a>' in page and english.title not in page
    assert '<html lang="en">' in page and "Message to the customer" in page  # the chrome stays English
    started = browser.get(f"/staff/cases/{hindi_case}", saved="1").body.decode()
    assert f'name="message" rows="4">{hindi.text}</textarea>' in started
    other = browser.get(f"/staff/cases/{english_case}", saved="1").body.decode()
    assert "Start from a saved reply in English, the customer's language:" in other
    assert f'name="message" rows="4">{english.text}</textarea>' in other and hindi.title not in other



def test_a_reply_from_the_box_without_a_move_is_emailed_to_the_customer(
    console: Console, help_desk: HelpDesk
) -> None:
    reference = help_desk.submit("complaint")
    browser = Browser(console, HANDLER, ("handlers",))
    version = book(help_desk).read(reference)["version"]
    answer = browser.post(f"/staff/cases/{reference}", {"action": "change", "version": str(version),
                                                         "message": "We are on it."})
    assert answer.status == 303
    entry = book(help_desk).history(reference)[-1]
    assert not entry["moved"]
    notice = notice_for(entry, case_policy())
    assert notice is not None and notice.template == MESSAGE_TEMPLATE and notice.has_message


def test_saved_replies_name_only_statuses_the_lifecycles_have() -> None:
    assert saved_replies()  # the file parses against the lifecycles
    assert saved_replies("hi").keys() == saved_replies().keys()
    with pytest.raises(ValueError, match="an id of its own"):
        parse_saved_replies('[[complaint.received]]\ntitle = "x"\ntext = "y"\n', case_policy())
    with pytest.raises(ValueError, match="an id of its own"):
        parse_saved_replies('[[complaint.received]]\nid = "a"\ntitle = "x"\ntext = "y"\n'
                            '[[complaint.received]]\nid = "a"\ntitle = "z"\ntext = "w"\n', case_policy())
    with pytest.raises(ValueError, match="not one of its statuses"):
        parse_saved_replies('[[complaint.lost]]\ntitle = "x"\ntext = "y"\n', case_policy())
    with pytest.raises(ValueError, match="not a case"):
        parse_saved_replies('[[warranty_registration.received]]\ntitle = "x"\ntext = "y"\n', case_policy())


def test_saved_replies_are_offered_in_english_only_for_a_language_the_site_does_not_speak() -> None:
    from chalicelib.console.pages import reply_language

    assert reply_language({"language_code": "hi"}) == "hi"
    assert reply_language({"language_code": "ta"}) == reply_language({}) == "en"
