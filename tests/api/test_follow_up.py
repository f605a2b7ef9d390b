"""Asking how we did, end to end on moto: the tick box becomes a consent, closing the case sends
one email whose signed link fills in the feedback form, and the rating lands on the case once."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalicelib.cases import follow_up
from chalicelib.cases.book import CaseBook, Change
from chalicelib.forms import FORMS
from chalicelib.notify import unsubscribe
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items
from chalicelib.web.pages import site_page

from tests.api.posting import post_form, post_json
from tests.api.test_notifier import CUSTOMER, SITE, mailbox, notifier_app, run, stream_records  # noqa: F401 - its fixtures
from tests.conftest import MotoAccount
from tests.samples import payload_for

FOLLOW_UP_SUBJECT = "How did we do"


def post_enquiry(api: Any, email: str = CUSTOMER, **changes: Any) -> str:
    form = FORMS["enquiry"]
    response = post_json(api, form.path, payload_for(form, date.today(), email=email, **changes))
    assert response.status_code == 201, response.body
    return str(response.json_body["reference"])


def close(reference: str) -> None:
    settings = Settings.from_environ(os.environ)
    book = CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC))
    book.change(reference, Change(status="answered", message="See the wall-mount guide."), actor="staff")
    book.change(reference, Change(status="closed"), actor="staff")


def follow_ups(mailbox: Any) -> list[Any]:  # noqa: F811
    return [m for m in mailbox() if m["Subject"].startswith(FOLLOW_UP_SUBJECT)]


def link_in(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    (line,) = [word for word in text.split() if word.startswith(f"{SITE}/api/feedback?")]
    return line


def case_item(account: MotoAccount, reference: str) -> dict[str, Any]:
    (item,) = [i for i in account.raw_items() if i["pk"] == items.submission_key(reference)[0]]
    return item


def rate(api: Any, link: str, overall: int) -> Any:
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    return post_json(api, "/feedback", {"overall": overall, **query})


def control(html: str, name: str) -> dict[str, str]:
    """The attributes of the form control called `name` on a page."""
    (tag,) = re.findall(rf'<input[^>]*\sname="{name}"[^>]*>', html)
    return {key: unescape(value) for key, value in re.findall(r'([a-z-]+)="([^"]*)"', tag)}


def hasher(chalice_app: Any) -> Any:
    return chalice_app.get_reception().intake.hasher


# -- The tick box ---------------------------------------------------------------------

def test_the_ticked_box_is_recorded_as_a_follow_up_consent_from_json_and_plain_forms(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any  # noqa: F811
) -> None:
    by_script = post_enquiry(api, follow_up_consent=True)
    form = FORMS["complaint"]
    plain = post_form(api, form.path, payload_for(form, date.today(), follow_up_consent=True))
    assert plain.status_code == 303, plain.body
    # The notifier records each from the stream; a repeated batch records nothing twice.
    for _ in range(2):
        run(notifier_app, stream_records(moto_account, prefix=items.SUBMISSION_PREFIX))

    consents = [i for i in moto_account.raw_items() if i["pk"].startswith(items.CONSENT_PREFIX)]
    assert sorted(c["fields"]["source_form"] for c in consents) == ["complaint", "enquiry"]
    assert {c["kind"] for c in consents} == {items.FOLLOW_UP_KIND}
    assert {c["status"] for c in consents} == {items.OPTED_IN}
    assert by_script in {c["fields"]["source_reference"] for c in consents}
    assert all(CUSTOMER.encode() not in bytes(c["personal"]) for c in consents)  # sealed, as marketing's


def test_the_box_is_off_unless_ticked(api: Any, moto_account: MotoAccount) -> None:
    reference = post_enquiry(api)

    assert case_item(moto_account, reference)["fields"]["follow_up_consent"] is False
    assert not [i for i in moto_account.raw_items() if i["pk"].startswith(items.CONSENT_PREFIX)]


# -- The email ------------------------------------------------------------------------

def test_closing_the_case_sends_one_email_whose_link_fills_in_the_feedback_form(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any  # noqa: F811
) -> None:
    reference = post_enquiry(api, follow_up_consent=True)
    run(notifier_app, stream_records(moto_account))  # the confirmation
    close(reference)
    history = stream_records(moto_account, prefix=items.CASE_PREFIX)
    run(notifier_app, history)
    run(notifier_app, history)  # the stream again, as after a retry

    (message,) = follow_ups(mailbox)
    link = link_in(message)
    assert message["To"] == CUSTOMER and reference in message["Subject"]
    assert CUSTOMER not in link and "zed" not in link.lower()
    query = parse_qs(urlsplit(link).query)
    assert query["case_reference"] == [reference]
    assert follow_up.verify(hasher(notifier_app), query["follow_up_token"][0], datetime.now(UTC)) == reference
    assert message.get_body(("html",)).get_content().count(link.replace("&", "&amp;")) == 1
    record = moto_account.raw_items()
    assert [(i["sk"], i["status"]) for i in record if i["pk"] == f"SENT#{reference}"
            and i["sk"] == follow_up.MESSAGE] == [(follow_up.MESSAGE, "sent")]

    if site_page("feedback") is None:
        pytest.skip("the site is not built: `make site` puts the form's page beside the API")
    page = api.http.get(link.removeprefix(f"{SITE}/api"))
    assert page.status_code == 200
    assert control(page.body.decode(), "case_reference")["value"] == reference
    carried = control(page.body.decode(), "follow_up_token")
    assert carried["type"] == "hidden" and carried["value"] == query["follow_up_token"][0]


def test_no_email_without_the_box_after_withdrawal_or_before_the_case_closes(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any  # noqa: F811
) -> None:
    not_asked = post_enquiry(api)
    withdrawn = post_enquiry(api, follow_up_consent=True)
    still_open = post_enquiry(api, "yan.o@example.org", follow_up_consent=True)
    run(notifier_app, stream_records(moto_account, prefix=items.SUBMISSION_PREFIX))
    notifier_app.get_notifier().withdraw(withdrawn)  # as an unsubscribe link does: all of one person's
    close(not_asked)
    close(withdrawn)
    settings = Settings.from_environ(os.environ)
    CaseBook(settings.table(), settings.cipher(), case_policy(), lambda: datetime.now(UTC)).change(
        still_open, Change(status="answered", message="Yes, it fits."), actor="staff")
    run(notifier_app, stream_records(moto_account, prefix=items.CASE_PREFIX))

    assert follow_ups(mailbox) == []
    consents = [i for i in moto_account.raw_items() if i.get("kind") == items.FOLLOW_UP_KIND]
    assert sorted(c["status"] for c in consents) == [items.OPTED_IN, items.WITHDRAWN]


# -- The rating -----------------------------------------------------------------------

def test_a_rating_through_the_link_is_tied_to_the_case_and_a_second_keeps_the_first(
    api: Any, notifier_app: Any, moto_account: MotoAccount, mailbox: Any  # noqa: F811
) -> None:
    reference = post_enquiry(api, follow_up_consent=True)
    run(notifier_app, stream_records(moto_account, prefix=items.SUBMISSION_PREFIX))
    close(reference)
    run(notifier_app, stream_records(moto_account, prefix=items.CASE_PREFIX))
    link = link_in(follow_ups(mailbox)[0])

    first = rate(api, link, 4)
    second = rate(api, link, 1)
    assert first.status_code == second.status_code == 201, (first.body, second.body)
    feedback = stream_records(moto_account, prefix=f"{items.SUBMISSION_PREFIX}FB-")
    run(notifier_app, feedback)
    run(notifier_app, feedback)

    case = case_item(moto_account, reference)
    assert case[items.RATING_ATTRIBUTE] == 4
    assert case[items.RATING_REFERENCE_ATTRIBUTE] == first.json_body["reference"]
    assert case["status"] == "closed"


def test_a_guessed_reference_without_the_link_ties_nothing(
    api: Any, notifier_app: Any, moto_account: MotoAccount  # noqa: F811
) -> None:
    reference = post_enquiry(api, follow_up_consent=True)
    close(reference)
    response = post_json(api, "/feedback", {"overall": 1, "case_reference": reference})
    assert response.status_code == 201
    run(notifier_app, stream_records(moto_account, prefix=f"{items.SUBMISSION_PREFIX}FB-"))

    assert items.RATING_ATTRIBUTE not in case_item(moto_account, reference)


def test_a_forged_expired_or_borrowed_link_gets_a_400_naming_the_field(
    api: Any, chalice_app: Any, moto_account: MotoAccount
) -> None:
    reference = post_enquiry(api, follow_up_consent=True)
    other = post_enquiry(api)
    now = datetime.now(UTC)
    good = follow_up.sign(hasher(chalice_app), reference, now + timedelta(days=1))
    tokens = {
        "forged": good[:-4] + ("0000" if not good.endswith("0000") else "1111"),
        "expired": follow_up.sign(hasher(chalice_app), reference, now - timedelta(seconds=1)),
        "an unsubscribe link's": unsubscribe.sign(hasher(chalice_app), reference, now + timedelta(days=1)),
        "not a token": "FB-AAAA-AAAA",
    }
    for why, token in tokens.items():
        response = post_json(api, "/feedback", {"overall": 5, "follow_up_token": token})
        assert response.status_code == 400, why
        assert [e["field"] for e in response.json_body["errors"]] == ["follow_up_token"], why
    borrowed = post_json(api, "/feedback", {"overall": 5, "case_reference": other, "follow_up_token": good})
    assert borrowed.status_code == 400
    assert "another reference" in borrowed.json_body["errors"][0]["message"]
    plain = post_form(api, "/feedback", {"overall": 5, "follow_up_token": tokens["forged"]})
    assert plain.status_code == 400 and b"not one of ours" in plain.body
    stored = [i for i in moto_account.raw_items() if i.get("kind") == "feedback"]
    assert stored == []


def test_the_contract_declares_the_box_and_the_hidden_token(api: Any) -> None:
    document = api.http.get("/openapi.json").json_body
    schemas = document["components"]["schemas"]
    for kind in case_policy().lifecycles:
        model = FORMS[kind].model.__name__
        assert schemas[model]["properties"]["follow_up_consent"]["default"] is False, kind
    token = schemas["Feedback"]["properties"]["follow_up_token"]
    assert "pattern" in str(token)
