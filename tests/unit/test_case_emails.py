"""What a case-update email says: one template per status the customer hears of, the status in plain
words, the next step and its promised date in working days, the track link, and nothing internal."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from chalicelib.cases.notices import MESSAGE_TEMPLATE
from chalicelib.notify import emails
from chalicelib.notify.case_emails import planned_update, update_message
from chalicelib.notify.emails import CaseUpdate, Letterhead, notification_policy
from chalicelib.rules.lifecycles import case_policy

from tests.unit.test_case_notices import entry, templates_needed

TEMPLATES = Path(emails.__file__).parent / "templates" / "cases"
LETTERHEAD = Letterhead("help@aftercare.example", "Aftercare", "https://help.example.com",
                        phone="+44 20 7946 0000", help_email="help@aftercare.example")
CUSTOMER = "zed.q@example.net"
MESSAGE = "Your engineer will bring the <new> bracket & screws."


def update(template: str, **changes: object) -> CaseUpdate:
    if template == MESSAGE_TEMPLATE:
        kind, status = "complaint", "closed"  # a move with no email of its own, carrying a message
    else:
        kind, status = next((kind, name) for kind, lifecycle in case_policy().lifecycles.items()
                            for name in lifecycle.statuses if f"case_{kind}_{name}" == template)
    fields = {"reference": "CMP-2222-3333", "kind": kind, "status": status, "template": template,
              "moved_on": date(2026, 11, 20), "handler": "Sam", "window": "2026-12-01 08:00-12:00",
              "customer_message": MESSAGE, **changes}
    return CaseUpdate(**fields)  # type: ignore[arg-type]


def test_there_is_one_template_for_each_status_the_customer_hears_of_and_no_other() -> None:
    assert {path.stem for path in TEMPLATES.glob("*.txt")} == set(templates_needed(case_policy()))


@pytest.mark.parametrize("template", templates_needed(case_policy()))
def test_each_status_email_says_where_the_case_stands_what_comes_next_and_links_to_the_track_page(
    template: str,
) -> None:
    sent = update(template)
    mail = emails.case_update(sent, CUSTOMER, LETTERHEAD, notification_policy())
    status = case_policy().lifecycle(sent.kind).status(sent.status)
    promise = case_policy().promise_of(sent.kind, sent.status)
    assert mail.to == CUSTOMER and sent.reference in mail.subject
    assert mail.html is not None and '<html lang="en">' in mail.html
    for body, message in ((mail.text, MESSAGE),
                          (mail.html, "Your engineer will bring the &lt;new&gt; bracket &amp; screws.")):
        assert status.words in body and status.next_step in body
        assert "https://help.example.com/api/track?reference=CMP-2222-3333" in body
        assert message in body
        booked = case_policy().booking(sent.kind, sent.status, sent.window)
        assert (promise is not None and booked is None) == ("working days, so by" in body), template
        assert CUSTOMER not in body  # the address is only where the email goes
    # Every URL in the email carries the reference at most, never the address.
    for url in re.findall(r"https?://\S+", mail.text + mail.html):
        assert "@" not in url and "zed" not in url


def test_the_lead_names_the_handler_by_first_name_and_the_visit_window() -> None:
    visit = emails.case_update(update("case_service_visit_scheduled"), CUSTOMER, LETTERHEAD,
                               notification_policy())
    assert "Your visit is booked for Tuesday 1 December, 8:00 to 12:00. Sam is your engineer." in visit.text
    assert visit.subject == "Your visit is booked (CMP-2222-3333)"
    nobody = emails.case_update(update("case_complaint_acknowledged", handler=None), CUSTOMER, LETTERHEAD,
                                notification_policy())
    assert "A member of our complaints team has taken on your complaint" in nobody.text


def test_a_closing_message_is_emailed_under_the_closed_status_in_plain_words() -> None:
    mail = emails.case_update(update(MESSAGE_TEMPLATE, handler=None), CUSTOMER, LETTERHEAD,
                              notification_policy())
    assert mail.subject == "Your complaint is closed (CMP-2222-3333)"
    assert "We have a message for you about your complaint" in mail.text
    assert "Our message to you" in mail.text and MESSAGE in mail.text


def test_a_booked_visit_promises_its_booking_and_no_other_date() -> None:
    visit = emails.case_update(update("case_service_visit_scheduled", window="2026-12-14 09:00-13:00"),
                               CUSTOMER, LETTERHEAD, notification_policy())
    for body in (visit.text, visit.html or ""):
        assert "Monday 14 December, 9:00 to 13:00" in body
        assert "2026-12-14" not in body and "09:00-13:00" not in body
        assert "Our engineer visits on Monday 14 December, 9:00 to 13:00." in body
        assert "working days, so by" not in body  # not "by 30 December" against the booked date


def test_without_a_message_for_the_customer_there_is_no_message_section() -> None:
    mail = emails.case_update(update("case_return_request_approved", customer_message=None), CUSTOMER,
                              LETTERHEAD, notification_policy())
    assert "Our message to you" not in mail.text and "Our message to you" not in (mail.html or "")


def test_the_promised_date_skips_weekends_and_holidays() -> None:
    # Received on Christmas Eve (a Thursday): 25 and 28 December and 1 January are holidays.
    mail = emails.case_update(
        update("case_return_request_repair_item_received", moved_on=date(2026, 12, 24)),
        CUSTOMER, LETTERHEAD, notification_policy(),
    )
    assert "We complete this step within five working days, so by Tuesday 5 January 2027." in mail.text


def test_opted_in_customers_get_the_unsubscribe_headers_on_case_emails_too() -> None:
    url = "https://help.example.com/api/unsubscribe?token=CMP-2222-3333.1.abc"
    mail = emails.case_update(update("case_enquiry_answered"), CUSTOMER, LETTERHEAD, notification_policy(),
                              url)
    assert mail.headers["List-Unsubscribe"] == f"<{url}>" and url in mail.text


def test_a_move_the_customer_hears_of_is_claimed_once_per_reference_and_version() -> None:
    policy = notification_policy()
    planned = planned_update(entry("acknowledged"), policy)
    assert planned == ({"reference": "CMP-2222-3333", "kind": "complaint", "expires_at": None},
                       update_message(2))
    assert planned_update(entry("in_progress"), policy) is None
    assert planned_update(entry("acknowledged", moved=False), policy) is None
    assert update_message(2) != update_message(3)
