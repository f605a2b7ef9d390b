"""Asking how we did, its pure rules: the signed link, the consent it needs, when the email is
planned, which feedback ties a rating, and what the email and the privacy notice say."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalicelib.cases import follow_up
from chalicelib.crypto.keys import LocalSubjectHasher
from chalicelib.forms import FORMS, Feedback, InvalidSubmission, validate
from chalicelib.notify import follow_up_mail, unsubscribe
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.policy import data_policy
from chalicelib.store import items

from tests.unit.test_emails import LETTERHEAD, NOW, keys, stored  # noqa: F401 - its fixture
from tests.unit.test_privacy_notice import notice, section

CASE = "ENQ-7K3M-Q9XD"


@pytest.fixture
def hasher() -> LocalSubjectHasher:
    return LocalSubjectHasher(secrets.token_bytes(32))


# -- The signed link ------------------------------------------------------------------

def test_a_link_token_names_its_case_until_it_expires(hasher: LocalSubjectHasher) -> None:
    token = follow_up.sign(hasher, CASE, NOW + timedelta(days=follow_up.LINK_DAYS))
    assert follow_up.verify(hasher, token, NOW + timedelta(days=follow_up.LINK_DAYS - 1)) == CASE
    with pytest.raises(unsubscribe.ExpiredToken):
        follow_up.verify(hasher, token, NOW + timedelta(days=follow_up.LINK_DAYS))


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace(CASE, "ENQ-7K3M-Q9XE"),  # a guessed reference under a real signature
    lambda t: re.sub(r"\.(\d+)\.", lambda m: f".{int(m[1]) + 86400}.", t),  # a longer life
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
    lambda t: t[:30],
    lambda t: "",
])
def test_a_changed_or_cut_token_is_refused(hasher: LocalSubjectHasher, tamper: Any) -> None:
    token = follow_up.sign(hasher, CASE, NOW + timedelta(days=3))
    with pytest.raises(unsubscribe.InvalidToken):
        follow_up.verify(hasher, tamper(token), NOW)


def test_an_unsubscribe_token_is_no_follow_up_token_and_the_reverse(hasher: LocalSubjectHasher) -> None:
    expires = NOW + timedelta(days=3)
    with pytest.raises(unsubscribe.InvalidToken):
        follow_up.verify(hasher, unsubscribe.sign(hasher, CASE, expires), NOW)
    with pytest.raises(unsubscribe.InvalidToken):
        unsubscribe.verify(hasher, follow_up.sign(hasher, CASE, expires), NOW)


def test_the_link_carries_the_reference_and_token_and_no_address(hasher: LocalSubjectHasher) -> None:
    link = follow_up.link(LETTERHEAD.site_url, hasher, CASE, NOW)
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{LETTERHEAD.site_url}/api/feedback"
    assert set(query) == {"case_reference", follow_up.TOKEN_FIELD} and query["case_reference"] == [CASE]
    assert follow_up.verify(hasher, query[follow_up.TOKEN_FIELD][0], NOW) == CASE
    assert "@" not in link


# -- At intake ------------------------------------------------------------------------

def feedback(**fields: Any) -> Feedback:
    submission: Feedback = validate(Feedback, {"overall": 4, **fields})
    return submission


def test_the_link_fills_in_a_blank_case_reference() -> None:
    token = f"{CASE}.1999999999.{'a' * 64}"
    assert feedback(follow_up_token=token).case_reference == CASE
    # A plain form post without the link sends the hidden field empty.
    assert validate(Feedback, {"overall": "4", "follow_up_token": ""}, form=True).follow_up_token is None


@pytest.mark.parametrize("token", ["not-a-token", f"{CASE}.1.{'A' * 64}", f"{CASE}.1.{'a' * 64}<"])
def test_a_token_that_is_not_one_in_shape_fails_validation_on_its_field(token: str) -> None:
    with pytest.raises(InvalidSubmission) as refused:
        feedback(follow_up_token=token)
    assert [e.field for e in refused.value.errors] == [follow_up.TOKEN_FIELD]


def test_the_intake_check_refuses_forged_expired_and_borrowed_links(hasher: LocalSubjectHasher) -> None:
    good = follow_up.sign(hasher, CASE, NOW + timedelta(days=1))
    follow_up.check_link(hasher, feedback(follow_up_token=good), NOW)  # passes
    follow_up.check_link(hasher, feedback(case_reference=CASE), NOW)  # no link: nothing to check
    cases = {
        follow_up.INVALID_LINK: feedback(follow_up_token=good[:-1] + ("0" if good[-1] != "0" else "1")),
        follow_up.EXPIRED_LINK: feedback(follow_up_token=follow_up.sign(hasher, CASE, NOW)),
        follow_up.OTHER_CASE: feedback(follow_up_token=good, case_reference="CMP-2345-6789"),
    }
    for message, submission in cases.items():
        with pytest.raises(InvalidSubmission) as refused:
            follow_up.check_link(hasher, submission, NOW)
        assert [(e.field, e.message) for e in refused.value.errors] == [(follow_up.TOKEN_FIELD, message)]


# -- The consent and when the email is planned ---------------------------------------

def test_the_box_is_on_every_form_that_opens_a_case_and_off_by_default() -> None:
    cases = set(case_policy().lifecycles)
    asking = {kind for kind, form in FORMS.items() if follow_up.CONSENT_FIELD in form.model.model_fields}
    assert asking == cases
    for kind in cases:
        assert FORMS[kind].model.model_fields[follow_up.CONSENT_FIELD].default is False


def test_a_ticked_box_makes_a_follow_up_consent_like_the_marketing_one(keys: Any) -> None:  # noqa: F811
    from chalicelib.intake.receiving import Intake

    from tests.samples import payload_for, validated
    from tests.unit.test_emails import RecordingTable

    cipher, hasher = keys
    table = RecordingTable()
    intake = Intake(table=table, cipher=cipher, hasher=hasher, policy=data_policy(),  # type: ignore[arg-type]
                    clock=lambda: NOW)
    form = FORMS["complaint"]
    body = payload_for(form, NOW.date(), marketing_consent=True, follow_up_consent=True)
    reference = intake.receive(form, validated(form, body, NOW.date())).reference

    # One write on the request path: the opt-ins ride on the submission's item, and the
    # notifier makes each its consent record from the stream (chalicelib.notify.consents).
    (submission,) = table.items
    consents = {item["kind"]: item for item in items.consent_items(submission, data_policy().expires_at)}
    assert set(consents) == {items.CONSENT_KIND, items.FOLLOW_UP_KIND}
    marketing, asked = consents[items.CONSENT_KIND], consents[items.FOLLOW_UP_KIND]
    assert asked["fields"]["source_reference"] == reference == marketing["fields"]["source_reference"]
    assert asked["fields"].keys() == marketing["fields"].keys()
    assert asked["status"] == items.OPTED_IN and asked["subject_hash"] == marketing["subject_hash"]
    assert asked["expires_at"] == items.epoch(data_policy().expires_at(items.FOLLOW_UP_KIND, NOW))
    assert cipher.open(asked["personal"], kind=items.FOLLOW_UP_KIND, reference=asked["reference"])["email"]


def entry(status: str, *, kind: str = "enquiry", moved: bool = True) -> dict[str, Any]:
    return items.history_item(
        reference=CASE, kind=kind, version=2, moment=NOW, actor="staff", status=status, moved=moved,
        handler=None, window=None, sealed_note=None, sealed_message=None, subject="s", expires_at=None,
    )


def test_only_a_move_into_a_final_status_closes_a_case() -> None:
    policy = case_policy()
    assert follow_up.closed_case(entry("closed"), policy) == CASE
    assert follow_up.closed_case(entry("answered"), policy) is None
    assert follow_up.closed_case(entry("closed", moved=False), policy) is None  # a note on a closed case
    assert follow_up.closed_case({**entry("closed"), "pk": "SUB#" + CASE}, policy) is None
    for kind, lifecycle in policy.lifecycles.items():
        for name, status in lifecycle.statuses.items():
            assert (follow_up.closed_case(entry(name, kind=kind), policy) == CASE) == status.closed


def consent(status: str = items.OPTED_IN, *, kind: str = items.FOLLOW_UP_KIND,
            source: str = CASE) -> dict[str, Any]:
    return {"kind": kind, "status": status, "fields": {"source_reference": source}}


def test_the_email_is_planned_only_while_this_case_s_follow_up_consent_stands() -> None:
    case = {"reference": CASE, "fields": {follow_up.CONSENT_FIELD: True}, items.RECIPIENT_ATTRIBUTE: b"x"}
    assert follow_up.consented(case, [consent()])
    assert not follow_up.consented(case, [consent(items.WITHDRAWN)])
    assert not follow_up.consented(case, [consent(kind=items.CONSENT_KIND)])  # marketing is not this
    assert not follow_up.consented(case, [consent(source="CMP-2345-6789")])  # another case's box
    assert not follow_up.consented(case, [])
    assert not follow_up.consented({**case, "fields": {follow_up.CONSENT_FIELD: False}}, [consent()])
    assert not follow_up.consented({**case, items.RECIPIENT_ATTRIBUTE: None}, [consent()])


# -- The rating a feedback ties -------------------------------------------------------

def stored_feedback(token: str | None, *, received: datetime = NOW, case_reference: str = CASE,
                    overall: int = 4) -> dict[str, Any]:
    return {"reference": "FB-2345-6789", "kind": "feedback", "created_at": items.timestamp(received),
            "fields": {"overall": overall, "case_reference": case_reference,
                       follow_up.TOKEN_FIELD: token}}


def test_a_feedback_ties_its_rating_only_through_a_good_link(hasher: LocalSubjectHasher) -> None:
    token = follow_up.sign(hasher, CASE, NOW + timedelta(days=1))
    assert follow_up.rating_for(stored_feedback(token, overall=2), hasher) == (CASE, 2)
    assert follow_up.rating_for(stored_feedback(None), hasher) is None
    assert follow_up.rating_for(stored_feedback(token, case_reference="CMP-2345-6789"), hasher) is None
    other_key = LocalSubjectHasher(secrets.token_bytes(32))
    assert follow_up.rating_for(stored_feedback(token), other_key) is None
    # Judged on when it was received, not when the notifier gets to it.
    late = stored_feedback(token, received=NOW + timedelta(days=2))
    assert follow_up.rating_for(late, hasher) is None


# -- The email and the notice ---------------------------------------------------------

def test_the_email_names_the_case_and_links_once_in_each_part(hasher: LocalSubjectHasher) -> None:
    case = {"reference": CASE, "kind": "enquiry"}
    link = follow_up.link(LETTERHEAD.site_url, hasher, CASE, NOW)
    mail = follow_up_mail.mail(case, "zed.q@example.net", LETTERHEAD, link)
    assert mail.to == "zed.q@example.net" and CASE in mail.subject
    assert mail.text.count(link) == 1
    assert mail.html is not None and mail.html.count(link.replace("&", "&amp;")) == 1
    assert "zed" not in mail.text.replace(mail.to, "") and f"{follow_up.LINK_DAYS} days" in mail.text


def test_the_privacy_notice_tells_of_asking_how_we_did_on_consent() -> None:
    text = notice()
    policy = data_policy()
    assert policy.notices[items.FOLLOW_UP_KIND].lawful_basis.name == "Consent"
    assert f"### {policy.notices[items.FOLLOW_UP_KIND].title} {{#follow-up}}" in text
    for kind in case_policy().lifecycles:
        assert policy.label(follow_up.CONSENT_FIELD) in section(text, kind).lower(), kind
        assert "(#follow-up)" in section(text, kind), kind
    assert text.count("(#follow-up)") == len(case_policy().lifecycles)


def test_a_withdrawal_ends_the_follow_up_consent_too() -> None:
    class Table:
        def __init__(self) -> None:
            self.replaced: list[dict[str, Any]] = []

        def replace(self, item: dict[str, Any]) -> None:
            self.replaced.append(item)

    table = Table()
    records = [consent(), consent(kind=items.CONSENT_KIND), {"kind": "enquiry", "status": "received"}]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    count = unsubscribe.withdraw_consents(table, data_policy(), records, now)  # type: ignore[arg-type]
    assert count == 2 and {item["status"] for item in table.replaced} == {items.WITHDRAWN}
    by_kind = {item["kind"]: item["expires_at"] for item in table.replaced}
    assert by_kind[items.FOLLOW_UP_KIND] == items.epoch(data_policy().expires_at(items.FOLLOW_UP_KIND, now))
