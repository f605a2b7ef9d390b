"""The privacy notice says exactly what each form collects, on what lawful basis, and where to complain."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest
from chalicelib.forms import FORMS
from chalicelib.rules.policy import PolicySettingError, data_policy, parse_policy
from chalicelib.rules.retailer import retailer
from chalicelib.store import items
from mkdocs.exceptions import PluginError

from tests.unit.test_site_hooks import REPO, privacy_notice

POLICY_TOML = REPO / "backend/chalicelib/data/data_policy.toml"
OFFERS = "product news and offers"


def notice() -> str:
    return privacy_notice.notice_markdown(data_policy(), {"enquiry": "contact.md"})


def section(text: str, kind: str) -> str:
    """One kind's part of the notice: from its heading to the next heading."""
    heading = re.search(rf"^### .*\{{#{kind.replace('_', '-')}\}}$", text, re.MULTILINE)
    assert heading, f"no section for {kind}"
    rest = text[heading.end():]
    following = re.search(r"^#", rest, re.MULTILINE)
    return rest[: following.start() if following else len(rest)]


def listed(text: str) -> list[str]:
    """The items of a section's "What we collect" list, lower-cased."""
    return [line.strip()[2:].lower() for line in text.splitlines() if line.startswith("    - ")]


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_each_form_section_lists_every_field_its_model_collects_and_nothing_else(kind: str) -> None:
    model = FORMS[kind].model
    entries = listed(section(notice(), kind))
    assert len(entries) == len(model.model_fields), "one item per field, and no item the form lacks"
    for name, info in model.model_fields.items():
        label = data_policy().label(name).lower()
        matches = [entry for entry in entries if entry.removesuffix(" (optional)") == label]
        assert len(matches) == 1, f"{kind}: the field '{name}' is not listed once"
        assert matches[0].endswith("(optional)") == (not info.is_required()), name


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_marketing_opt_in_is_mentioned_exactly_for_the_forms_that_offer_it(kind: str) -> None:
    part = section(notice(), kind)
    offers = "marketing_consent" in FORMS[kind].model.model_fields
    assert (OFFERS in part) == offers
    assert ("(#consent)" in part) == offers


def test_the_forms_that_offer_the_opt_in_include_complaints_and_returns() -> None:
    offering = {kind for kind, form in FORMS.items() if "marketing_consent" in form.model.model_fields}
    assert {"complaint", "return_request"} <= offering


def test_the_consent_section_lists_everything_a_consent_record_keeps() -> None:
    record = items.consent_item(
        reference="CON-TEST", subject="subject", sealed=b"", created=datetime(2026, 11, 1, tzinfo=UTC),
        expires=datetime(2028, 11, 1, tzinfo=UTC), source_form="complaint",
        source_reference="CMP-TEST", notice_version="v",
    )
    # Withdrawing (the staff CLI) adds the time of withdrawal to the same record.
    kept = set(record["fields"]) | {"withdrawn_at"}
    assert set(data_policy().consent_record_labels) == kept
    entries = listed(section(notice(), items.CONSENT_KIND))
    assert len(entries) == len(items.CONSENT_CONTACT) + len(kept)
    for name in items.CONSENT_CONTACT:
        assert data_policy().label(name).lower() in entries, name
    for name in kept:
        assert data_policy().consent_record_labels[name].lower() in entries, name


def test_every_purpose_states_its_lawful_basis() -> None:
    text = notice()
    law = retailer().privacy.law
    for kind, notice_of_kind in data_policy().notices.items():
        basis = notice_of_kind.lawful_basis
        assert basis.name and basis.article.startswith("Article 6(1)(") and basis.why
        assert f": {basis.name} ({law} {basis.article}). {basis.why}" in section(text, kind)
    assert data_policy().notices["consent"].lawful_basis.name == "Consent"


# A purpose whose basis is unknown, missing or unexplained: each stops the build with its name.
UNLAWFUL_CHANGES = {
    ('lawful_basis = "contract"', 'lawful_basis = "because"'): "lawful_basis must be one of",
    ('lawful_basis = "contract"', "# no basis"): "lawful_basis must be one of",
    ("lawful_basis_why = ", "# lawful_basis_why = "): "lawful_basis_why",
}


def test_a_purpose_without_a_known_lawful_basis_is_refused() -> None:
    policy_text = POLICY_TOML.read_text(encoding="utf-8")
    for change, message in UNLAWFUL_CHANGES.items():
        with pytest.raises(PolicySettingError, match=re.escape(message)):
            parse_policy(policy_text.replace(*change, 1))


def test_a_form_field_the_policy_cannot_name_stops_the_build() -> None:
    policy = data_policy()
    labels = {name: label for name, label in policy.field_labels.items() if name != "serial_number"}
    unnamed = dataclasses.replace(policy, field_labels=labels)
    privacy_notice._state.update(policy=unnamed, form_pages={})
    page = type("Page", (), {"file": type("File", (), {"src_uri": "privacy.md"})()})()
    try:
        with pytest.raises(PluginError, match="serial_number"):
            privacy_notice.on_page_markdown("<!-- privacy-notice -->", page, None, None)
    finally:
        privacy_notice._state.update(policy=policy)


def test_the_notice_names_the_right_to_complain_to_the_supervisory_authority() -> None:
    privacy = retailer().privacy
    text = notice()
    assert (
        "right to complain to the supervisory authority, the "
        f"[{privacy.supervisory_authority}]({privacy.supervisory_authority_url})"
    ) in text
    assert privacy.supervisory_authority_url.startswith("https://")



def emails_part(text: str) -> str:
    start = text.index("## Emails we send")
    return text[start:text.index("\n## ", start + 1)]


def test_every_email_the_notifier_sends_is_described_in_the_notice() -> None:
    from chalicelib.cases import follow_up
    from chalicelib.notify import case_emails
    from chalicelib.notify import notifier as notify

    described = data_policy().emails
    sent = {*notify.MESSAGES, notify.DIGEST, follow_up.MESSAGE, case_emails.OVERDUE_DIGEST,
            case_emails.CASE_UPDATE.rstrip("-")}
    assert sent <= set(described)
    part = emails_part(notice())
    for name, description in described.items():
        assert f"- {description}" in part, name


def test_the_notice_names_amazon_ses_as_the_processor_that_sends_them() -> None:
    policy = data_policy()
    part = emails_part(notice())
    assert "Amazon SES" in policy.mail_service and f"through {policy.mail_service}." in part
    assert "our processor" in policy.mail_processor and policy.mail_processor in part
    # And "we give it to nobody" no longer reads as if no processor saw it.
    assert f"anyone outside {retailer().legal_name}, other than the processors named above" in notice()


def test_the_notice_says_staff_alerts_carry_no_personal_data_and_confirmations_no_message() -> None:
    described = data_policy().emails
    from chalicelib.notify import notifier as notify

    for staff_message in (notify.STAFF_ALERT, notify.DIGEST):
        assert "no personal data" in described[staff_message]
    assert "never repeats your message" in described[notify.CONFIRMATION]


def test_an_emails_section_without_its_processor_stops_the_build() -> None:
    policy_text = POLICY_TOML.read_text(encoding="utf-8")
    unnamed = parse_policy(re.sub(r"^processor = .*$", "", policy_text, flags=re.MULTILINE))
    with pytest.raises(PolicySettingError, match="processor"):
        privacy_notice.notice_markdown(unnamed, {})
