"""Emails in the customer's language: the language stored with the submission picks the words of
the confirmation, case updates, follow-ups and refused-file notices; staff alerts stay English
and name it. Every template is said in every language, with nothing left in English."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from chalicelib.cases.notices import MESSAGE_TEMPLATE
from chalicelib.languages import languages, say
from chalicelib.notify import emails, follow_up_mail
from chalicelib.notify.attachment_notices import SentFile, refusal_words
from chalicelib.notify.emails import StaffAlert, notification_policy
from chalicelib.store import items

from tests.unit.test_case_emails import CUSTOMER, LETTERHEAD, update
from tests.unit.test_case_notices import templates_needed
from tests.unit.test_emails import KINDS_WITH_EMAIL, keys, stored  # noqa: F401 (a fixture)

OTHER_LANGUAGES = languages()[1:]
# English left in a Hindi email: a run of three Latin words (names, references, addresses aside).
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:;]+[A-Za-z]{2,}){2,}\b")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def english_left(text: str, *facts: str) -> list[str]:
    for fact in (*facts, LETTERHEAD.site_url, LETTERHEAD.sender_name, "help@aftercare.example"):
        text = text.replace(fact, " ")
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    return ENGLISH_RUN.findall(text)


def test_the_check_finds_english_left_in_an_email(keys: Any) -> None:  # noqa: F811
    english = emails.confirmation(stored("complaint", keys), CUSTOMER, LETTERHEAD, notification_policy())
    assert english_left(english.text)


def in_language(item: dict[str, Any], language: str) -> dict[str, Any]:
    return {**item, items.LANGUAGE_ATTRIBUTE: language}


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("kind", KINDS_WITH_EMAIL)
def test_a_confirmation_is_in_the_stored_language_with_nothing_left_in_english(
    kind: str, language: str, keys: Any,  # noqa: F811
) -> None:
    item = in_language(stored(kind, keys, marketing_consent=True), language)
    mail = emails.confirmation(item, CUSTOMER, LETTERHEAD, notification_policy(), "https://help.example.com/u",
                               replies_home=True)
    assert say(language, REPLY_INVITE) in mail.text
    assert DEVANAGARI.search(mail.subject) and item["reference"] in mail.subject
    assert english_left(mail.text, *product_names()) == [], mail.text
    assert mail.html is not None and f'<html lang="{language}">' in mail.html
    assert english_left(re.sub(r"<[^>]+>", " ", mail.html), *product_names()) == []


def product_names() -> list[str]:
    from chalicelib.rules.catalog import catalog

    return [product.name for product in catalog().products.values()]


def test_a_hindi_confirmation_writes_dates_as_hindi_does(keys: Any) -> None:  # noqa: F811
    item = in_language(stored("complaint", keys), "hi")
    text = emails.confirmation(item, CUSTOMER, LETTERHEAD, notification_policy()).text
    # Received on Friday 20 November 2026; the first promise is two working days: Tuesday the 24th.
    assert "2 कामकाजी दिनों के अंदर एक तय हैंडलर इसे अपने हाथ में लेगा, यानी मंगलवार 24 नवंबर 2026 तक।" in text
    assert "&language=hi" in text  # the track link opens the Hindi page


def test_an_english_confirmation_is_as_it_was(keys: Any) -> None:  # noqa: F811
    text = emails.confirmation(stored("complaint", keys), CUSTOMER, LETTERHEAD, notification_policy()).text
    assert text.startswith("Hello,\n\nWe have your complaint. Your reference is ")
    assert "within two working days, so by Tuesday 24 November 2026." in text
    assert not DEVANAGARI.search(text) and "language=" not in text


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("template", templates_needed(emails.case_policy()))
def test_every_case_update_is_in_the_customer_s_language(template: str, language: str) -> None:
    mail = emails.case_update(update(template, language=language), CUSTOMER, LETTERHEAD,
                              notification_policy(), replies_home=True)
    assert DEVANAGARI.search(mail.subject)
    left = english_left(mail.text, "Sam", "Your engineer will bring the <new> bracket & screws.")
    assert left == [], mail.text


# What an email carrying the case's reply address says of it (notifier.replies_come_home).
REPLY_INVITE = "To add anything to your request, reply to this email. Photos are welcome."


@pytest.mark.parametrize("language", languages())
def test_only_an_email_with_the_case_s_reply_address_invites_a_reply_in_the_customer_s_language(
    language: str, keys: Any,  # noqa: F811
) -> None:
    invite = say(language, REPLY_INVITE)
    assert (invite == REPLY_INVITE) == (language == "en")
    item, policy = in_language(stored("complaint", keys), language), notification_policy()
    moved, closed = update("case_complaint_acknowledged", language=language), update(
        MESSAGE_TEMPLATE, language=language)  # a message on a closed case: a reply is kept nowhere
    for mail, invited in (
        (emails.confirmation(item, CUSTOMER, LETTERHEAD, policy, replies_home=True), True),
        (emails.confirmation(item, CUSTOMER, LETTERHEAD, policy), False),
        (emails.case_update(moved, CUSTOMER, LETTERHEAD, policy, replies_home=True), True),
        (emails.case_update(moved, CUSTOMER, LETTERHEAD, policy), False),
        (emails.case_update(closed, CUSTOMER, LETTERHEAD, policy, replies_home=True), False),
    ):
        assert mail.html is not None
        assert (invite in mail.text, f"<p>{invite}</p>" in mail.html) == (invited, invited), mail.subject


def test_a_visit_window_reads_as_hindi_writes_it() -> None:
    booked = update("case_service_visit_scheduled", window="2026-12-14 09:00-13:00", language="hi")
    mail = emails.case_update(booked, CUSTOMER, LETTERHEAD, notification_policy())
    assert "आपकी विज़िट सोमवार 14 दिसंबर, 9:00 से 13:00 के लिए बुक हो गई है।" in mail.text


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_follow_up_and_a_refused_file_notice_are_in_the_customer_s_language(
    language: str, keys: Any,  # noqa: F811
) -> None:
    case = in_language(stored("complaint", keys), language)
    asked = follow_up_mail.mail(case, CUSTOMER, LETTERHEAD, "https://help.example.com/feedback/?x=1")
    assert DEVANAGARI.search(asked.subject) and english_left(asked.text) == []
    refused = SentFile(1, "a PDF document", "2.1 MB", "refused", refusal_words("truncated PDF"))
    notice = emails.file_refused(case, CUSTOMER, refused, LETTERHEAD)
    assert DEVANAGARI.search(notice.subject) and english_left(notice.text, "PDF") == [], notice.text


def test_a_staff_alert_stays_english_and_names_the_customer_s_language(keys: Any) -> None:  # noqa: F811
    alert = StaffAlert("complaints@aftercare.example")
    hindi = emails.staff_alert(in_language(stored("complaint", keys), "hi"), alert, LETTERHEAD)
    english = emails.staff_alert(stored("complaint", keys), alert, LETTERHEAD)
    assert "Language:   Hindi (hi)" in hindi.text and not DEVANAGARI.search(hindi.text + hindi.subject)
    assert "Language:   English" in english.text


def test_a_staff_digest_names_the_language_of_a_customer_who_wrote_in_another(keys: Any) -> None:  # noqa: F811
    alert = StaffAlert("complaints@aftercare.example", daily_digest=True)
    hindi, english = in_language(stored("complaint", keys), "hi"), stored("complaint", keys)
    digest = emails.staff_digest("complaint", alert, [hindi, english], date(2026, 11, 20), LETTERHEAD).text
    assert f"{hindi['reference']}  (in Hindi (hi))" in digest
    assert f"{english['reference']}\n" in digest and not DEVANAGARI.search(digest)
