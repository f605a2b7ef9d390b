"""`aftercare complaints`: the open list, and resolving one with who heard it and what was done."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib.items import submission_key

from tests.staff.conftest import HelpDesk


def test_open_complaints_are_listed_oldest_first_without_personal_data(
    desk: HelpDesk, complaint_kind: str
) -> None:
    older = desk.submit(complaint_kind, email="ann@example.com", at=datetime(2026, 6, 1, tzinfo=UTC))
    newer = desk.submit(complaint_kind, email="bo@example.com", at=datetime(2026, 6, 2, tzinfo=UTC))
    desk.submit("enquiry")

    result = desk.ok("complaints", "list")

    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [case["reference"] for case in listed] == [older, newer]
    assert all(case["status"] == "open" for case in listed)
    assert "@example.com" not in result.stdout


def test_resolving_records_what_was_done_and_by_whom(desk: HelpDesk, complaint_kind: str) -> None:
    reference = desk.submit(complaint_kind)

    desk.ok("complaints", "resolve", reference, "--heard-by", "Sam Patel",
            "--action", "Replaced the unit and refunded delivery")

    (stored,) = desk.items(submission_key(reference)[0])
    assert stored["status"] == "resolved" and stored["resolved_at"]
    assert stored["resolved_by"].startswith("arn:aws:" if desk.engine == "moto" else "local:")
    assert b"Sam Patel" not in stored["resolution"]
    assert desk.ok("complaints", "list").stdout == ""
    assert reference in desk.ok("complaints", "list", "--status", "resolved").stdout
    row = json.loads(desk.ok("export", "--kind", complaint_kind, "--format", "jsonl").stdout)
    assert row["heard_by"] == "Sam Patel"
    assert row["action_taken"] == "Replaced the unit and refunded delivery"
    assert row["resolved_by"] == stored["resolved_by"]
    resolve_record = [record for record in desk.audit_records() if record["action"] == "complaint.resolve"]
    assert resolve_record[0]["item_count"] == 1
    assert "Sam Patel" not in json.dumps(desk.audit_records(), default=str)


def test_a_complaint_is_resolved_once_and_only_complaints(desk: HelpDesk, complaint_kind: str) -> None:
    reference = desk.submit(complaint_kind)
    enquiry = desk.submit("enquiry")
    desk.ok("complaints", "resolve", reference, "--heard-by", "Sam", "--action", "Apologised")

    twice = desk.run("complaints", "resolve", reference, "--heard-by", "Sam", "--action", "Again")
    not_a_case = desk.run("complaints", "resolve", enquiry, "--heard-by", "Sam", "--action", "x")
    unknown = desk.run("complaints", "resolve", "CMP-0000-0000", "--heard-by", "Sam", "--action", "x")

    assert twice.exit_code == 1 and "already resolved" in twice.output
    assert not_a_case.exit_code == 1 and "not a case" in not_a_case.output
    assert unknown.exit_code == 1 and "no submission" in unknown.output


def test_complaints_list_is_a_table_with_days_open_and_handler(desk: HelpDesk, complaint_kind: str) -> None:
    today = datetime.now(UTC)
    waiting = desk.submit(complaint_kind, at=today - timedelta(days=9))
    closed = desk.submit(complaint_kind, at=today - timedelta(days=4))
    desk.ok("complaints", "resolve", closed, "--heard-by", "Sam", "--action", "Apologised")

    open_table = desk.ok("complaints", "list", "--format", "table").stdout.splitlines()
    resolved_table = desk.ok("complaints", "list", "--status", "resolved", "--format", "table").stdout

    headings = open_table[0].split("  ")
    assert "days open" in open_table[0] and "handler" in open_table[0] and "{" not in "".join(open_table)
    assert headings[0] == "reference" and set(open_table[1]) <= {"-", " "}
    (row,) = open_table[2:]
    assert row.startswith(waiting) and "  9  " in row
    resolved_row = resolved_table.splitlines()[2]
    assert resolved_row.startswith(closed) and "  4  " in resolved_row
    assert ("arn:aws:" if desk.engine == "moto" else "local:") in resolved_row


def test_complaints_list_is_json_lines_when_piped(desk: HelpDesk, complaint_kind: str) -> None:
    reference = desk.submit(complaint_kind, at=datetime.now(UTC) - timedelta(days=2))

    (line,) = desk.ok("complaints", "list").stdout.splitlines()

    case = json.loads(line)
    assert case["reference"] == reference and case["days_open"] == 2 and case["handler"] is None


def test_resolving_an_enquiry_says_an_enquiry(desk: HelpDesk) -> None:
    enquiry = desk.submit("enquiry")

    result = desk.run("complaints", "resolve", enquiry, "--heard-by", "Sam", "--action", "x")

    assert result.exit_code == 1 and "is an enquiry, not a case" in result.output
