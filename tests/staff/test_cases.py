"""`aftercare cases` and `aftercare case ...`: the open list, one case in full, and changes to it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalicelib.cases.book import CaseBook, Change
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store.items import history_partition, rating_changes, submission_key
from chalicelib.store.table import ItemChange, WriteConflict

from tests.staff.conftest import NOW, HelpDesk


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_a_new_complaint_is_an_open_case_with_its_promise_date(desk: HelpDesk) -> None:
    reference = desk.submit("complaint", email="ann@example.com")
    desk.submit("warranty_registration")  # not a case: never listed

    (row,) = lines(desk.ok("cases").stdout)

    policy = case_policy()
    assert row["reference"] == reference and row["status"] == "received"
    assert row["due_on"] == policy.calendar.add_working_days(NOW.date(), 2).isoformat()
    assert row["overdue"] is False and row["handler"] is None and row["age_days"] == 0
    assert "@example.com" not in desk.ok("cases").stdout


def test_overdue_cases_come_first_and_filters_narrow_the_list(desk: HelpDesk) -> None:
    fresh = desk.submit("complaint")
    late = desk.submit("enquiry", at=NOW - timedelta(days=30))
    returned = desk.submit("return_request")
    desk.ok("case", "assign", returned, "--handler", "Sam Patel")

    listed = [row["reference"] for row in lines(desk.ok("cases").stdout)]
    overdue = lines(desk.ok("cases", "--overdue").stdout)

    assert listed[0] == late and set(listed) == {fresh, late, returned}
    assert [row["reference"] for row in overdue] == [late] and overdue[0]["overdue"] is True
    assert [r["reference"] for r in lines(desk.ok("cases", "--kind", "complaint").stdout)] == [fresh]
    assert [r["reference"] for r in lines(desk.ok("cases", "--handler", "sam patel").stdout)] == [returned]
    assert lines(desk.ok("cases", "--status", "answered").stdout) == []
    unknown = desk.run("cases", "--kind", "warranty_registration")
    assert unknown.exit_code == 2 and "complaint" in unknown.output


def test_a_complaint_moves_through_its_lifecycle_with_sealed_history(desk: HelpDesk) -> None:
    reference = desk.submit("complaint")

    desk.ok("case", "update", reference, "--status", "acknowledged", "--handler", "Sam Patel",
            "--tell-customer", "Sam is looking into your order.")
    desk.ok("case", "update", reference, "--status", "resolved",
            "--note", "Courier lost it; refunded delivery", "--tell-customer", "We refunded delivery.")
    shown = json.loads(desk.ok("case", "show", reference).stdout)

    assert shown["status"] == "resolved" and shown["handler"] == "Sam Patel"
    assert shown["next_moves"] == ["in_progress", "closed"]
    assert [entry["status"] for entry in shown["history"]] == ["acknowledged", "resolved"]
    assert shown["history"][1]["note"] == "Courier lost it; refunded delivery"
    assert shown["history"][0]["told_customer"] == "Sam is looking into your order."
    assert shown["history"][0]["by"].startswith("arn:aws:" if desk.engine == "moto" else "local:")
    assert shown["fields"]["email"]  # decrypted personal fields
    stored = desk.items(history_partition(reference))
    assert len(stored) == 2
    assert all(b"Courier" not in (entry.get("note") or b"") for entry in stored)
    assert all(b"refunded" not in (entry.get("customer_message") or b"") for entry in stored)

    desk.ok("case", "update", reference, "--status", "closed")
    assert lines(desk.ok("cases").stdout) == []  # off the open-cases index
    (item,) = desk.items(submission_key(reference)[0])
    assert item["status"] == "closed" and item["version"] == 3 and "case_queue" not in item


def test_illegal_moves_are_refused_in_one_plain_line(desk: HelpDesk) -> None:
    reference = desk.submit("complaint")

    skipping = desk.run("case", "update", reference, "--status", "resolved", "--note", "x")
    no_handler = desk.run("case", "update", reference, "--status", "acknowledged")
    unknown = desk.run("case", "update", "CMP-0000-0000", "--status", "closed")
    not_a_case = desk.run("case", "show", desk.submit("feedback"))

    assert skipping.exit_code == 1 and "from received it can go to: acknowledged" in skipping.output
    assert no_handler.exit_code == 1 and "needs a handler" in no_handler.output
    assert unknown.exit_code == 1 and "no case" in unknown.output
    assert not_a_case.exit_code == 1 and "not a case" in not_a_case.output
    assert all("Traceback" not in r.output for r in (skipping, no_handler, unknown, not_a_case))
    assert desk.items(history_partition(reference)) == []


def test_case_commands_are_audited_without_the_notes(desk: HelpDesk) -> None:
    reference = desk.submit("enquiry")
    desk.ok("case", "update", reference, "--status", "answered", "--tell-customer", "Use bracket B2.")
    desk.ok("case", "show", reference)

    actions = {record["action"]: record for record in desk.audit_records()}

    assert actions["case.update"]["detail"]["reference"] == reference
    assert actions["case.update"]["kinds"] == ["enquiry"] and actions["case.update"]["item_count"] == 1
    assert "case.show" in actions
    assert "bracket" not in json.dumps(desk.audit_records(), default=str)


def test_a_return_under_warranty_shows_the_registration(desk: HelpDesk) -> None:
    registration = desk.submit("warranty_registration")
    (claim,) = desk.items("WARRANTY#")
    product = claim["product"]
    serial = claim["pk"].split("#", 1)[1]
    returned = desk.submit("return_request", product=product, serial_number=serial)

    shown = json.loads(desk.ok("case", "show", returned).stdout)

    assert shown["warranty"]["registration"] == registration
    assert shown["warranty"]["words"] == f"under warranty until {claim['expires_on']}"


def test_on_a_terminal_the_list_is_a_table(desk: HelpDesk) -> None:
    reference = desk.submit("complaint")

    output = desk.ok("cases", "--format", "table").stdout.splitlines()

    assert output[0].split()[:4] == ["reference", "kind", "status", "handler"]
    assert output[2].split()[:3] == [reference, "complaint", "received"]


# -- Two staff at once ---------------------------------------------------------------

@pytest.mark.dynamodb_local
def test_concurrent_changes_to_one_case_never_lose_a_history_entry(local_desk: HelpDesk) -> None:
    reference = local_desk.submit("complaint")
    staff_count, changes_each = 4, 5
    failures: list[BaseException] = []

    def work(who: int) -> None:
        book = CaseBook(local_desk.table, local_desk.settings.cipher(), case_policy(),
                        lambda: datetime.now(UTC))
        try:
            for turn in range(changes_each):
                book.change(reference, Change(handler=f"Staff {who}", note=f"turn {turn}"),
                            actor=f"local:staff-{who}")
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(who,)) for who in range(staff_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    entries = local_desk.items(history_partition(reference))
    assert sorted(entry["version"] for entry in entries) == list(range(1, staff_count * changes_each + 1))
    assert sorted(entry["actor"] for entry in entries) == sorted(
        f"local:staff-{who}" for who in range(staff_count) for _ in range(changes_each))
    (item,) = local_desk.items(submission_key(reference)[0])
    assert item["version"] == staff_count * changes_each


@pytest.mark.dynamodb_local
def test_history_is_append_only_an_entry_is_never_overwritten(local_desk: HelpDesk) -> None:
    reference = local_desk.submit("complaint")
    book = CaseBook(local_desk.table, local_desk.settings.cipher(), case_policy(),
                    lambda: datetime.now(UTC))
    first = book.change(reference, Change(note="first"), actor="local:a")
    # A writer that read the case before the first change tries to take the same place.
    with pytest.raises(WriteConflict):
        local_desk.table.change_with_entry(
            submission_key(reference), version_attribute="version", expected_version=0,
            set_attributes={"status": "received"}, remove_attributes=(),
            entry={**first, "actor": "local:b"},
        )
    (kept,) = local_desk.items(history_partition(reference))
    assert kept["actor"] == "local:a"


def test_the_persons_copy_of_their_data_tells_what_we_did_and_told_them(desk: HelpDesk) -> None:
    reference = desk.submit("enquiry", email="ann@example.com")
    desk.ok("case", "update", reference, "--status", "answered", "--note", "Checked the manual",
            "--tell-customer", "Use bracket B2.")

    document = json.loads(desk.ok("subject", "export", "--email", "ann@example.com").stdout)

    (section,) = [s for s in document["submissions"] if s["reference"] == reference]
    (change,) = section["what_we_did"]
    answered = case_policy().lifecycle("enquiry").status("answered").words
    assert change["question"].endswith(f": {answered}")
    assert change["answer"] == "Use bracket B2."
    assert section["status"] == answered
    assert "Checked the manual" not in json.dumps(document)  # an internal note is never in their copy


def test_a_note_only_change_is_left_out_of_the_persons_copy(desk: HelpDesk) -> None:
    reference = desk.submit("complaint", email="ann@example.com")
    desk.ok("case", "update", reference, "--status", "acknowledged", "--handler", "Ravi",
            "--note", "Customer sounded upset")
    desk.ok("case", "assign", reference, "--handler", "Mia", "--note", "Called the depot")

    document = json.loads(desk.ok("subject", "export", "--email", "ann@example.com").stdout)

    (section,) = [s for s in document["submissions"] if s["reference"] == reference]
    words = case_policy().lifecycle("complaint").status("acknowledged").words
    assert [change["question"].split(": ", 1)[1] for change in section["what_we_did"]] == [words]
    text = json.dumps(document)
    assert "upset" not in text and "depot" not in text and "acknowledged" not in text


# -- Ratings from the follow-up email ------------------------------------------------

def rate(desk: HelpDesk, reference: str, score: int, at: datetime) -> None:
    """What the notifier records when the customer rates the case through the follow-up link."""
    desk.table.change_all([ItemChange(
        *submission_key(reference),
        rating_changes(rating=score, rated=at, feedback_reference="FB-2345-6789"), "rating",
    )])


def test_closed_cases_list_with_the_rating_their_customer_gave(desk: HelpDesk) -> None:
    rated = desk.submit("enquiry", follow_up_consent=True)
    unrated = desk.submit("enquiry")
    still_open = desk.submit("complaint")
    for reference in (rated, unrated):
        desk.ok("case", "update", reference, "--status", "answered", "--tell-customer", "It fits.")
        desk.ok("case", "update", reference, "--status", "closed")
    rate(desk, rated, 4, NOW + timedelta(days=1))

    closed = {row["reference"]: row for row in lines(desk.ok("cases", "--closed").stdout)}
    only_rated = lines(desk.ok("cases", "--closed", "--rated").stdout)
    shown = json.loads(desk.ok("case", "show", rated).stdout)
    table = desk.ok("cases", "--closed", "--format", "table").stdout.splitlines()

    assert set(closed) == {rated, unrated} and still_open not in closed
    assert closed[rated]["rating"] == 4 and closed[unrated]["rating"] is None
    assert [row["reference"] for row in only_rated] == [rated]
    assert (shown["rating"], shown["rating_feedback"]) == (4, "FB-2345-6789")
    assert "rating" in table[0].split()
    (rated_line,) = [line for line in table if line.startswith(rated)]
    assert " 4 " in f"{rated_line} "
    assert lines(desk.ok("cases").stdout)[0]["rating"] is None  # the open list has the column too
    assert "rating:" in desk.ok("case", "show", rated, "--format", "table").stdout
    refused = desk.run("cases", "--rated")
    assert refused.exit_code == 2 and "--closed" in refused.output


def test_a_visit_window_is_checked_by_the_command_and_shown_in_words(desk: HelpDesk) -> None:
    visit = desk.submit("service_visit")
    day = NOW.date() + timedelta(days=7)
    refused = desk.run("case", "update", visit, "--status", "scheduled", "--handler", "Priya Shah",
                       "--window", "Monday morning")
    assert refused.exit_code != 0 and "a date and a part of the day" in refused.output
    assert json.loads(desk.ok("case", "show", visit).stdout)["status"] == "requested"

    desk.ok("case", "update", visit, "--status", "scheduled", "--handler", "Priya Shah",
            "--window", f"{day.isoformat()} morning")

    shown = json.loads(desk.ok("case", "show", visit).stdout)
    assert shown["visit_window"] == f"{day.isoformat()} 09:00-13:00" and shown["due_on"] == day.isoformat()
    in_words = f"{day:%A} {day.day} {day:%B}, 9:00 to 13:00"
    assert in_words in desk.ok("case", "show", visit, "--format", "table").stdout
