"""Which case changes are emailed to the customer, and the overdue digest staff get."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib.cases.notices import MESSAGE_TEMPLATE, notice_for, overdue_digest
from chalicelib.rules.lifecycles import CasePolicy, case_policy
from chalicelib.store import items

POLICY = case_policy()


def entry(status: str, *, moved: bool = True, kind: str = "complaint", message: bytes | None = None) -> dict:
    return items.history_item(
        reference="CMP-2222-3333", kind=kind, version=2, moment=datetime(2026, 11, 23, tzinfo=UTC),
        actor="staff", status=status, moved=moved, handler=None, window=None, sealed_note=None,
        sealed_message=message, subject="s", expires_at=None,
    )


def test_a_move_into_a_status_the_customer_is_told_of_is_one_notice() -> None:
    notice = notice_for(entry("acknowledged", message=b"sealed"), POLICY)
    assert notice is not None
    assert (notice.template, notice.version, notice.has_message) == ("case_complaint_acknowledged", 2, True)


def test_a_message_to_the_customer_without_a_move_is_emailed_as_a_reply() -> None:
    notice = notice_for(entry("resolved", moved=False, message=b"sealed"), POLICY)
    assert notice is not None and (notice.template, notice.has_message) == (MESSAGE_TEMPLATE, True)


def test_internal_steps_assignments_and_other_items_send_nothing() -> None:
    assert POLICY.lifecycle("complaint").status("in_progress").tell is False
    assert notice_for(entry("in_progress"), POLICY) is None
    assert notice_for(entry("acknowledged", moved=False), POLICY) is None  # a handler change only
    submission = {"pk": "SUB#CMP-2222-3333", "sk": "SUBMISSION", "status": "received", "moved": True}
    assert notice_for(submission, POLICY) is None


def test_every_status_marked_tell_names_a_template_and_a_scheduled_visit_is_one() -> None:
    needed = templates_needed(POLICY)
    assert "case_service_visit_scheduled" in needed and "case_return_request_refunded" in needed
    assert all(name.startswith("case_") for name in needed) and len(needed) == len(set(needed))


def test_the_overdue_digest_names_references_only_most_late_first() -> None:
    cases = [
        {"reference": "ENQ-A", "kind": "enquiry", "status": "received", "created_at": "2026-11-02T09:00:00Z"},
        {"reference": "CMP-B", "kind": "complaint", "status": "acknowledged",
         "created_at": "2026-10-01T09:00:00Z", items.STATUS_SINCE_ATTRIBUTE: "2026-11-20T09:00:00Z"},
        {"reference": "RET-C", "kind": "return_request", "status": "received",
         "created_at": "2026-10-26T09:00:00Z"},
    ]
    lines = overdue_digest(cases, POLICY, date(2026, 11, 23))
    assert [line.split()[0] for line in lines] == ["RET-C", "ENQ-A"]  # CMP-B is inside its 10 days
    assert lines[1] == "ENQ-A (enquiry, received): due 2026-11-04, 19 day(s) late"


def templates_needed(policy: CasePolicy) -> list[str]:
    """Every template the notifier must have: one per status the customer is told of, and the
    one for a message sent with any other move."""
    return [f"case_{kind}_{name}" for kind, lifecycle in policy.lifecycles.items()
            for name, status in lifecycle.statuses.items() if status.tell] + [MESSAGE_TEMPLATE]
