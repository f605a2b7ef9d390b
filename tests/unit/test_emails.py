"""What the emails say: a confirmation per kind, staff alerts without personal data,
promises from the data file, and unsubscribe tokens that are signed and expire."""

from __future__ import annotations

import re
import secrets
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalicelib.crypto.keys import LocalKeyProvider, LocalSubjectHasher, RecipientSeal, SubmissionCipher
from chalicelib.forms import FORMS
from chalicelib.intake.receiving import Intake
from chalicelib.notify import emails, unsubscribe
from chalicelib.notify import notifier as notify
from chalicelib.notify.emails import Letterhead, notification_policy
from chalicelib.rules.lifecycles import case_policy, parse_case_policy
from chalicelib.rules.policy import data_policy
from chalicelib.store import items

from tests.samples import payload_for, validated

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # a Friday
LETTERHEAD = Letterhead("help@aftercare.example", "Aftercare", "https://help.example.com")
# Free text and contact details a customer might type: none may reach a staff alert,
# and free text may not be echoed back to the customer either.
PERSONAL = {
    "name": "Zed Quarrington", "email": "zed.q@example.net", "phone": "+44 20 7946 0999",
    "message": "Secret words about my hallway", "description": "Secret words about my hallway",
    "reason": "Secret words about my hallway", "desired_outcome": "Private outcome text",
    "address": "12 Hidden Lane", "where_bought": "Quarrington Electricals",
}
FREE_TEXT = ("Secret words about my hallway", "Private outcome text", "12 Hidden Lane")


class RecordingTable:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def create_all(self, items: list[Any]) -> None:
        self.items += [new.item for new in items]


@pytest.fixture
def keys() -> tuple[SubmissionCipher, LocalSubjectHasher]:
    return (SubmissionCipher(LocalKeyProvider.from_key(secrets.token_bytes(32))),
            LocalSubjectHasher(secrets.token_bytes(32)))


def stored(kind: str, keys: Any, **changes: Any) -> dict[str, Any]:
    """The submission item intake writes for a sample of `kind` (the notifier's stream image)."""
    cipher, hasher = keys
    table = RecordingTable()
    intake = Intake(table=table, cipher=cipher, hasher=hasher, policy=data_policy(),  # type: ignore[arg-type]
                    clock=lambda: NOW, recipients=RecipientSeal(cipher))
    form = FORMS[kind]
    body = payload_for(form, NOW.date(), **{**PERSONAL, **changes})
    intake.receive(form, validated(form, body, NOW.date()))
    [item] = [i for i in table.items if items.is_submission(i)]
    return item


KINDS_WITH_EMAIL = [kind for kind, form in FORMS.items() if "email" in form.model.model_fields]


def test_every_kind_with_an_email_address_gets_a_confirmation_and_no_other_does(keys: Any) -> None:
    for kind in FORMS:
        planned = notify.planned_messages(stored(kind, keys), notification_policy())
        assert (notify.CONFIRMATION in planned) == (kind in KINDS_WITH_EMAIL), kind
    assert set(KINDS_WITH_EMAIL) == {"enquiry", "warranty_registration", "complaint", "return_request",
                                     "service_visit"}


@pytest.mark.parametrize("kind", KINDS_WITH_EMAIL)
def test_confirmation_states_reference_request_and_next_step_without_echoing_free_text(
    kind: str, keys: Any
) -> None:
    item = stored(kind, keys)
    mail = emails.confirmation(item, "zed.q@example.net", LETTERHEAD, notification_policy())
    next_step = notification_policy().next_step(kind, NOW.date())
    is_case = kind in case_policy().lifecycles
    for body in (mail.text, mail.html):
        assert item["reference"] in body
        assert next_step.words in body
        assert "https://help.example.com" in body
        # A case links to the Track a request page with its reference, never the address.
        assert (f"https://help.example.com/api/track?reference={item['reference']}" in body) == is_case
        assert "zed.q" not in body
        for words in FREE_TEXT:
            assert words not in body
    assert item["reference"] in mail.subject and mail.to == "zed.q@example.net"
    assert mail.sender == "Aftercare <help@aftercare.example>"
    assert "List-Unsubscribe" not in mail.headers
    assert '<html lang="en">' in mail.html and "<h1" in mail.html


def test_each_kind_summarises_what_was_asked_for_in_the_form_s_words(keys: Any) -> None:
    enquiry = emails.confirmation(stored("enquiry", keys, topic="warranty"), "a@example.com",
                                  LETTERHEAD, notification_policy())
    assert "- What is it about? Warranty" in enquiry.text
    complaint = emails.confirmation(stored("complaint", keys, category="delivery"), "a@example.com",
                                    LETTERHEAD, notification_policy())
    assert "- What went wrong? Delivery" in complaint.text
    returned = stored("return_request", keys, wanted_outcome="refund")
    text = emails.confirmation(returned, "a@example.com", LETTERHEAD, notification_policy()).text
    assert "Refund me" in text and returned["fields"]["serial_number"] in text
    registration = stored("warranty_registration", keys)
    text = emails.confirmation(registration, "a@example.com", LETTERHEAD, notification_policy()).text
    fields = registration["fields"]
    from chalicelib.rules.catalog import catalog

    product = catalog().product(fields["product"])
    ends = product.warranty_expires_on(date.fromisoformat(fields["purchase_date"]))
    assert product.name in text and fields["serial_number"] in text
    assert f"Your warranty ends on: {emails.long_date(ends)}" in text
    assert "We aim to reply" not in text  # a registration promises no reply


@pytest.mark.parametrize("kind", KINDS_WITH_EMAIL)
def test_a_confirmation_reads_as_plain_words_with_no_raw_values(kind: str, keys: Any) -> None:
    item = stored(kind, keys, follow_up_consent=True, marketing_consent=False)
    mail = emails.confirmation(item, "a@example.com", LETTERHEAD, notification_policy())
    for body in (mail.text, mail.html or ""):
        for raw in ("True", "False", "None", "?:"):
            assert raw not in body, (kind, raw)
        # Choice values are shown by their labels, never by the value the form posts.
        for name, value in item["fields"].items():
            if name in ("product", "need", "time_of_day", "topic", "category", "wanted_outcome", "reason"):
                assert f": {value}\n" not in body and f"<td style=\"padding:4px 0\">{value}<" not in body
    if "follow_up_consent" in FORMS[kind].model.model_fields:
        assert "Ask me how we did when my request is closed: Yes" in mail.text
    assert re.fullmatch(r"We have your [a-z ]+ \([A-Z]+-[A-Z0-9-]+\)", mail.subject)


def test_a_service_visit_is_named_as_a_request_for_one(keys: Any) -> None:
    mail = emails.confirmation(stored("service_visit", keys), "a@example.com", LETTERHEAD,
                               notification_policy())
    assert mail.subject.startswith("We have your request for a service visit (VIS-")
    assert "We have your request for a service visit." in mail.text
    assert "We have your service visit" not in mail.text + (mail.html or "")


def test_the_reply_date_is_the_case_s_first_promise_in_working_days(keys: Any) -> None:
    item = stored("complaint", keys)  # received on a Friday
    first = case_policy().lifecycle("complaint").start
    promise = case_policy().promise_of("complaint", first)
    assert promise is not None and promise.working_days == 2
    text = emails.confirmation(item, "a@example.com", LETTERHEAD, notification_policy()).text
    assert "A named handler takes it on within two working days, so by Tuesday 24 November 2026." in text


def test_the_promise_date_skips_weekends_and_the_calendar_s_holidays(keys: Any) -> None:
    christmas_eve = datetime(2026, 12, 24, 10, tzinfo=UTC)  # a Thursday; 25 and 28 are holidays
    assert {date(2026, 12, 25), date(2026, 12, 28)} <= case_policy().calendar.holidays
    item = {**stored("enquiry", keys), "created_at": items.timestamp(christmas_eve)}
    text = emails.confirmation(item, "a@example.com", LETTERHEAD, notification_policy()).text
    assert "We answer within two working days, so by Wednesday 30 December 2026." in text


def test_a_changed_promise_in_the_lifecycles_changes_the_email(keys: Any) -> None:
    lifecycles_text = (ROOT / "backend/chalicelib/data/lifecycles.toml").read_text()
    changed = lifecycles_text.replace(
        "[promises.reply]\nworking_days = 2", "[promises.reply]\nworking_days = 5"
    )
    assert changed != lifecycles_text
    policy = emails.parse_notification_policy(
        (ROOT / "backend/chalicelib/data/notifications.toml").read_text(), parse_case_policy(changed)
    )
    text = emails.confirmation(stored("enquiry", keys), "a@example.com", LETTERHEAD, policy).text
    assert "within five working days, so by Friday 27 November 2026" in text


def test_a_kind_has_its_next_step_in_exactly_one_place() -> None:
    policy = notification_policy()
    assert set(policy.next_steps) == set(KINDS_WITH_EMAIL) - set(case_policy().lifecycles)
    notifications = (ROOT / "backend/chalicelib/data/notifications.toml").read_text()
    with pytest.raises(ValueError, match="complaint"):
        emails.parse_notification_policy(
            notifications.replace("[next_steps]\n", '[next_steps]\ncomplaint = "A second promise."\n'),
            case_policy(),
        )
    assert "promises" not in tomllib.loads((ROOT / "backend/chalicelib/data/data_policy.toml").read_text())


# Each page that quotes a reply time, and the case whose first promise it quotes.
PAGES_QUOTING_PROMISES = {
    "site/contact.md": "enquiry",
    "site/policies/service-promises.md": "enquiry",
    "site/returns/request.md": "return_request",
    "site/policies/complaints.md": "complaint",
}


def test_the_site_promises_what_the_lifecycles_promise() -> None:
    """Every page that names a reply time names the first promise of that form's case."""
    for page, kind in PAGES_QUOTING_PROMISES.items():
        promise = case_policy().promise_of(kind, case_policy().lifecycle(kind).start)
        assert promise is not None
        text = " ".join((ROOT / page).read_text().split())
        stated = re.findall(r"within (\w+) working days", text)
        assert stated and set(stated) == {emails.in_words(promise.working_days)}, page
    quoting = {str(path.relative_to(ROOT)) for path in (ROOT / "site").rglob("*.md")
               if re.search(r"within \w+ working days", " ".join(path.read_text().split()))}
    assert quoting == set(PAGES_QUOTING_PROMISES)  # a new page quoting a promise is checked too


def test_opted_in_customers_get_one_click_unsubscribe_headers_and_a_visible_link(keys: Any) -> None:
    item = stored("enquiry", keys, marketing_consent=True)
    url = "https://help.example.com/api/unsubscribe?token=ENQ-AAAA-BBBB.1.abc"
    mail = emails.confirmation(item, "a@example.com", LETTERHEAD, notification_policy(), url)
    assert mail.headers == {"List-Unsubscribe": f"<{url}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert url in mail.text
    assert url.replace("&", "&amp;") in mail.html and "Unsubscribe" in mail.html


@pytest.mark.parametrize("kind", sorted(notification_policy().staff_alerts))
def test_staff_alert_carries_kind_reference_product_and_time_and_no_personal_data(
    kind: str, keys: Any
) -> None:
    item = stored(kind, keys)
    alert = notification_policy().staff_alerts[kind]
    mail = emails.staff_alert(item, alert, LETTERHEAD)
    assert mail.to == alert.to and mail.html is None
    assert item["reference"] in mail.subject and item["reference"] in mail.text
    assert FORMS[kind].title in mail.text
    assert "2026-11-20 15:30 UTC" in mail.text
    assert f"aftercare case show {item['reference']}" in mail.text
    for value in PERSONAL.values():
        assert value not in mail.text and value not in mail.subject
    product = (item.get("fields") or {}).get("product")
    if product:
        from chalicelib.rules.catalog import catalog

        assert catalog().product(product).name in mail.text


def test_staff_alerts_go_to_the_kinds_that_need_action_and_a_digest_kind_gets_none(keys: Any) -> None:
    policy = notification_policy()
    assert set(policy.staff_alerts) == {"complaint", "return_request", "enquiry", "service_visit"}
    assert notify.STAFF_ALERT not in notify.planned_messages(stored("warranty_registration", keys), policy)
    digest = emails.NotificationPolicy(
        policy.cases, policy.next_steps,
        {"complaint": emails.StaffAlert("c@example.com", daily_digest=True)}, 30,
    )
    assert notify.planned_messages(stored("complaint", keys), digest) == [notify.CONFIRMATION]


# -- Unsubscribe tokens ---------------------------------------------------------------


def test_a_token_names_the_reference_and_opens_until_it_expires() -> None:
    hasher = LocalSubjectHasher(secrets.token_bytes(32))
    token = unsubscribe.sign(hasher, "ENQ-7K3M-Q9XD", NOW + timedelta(days=1))
    assert unsubscribe.verify(hasher, token, NOW) == "ENQ-7K3M-Q9XD"
    assert "@" not in token
    with pytest.raises(unsubscribe.ExpiredToken):
        unsubscribe.verify(hasher, token, NOW + timedelta(days=1))


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace("ENQ-7K3M-Q9XD", "ENQ-7K3M-Q9XE"),  # another person's reference
    lambda t: re.sub(r"\.(\d+)\.", lambda m: f".{int(m[1]) + 86400}.", t),  # a longer life
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
    lambda t: t[:20],
    lambda t: "",
    lambda t: "ENQ-7K3M-Q9XD.9999999999.<script>",
])
def test_a_changed_or_malformed_token_is_refused(tamper: Any) -> None:
    hasher = LocalSubjectHasher(secrets.token_bytes(32))
    token = unsubscribe.sign(hasher, "ENQ-7K3M-Q9XD", NOW + timedelta(days=30))
    with pytest.raises(unsubscribe.InvalidToken):
        unsubscribe.verify(hasher, tamper(token), NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = unsubscribe.sign(LocalSubjectHasher(b"a" * 32), "ENQ-7K3M-Q9XD", NOW + timedelta(days=3))
    with pytest.raises(unsubscribe.InvalidToken):
        unsubscribe.verify(LocalSubjectHasher(b"b" * 32), token, NOW)


def test_the_token_mac_is_never_a_subject_hash() -> None:
    from chalicelib.crypto.keys import subject_hash

    hasher = LocalSubjectHasher(secrets.token_bytes(32))
    token = unsubscribe.sign(hasher, "ENQ-7K3M-Q9XD", NOW + timedelta(days=3))
    assert token.rsplit(".", 1)[1] != subject_hash(hasher, "ENQ-7K3M-Q9XD")


def test_the_confirmation_says_how_to_reach_a_person_from_the_retailer_s_settings(keys: Any) -> None:
    from chalicelib.notify.mailer import MailSettings
    from chalicelib.rules.retailer import retailer

    letterhead = MailSettings.from_environ({}).letterhead
    shop = retailer()
    assert (letterhead.sender_name, letterhead.sender_address) == (shop.name, shop.contact.email)
    item = stored("complaint", keys)
    mail = emails.confirmation(item, "a@example.com", letterhead, notification_policy())
    assert f"Call us on {shop.contact.phone} or email {shop.contact.email}, quoting {item['reference']}" \
        in mail.text
    assert f'href="{shop.contact.phone_link}"' in mail.html and f"mailto:{shop.contact.email}" in mail.html
    assert mail.sender == f"{shop.name} <{shop.contact.email}>"
