"""`aftercare subject` and `aftercare consent`: one person's items, and nobody else's."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

from chalicelib.forms import FORMS
from chalicelib.store.items import CONSENT_PREFIX, IDEMPOTENCY_PREFIX, SUBMISSION_PREFIX, submission_key

from tests.staff.conftest import HelpDesk

ANN = "ann@example.com"
BO = "bo@example.com"


def people(desk: HelpDesk) -> dict[str, list[str]]:
    """Ann: two enquiries (one opting in, one sent with an Idempotency-Key); Bo: one, opting in.

    Bo's is the newest, so a listing in time order cannot pass by stopping early.
    """
    return {
        ANN: [desk.submit(email=ANN, name="Ann Lee", marketing_consent=True,
                          at=datetime(2026, 4, 1, tzinfo=UTC)),
              # Idempotency records live a day: this one is from just now.
              desk.submit(email=ANN, name="Ann Lee", idempotency_key="retry-me")],
        BO: [desk.submit(email=BO, name="Bo Chan", marketing_consent=True,
                         at=datetime.now(UTC))],
    }


def no_personal_data_in(records: list[dict[str, object]]) -> None:
    text = json.dumps(records, default=str).lower()
    for secret in ("ann@example.com", "ann lee", "bo@example.com", "bo chan", "new@example.com"):
        assert secret not in text


def test_find_lists_every_record_of_the_person_only(desk: HelpDesk) -> None:
    references = people(desk)

    result = desk.ok("subject", "find", "--email", "  ANN@Example.com ")

    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(line["record"] for line in lines) == ["consent", "idempotency", "submission", "submission"]
    assert {line["reference"] for line in lines if line["record"] == "submission"} == set(references[ANN])
    assert not set(references[BO]) & {line["reference"] for line in lines}
    (record,) = desk.audit_records()
    assert record["action"] == "subject.find" and record["item_count"] == 4
    assert record["about_subject"] == desk.subject(ANN)
    no_personal_data_in(desk.audit_records())


def test_export_is_a_readable_document_with_a_section_per_submission(desk: HelpDesk) -> None:
    references = people(desk)

    document = json.loads(desk.ok("subject", "export", "--email", ANN).stdout)

    sections = document["submissions"]
    assert [section["reference"] for section in sections] == references[ANN]  # oldest first
    first = sections[0]
    assert first["sent_on"] == "2026-04-01" and first["form"] == "Enquiry"
    answers = {pair["question"]: pair["answer"] for pair in first["what_you_told_us"]}
    assert answers["Your name"] == "Ann Lee" and answers["Email address"] == ANN
    assert answers[FORMS["enquiry"].model.model_fields["marketing_consent"].title] == "Yes"
    assert date.fromisoformat(first["kept_until"]) > date(2026, 4, 1)
    (consent,) = document["marketing_consents"]
    assert (consent["email"], consent["name"], consent["given_on"]) == (ANN, "Ann Lee", "2026-04-01")
    text = json.dumps(document)
    for internal in (SUBMISSION_PREFIX, IDEMPOTENCY_PREFIX, CONSENT_PREFIX, "subject_hash",
                     "expires_at", "fingerprint", desk.subject(ANN), "idempotency"):
        assert internal not in text
    assert not re.search(r"\b1[6-9]\d{8}\b", text)  # no epoch seconds
    assert "Bo Chan" not in text
    (record,) = desk.audit_records()
    assert record["action"] == "subject.export" and record["item_count"] == 4
    no_personal_data_in(desk.audit_records())


def test_export_as_html_is_a_page_with_a_section_per_submission(desk: HelpDesk, tmp_path: Path) -> None:
    references = people(desk)
    desk.submit(email=ANN, name="<b>Ann</b>", at=datetime(2026, 5, 2, tzinfo=UTC))

    desk.ok("subject", "export", "--email", ANN, "-o", str(tmp_path / "ann.html"))

    page = (tmp_path / "ann.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert page.count("<section><h2>Enquiry ") == 3
    assert all(reference in page for reference in references[ANN])
    assert "1 April 2026" in page and "Your choices about our emails" in page
    assert "&lt;b&gt;Ann&lt;/b&gt;" in page and "<b>Ann</b>" not in page


def test_correct_reseals_a_personal_field(desk: HelpDesk) -> None:
    reference = people(desk)[ANN][0]

    result = desk.ok("subject", "correct", "--email", ANN, "--reference", reference,
                     "--field", "name", "--value", "Ann Lee-Smith")

    assert "corrected name" in result.stdout and "Lee-Smith" not in result.output
    (stored,) = [item for item in desk.items(submission_key(reference)[0])]
    assert b"Lee-Smith" not in stored["personal"]
    opened = desk.settings.cipher().open(stored["personal"], kind="enquiry", reference=reference)
    assert opened["name"] == "Ann Lee-Smith" and opened["email"] == ANN
    assert stored["subject_hash"] == desk.subject(ANN)
    (record,) = desk.audit_records()
    assert record["action"] == "subject.correct" and record["detail"]["field"] == "name"
    no_personal_data_in(desk.audit_records())


def test_correct_an_open_field(desk: HelpDesk) -> None:
    reference = people(desk)[ANN][0]

    desk.ok("subject", "correct", "--email", ANN, "--reference", reference,
            "--field", "topic", "--value", "warranty")

    (stored,) = desk.items(submission_key(reference)[0])
    assert stored["fields"]["topic"] == "warranty"


def test_correcting_the_email_moves_the_item_to_the_new_address(desk: HelpDesk) -> None:
    reference = people(desk)[ANN][0]

    desk.ok("subject", "correct", "--email", ANN, "--reference", reference,
            "--field", "email", "--value", "New@Example.com")

    assert reference in desk.ok("subject", "find", "--email", "new@example.com").stdout
    assert reference not in desk.ok("subject", "find", "--email", ANN).stdout
    no_personal_data_in(desk.audit_records())


def test_a_value_the_form_would_refuse_is_not_stored(desk: HelpDesk) -> None:
    reference = people(desk)[ANN][0]
    (before,) = desk.items(submission_key(reference)[0])

    result = desk.run("subject", "correct", "--email", ANN, "--reference", reference,
                      "--field", "email", "--value", "not an email")

    assert result.exit_code == 1 and "email" in result.output and "refuse" in result.output
    assert "not an email" not in result.output
    assert desk.items(submission_key(reference)[0]) == [before]
    (record,) = desk.audit_records()
    assert record["outcome"] == "failed" and record["item_count"] == 0


def test_nobody_can_correct_another_persons_submission(desk: HelpDesk) -> None:
    bo_reference = people(desk)[BO][0]

    result = desk.run("subject", "correct", "--email", ANN, "--reference", bo_reference,
                      "--field", "name", "--value", "Mallory")

    assert result.exit_code == 1 and "belongs" in result.output


def test_erase_removes_everything_of_the_person_and_nothing_else(desk: HelpDesk) -> None:
    references = people(desk)
    desk.submit(email=ANN, at=datetime(2020, 1, 1, tzinfo=UTC))  # expired, not yet removed by TTL
    bo_items_before = [item for item in desk.raw_items() if item.get("subject_hash") == desk.subject(BO)]

    result = desk.ok("subject", "erase", "--email", ANN, "--yes")

    assert "erased 5 item(s)" in result.stdout
    assert "1 consent" in result.stdout and "1 idempotency" in result.stdout
    remaining = desk.raw_items()
    assert not [item for item in remaining if item.get("subject_hash") == desk.subject(ANN)]
    assert not [item for item in remaining if item.get("reference") in references[ANN]]
    assert [item for item in remaining if item.get("subject_hash") == desk.subject(BO)] == bo_items_before
    assert desk.ok("subject", "find", "--email", ANN).stdout == ""
    erased = [record for record in desk.audit_records() if record["action"] == "subject.erase"]
    assert len(erased) == 1 and erased[0]["item_count"] == 5
    assert erased[0]["about_subject"] == desk.subject(ANN)
    no_personal_data_in(desk.audit_records())


def test_erase_asks_first_and_stops_on_no(desk: HelpDesk) -> None:
    people(desk)
    count = len(desk.raw_items())

    result = desk.run("subject", "erase", "--email", ANN, input="n\n")

    assert result.exit_code == 1 and "Aborted" in result.output
    assert len(desk.raw_items()) == count


def test_consent_list_and_withdraw(desk: HelpDesk) -> None:
    people(desk)

    listed = [json.loads(line) for line in desk.ok("consent", "list", "--email", ANN).stdout.splitlines()]
    withdrawn = desk.ok("consent", "withdraw", "--email", ANN).stdout
    again = desk.ok("consent", "withdraw", "--email", ANN).stdout
    after = [json.loads(line) for line in desk.ok("consent", "list", "--email", ANN).stdout.splitlines()]

    assert [line["status"] for line in listed] == ["opted-in"] and listed[0]["given_at"]
    assert "withdrew 1" in withdrawn and "withdrew 0" in again
    assert [line["status"] for line in after] == ["withdrawn"] and after[0]["withdrawn_at"]
    bo_consents = [item for item in desk.items(CONSENT_PREFIX) if item["subject_hash"] == desk.subject(BO)]
    assert [item["status"] for item in bo_consents] == ["opted-in"]
    actions = [record["action"] for record in desk.audit_records()]
    assert actions.count("consent.withdraw") == 2 and actions.count("consent.list") == 2
    no_personal_data_in(desk.audit_records())


def test_a_follow_up_consent_is_listed_exported_corrected_and_withdrawn_as_any_consent(
    desk: HelpDesk,
) -> None:
    reference = desk.submit("complaint", email=ANN, name="Ann Lee", follow_up_consent=True)

    listed = desk.ok("consent", "list", "--email", ANN).stdout.splitlines()
    (consent,) = json.loads(desk.ok("subject", "export", "--email", ANN).stdout)["marketing_consents"]
    desk.ok("subject", "correct", "--email", ANN, "--reference", reference,
            "--field", "email", "--value", "ann.lee@example.com")
    moved = json.loads(desk.ok("subject", "export", "--email", "ann.lee@example.com").stdout)
    withdrawn = desk.ok("consent", "withdraw", "--email", "ann.lee@example.com").stdout
    on_list = desk.ok("export", "--kind", "consents", "--format", "jsonl").stdout

    assert [(line["kind"], line["status"]) for line in map(json.loads, listed)] == [("follow_up", "opted-in")]
    assert consent["agreed_to"] == "Asking how we did" and consent["email"] == ANN
    assert [c["email"] for c in moved["marketing_consents"]] == ["ann.lee@example.com"]
    assert "withdrew 1" in withdrawn
    assert [item["status"] for item in desk.items(CONSENT_PREFIX)] == ["withdrawn"]
    assert on_list.strip() == ""  # never on the marketing list
    refused = desk.run("subject", "correct", "--email", "ann.lee@example.com", "--reference", reference,
                       "--field", "follow_up_consent", "--value", "false")
    assert refused.exit_code != 0 and "consent withdraw" in refused.output
