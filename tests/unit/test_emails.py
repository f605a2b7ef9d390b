"""What the emails say: a confirmation per kind, staff alerts without personal data,
promises from the data file, and unsubscribe tokens that are signed and expire."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalicelib import emails, items, notify, unsubscribe
from chalicelib.crypto import LocalKeyProvider, LocalSubjectHasher, RecipientSeal, SubmissionCipher
from chalicelib.emails import Letterhead, notification_policy
from chalicelib.forms import FORMS
from chalicelib.intake import Intake
from chalicelib.policy import data_policy

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
    promise = notification_policy().promises[kind]
    for body in (mail.text, mail.html):
        assert item["reference"] in body
        assert promise.next_step in body
        assert "https://help.example.com" in body
        for words in FREE_TEXT:
            assert words not in body
    assert item["reference"] in mail.subject and mail.to == "zed.q@example.net"
    assert mail.sender == "Aftercare <help@aftercare.example>"
    assert "List-Unsubscribe" not in mail.headers
    assert '<html lang="en">' in mail.html and "<h1" in mail.html


def test_each_kind_summarises_what_was_asked_for_in_the_form_s_words(keys: Any) -> None:
    enquiry = emails.confirmation(stored("enquiry", keys, topic="warranty"), "a@example.com",
                                  LETTERHEAD, notification_policy())
    assert "What is it about?: Warranty" in enquiry.text
    complaint = emails.confirmation(stored("complaint", keys, category="delivery"), "a@example.com",
                                    LETTERHEAD, notification_policy())
    assert "What went wrong?: Delivery" in complaint.text
    returned = stored("return_request", keys, wanted_outcome="refund")
    text = emails.confirmation(returned, "a@example.com", LETTERHEAD, notification_policy()).text
    assert "Refund me" in text and returned["fields"]["serial_number"] in text
    registration = stored("warranty_registration", keys)
    text = emails.confirmation(registration, "a@example.com", LETTERHEAD, notification_policy()).text
    fields = registration["fields"]
    from chalicelib.catalog import catalog

    product = catalog().product(fields["product"])
    ends = product.warranty_expires_on(date.fromisoformat(fields["purchase_date"]))
    assert product.name in text and fields["serial_number"] in text
    assert f"Your warranty ends on: {emails.long_date(ends)}" in text
    assert "We aim to reply" not in text  # a registration promises no reply


def test_the_reply_date_counts_working_days_from_the_data_file(keys: Any) -> None:
    item = stored("complaint", keys)  # received on a Friday
    days = notification_policy().promises["complaint"].reply_working_days
    assert days == 2
    text = emails.confirmation(item, "a@example.com", LETTERHEAD, notification_policy()).text
    assert "within two working days, so by Tuesday 24 November 2026" in text


def test_a_changed_promise_in_the_data_file_changes_the_email(keys: Any) -> None:
    policy_text = (ROOT / "backend/chalicelib/data/data_policy.toml").read_text()
    changed = policy_text.replace(
        "[promises.enquiry]\nreply_working_days = 2", "[promises.enquiry]\nreply_working_days = 5"
    )
    assert changed != policy_text
    policy = emails.parse_notification_policy(
        changed, (ROOT / "backend/chalicelib/data/notifications.toml").read_text()
    )
    text = emails.confirmation(stored("enquiry", keys), "a@example.com", LETTERHEAD, policy).text
    assert "within five working days, so by Friday 27 November 2026" in text


def test_the_site_promises_what_the_data_file_promises() -> None:
    """Every page that names a reply time names the data file's number for that form."""
    pages = {"enquiry": "site/contact.md", "return_request": "site/returns/request.md",
             "complaint": "site/policies/complaints.md"}
    for kind, page in pages.items():
        days = notification_policy().promises[kind].reply_working_days
        text = " ".join((ROOT / page).read_text().split())
        stated = re.findall(r"within (\w+) working days", text)
        assert stated and set(stated) == {emails.in_words(days)}, page


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
    assert f"aftercare show {item['reference']}" in mail.text
    for value in PERSONAL.values():
        assert value not in mail.text and value not in mail.subject
    product = (item.get("fields") or {}).get("product")
    if product:
        from chalicelib.catalog import catalog

        assert catalog().product(product).name in mail.text


def test_staff_alerts_go_to_the_kinds_that_need_action_and_a_digest_kind_gets_none(keys: Any) -> None:
    policy = notification_policy()
    assert set(policy.staff_alerts) == {"complaint", "return_request", "enquiry", "service_visit"}
    assert notify.STAFF_ALERT not in notify.planned_messages(stored("warranty_registration", keys), policy)
    digest = emails.NotificationPolicy(
        policy.promises, {"complaint": emails.StaffAlert("c@example.com", daily_digest=True)}, 30
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
    from chalicelib.crypto import subject_hash

    hasher = LocalSubjectHasher(secrets.token_bytes(32))
    token = unsubscribe.sign(hasher, "ENQ-7K3M-Q9XD", NOW + timedelta(days=3))
    assert token.rsplit(".", 1)[1] != subject_hash(hasher, "ENQ-7K3M-Q9XD")


def test_the_confirmation_says_how_to_reach_a_person_from_the_retailer_s_settings(keys: Any) -> None:
    from chalicelib.mailer import MailSettings
    from chalicelib.retailer import retailer

    letterhead = MailSettings.from_environ({}).letterhead
    shop = retailer()
    assert (letterhead.sender_name, letterhead.sender_address) == (shop.name, shop.contact.email)
    item = stored("complaint", keys)
    mail = emails.confirmation(item, "a@example.com", letterhead, notification_policy())
    assert f"Call us on {shop.contact.phone} or email {shop.contact.email}, quoting {item['reference']}" \
        in mail.text
    assert f'href="{shop.contact.phone_link}"' in mail.html and f"mailto:{shop.contact.email}" in mail.html
    assert mail.sender == f"{shop.name} <{shop.contact.email}>"
