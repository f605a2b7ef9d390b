"""Case lifecycles: every legal and illegal move of every kind, what a move must carry, working days."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest
from chalicelib.rules.lifecycles import (
    NEEDS,
    IllegalMove,
    WorkingCalendar,
    case_policy,
    parse_case_policy,
)

RETURN_OUTCOMES = {
    "repair": ("repair_item_received", "repaired"),
    "replacement": ("replacement_item_received", "replacement_sent"),
    "exchange": ("exchange_item_received", "exchange_sent"),
    "refund": ("refund_item_received", "refunded"),
}

# The lifecycles the issue asks for, written out independently of the data file.
EXPECTED_MOVES: dict[str, set[tuple[str, str]]] = {
    "complaint": {
        ("received", "acknowledged"), ("acknowledged", "in_progress"), ("acknowledged", "resolved"),
        ("in_progress", "resolved"), ("resolved", "in_progress"), ("resolved", "closed"),
    },
    "return_request": {
        ("received", "approved"), ("received", "declined"), ("declined", "closed"), ("declined", "received"),
        *{("approved", steps[0]) for steps in RETURN_OUTCOMES.values()},
        *{(steps[0], steps[1]) for steps in RETURN_OUTCOMES.values()},
        *{(steps[1], "closed") for steps in RETURN_OUTCOMES.values()},
    },
    "enquiry": {("received", "answered"), ("answered", "closed"), ("answered", "received")},
    "service_visit": {
        ("requested", "scheduled"), ("scheduled", "scheduled"), ("scheduled", "done"),
        ("done", "scheduled"), ("done", "closed"),
    },
}
EXPECTED_START = {"complaint": "received", "return_request": "received", "enquiry": "received",
                  "service_visit": "requested"}

POLICY = case_policy()
ALL_PAIRS = [
    (kind, current, target)
    for kind, lifecycle in POLICY.lifecycles.items()
    for current, target in product(lifecycle.statuses, repeat=2)
]


def test_every_kind_of_case_has_a_lifecycle_starting_where_the_issue_says() -> None:
    assert {kind: lifecycle.start for kind, lifecycle in POLICY.lifecycles.items()} == EXPECTED_START


@pytest.mark.parametrize(("kind", "current", "target"), ALL_PAIRS)
def test_each_move_is_legal_exactly_when_the_lifecycle_lists_it(kind: str, current: str, target: str) -> None:
    lifecycle = POLICY.lifecycle(kind)
    carries = NEEDS  # everything a move could need: only the move itself is judged
    if (current, target) in EXPECTED_MOVES[kind]:
        assert lifecycle.check_move(current, target, carries).name == target
    else:
        with pytest.raises(IllegalMove) as refused:
            lifecycle.check_move(current, target, carries)
        message = str(refused.value)
        assert current in message and (target in message or "final" in message)


@pytest.mark.parametrize(("kind", "current", "target"),
                         [(k, c, t) for k, moves in EXPECTED_MOVES.items() for c, t in moves])
def test_a_legal_move_without_what_it_needs_is_refused_naming_it(
    kind: str, current: str, target: str
) -> None:
    lifecycle = POLICY.lifecycle(kind)
    needs = lifecycle.status(target).needs
    if not needs:
        assert lifecycle.check_move(current, target, ()).name == target
        return
    with pytest.raises(IllegalMove) as refused:
        lifecycle.check_move(current, target, ())
    for need in needs:
        assert need in str(refused.value)


def test_closed_is_final_and_off_the_open_list_for_every_kind() -> None:
    for lifecycle in POLICY.lifecycles.values():
        assert "closed" not in lifecycle.open_statuses
        with pytest.raises(IllegalMove, match="final"):
            lifecycle.check_move("closed", lifecycle.start, NEEDS)


def test_the_issues_named_needs_are_enforced() -> None:
    complaint, returns = POLICY.lifecycle("complaint"), POLICY.lifecycle("return_request")
    visit = POLICY.lifecycle("service_visit")
    assert "handler" in complaint.status("acknowledged").needs
    assert "note" in complaint.status("resolved").needs  # what was done
    assert "note" in returns.status("declined").needs  # why
    assert {"window", "handler"} <= set(visit.status("scheduled").needs)
    assert "note" in visit.status("done").needs


def test_an_unknown_status_or_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(IllegalMove, match="acknowledged"):
        POLICY.lifecycle("complaint").check_move("received", "teleported")
    with pytest.raises(IllegalMove, match="complaint"):
        POLICY.lifecycle("warranty_registration")


def test_a_file_whose_moves_point_nowhere_is_refused() -> None:
    broken = """
[kinds.x.statuses.a]
words = "A"
moves = ["b"]
"""
    with pytest.raises(ValueError, match="unknown status b"):
        parse_case_policy(broken)


# -- working days -----------------------------------------------------------------

CALENDAR = WorkingCalendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))


@pytest.mark.parametrize(("start", "days", "due"), [
    (date(2026, 11, 23), 2, date(2026, 11, 25)),   # Monday + 2: Wednesday
    (date(2026, 11, 27), 1, date(2026, 11, 30)),   # Friday + 1: over the weekend to Monday
    (date(2026, 11, 28), 1, date(2026, 11, 30)),   # Saturday + 1: Monday
    (date(2026, 11, 26), 5, date(2026, 12, 3)),    # Thursday + 5: the next Thursday
    (date(2026, 12, 24), 1, date(2026, 12, 29)),   # Christmas and the Monday holiday skipped
    (date(2026, 12, 23), 3, date(2026, 12, 30)),
    (date(2026, 11, 23), 0, date(2026, 11, 23)),
])
def test_working_days_skip_weekends_and_holidays(start: date, days: int, due: date) -> None:
    assert CALENDAR.add_working_days(start, days) == due
    assert working_days_between(start, due) == days


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`: the inverse, counted day by day."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += CALENDAR.is_working_day(day)
    return count


def test_another_weekend_and_holidays_are_configurable() -> None:
    friday_saturday = WorkingCalendar(weekend=frozenset({4, 5}))
    assert friday_saturday.add_working_days(date(2026, 11, 26), 1) == date(2026, 11, 29)
    policy = parse_case_policy("""
[calendar]
weekend = ["Sunday"]
holidays = ["2026-11-24"]
[promises.reply]
working_days = 2
words = "we answer"
[kinds.enquiry.statuses.received]
words = "W"
moves = ["closed"]
promise = "reply"
[kinds.enquiry.statuses.closed]
words = "C"
closed = true
""")
    # Monday 23rd: Tuesday is a holiday, so Wednesday and Thursday are the two days.
    assert policy.due_on("enquiry", "received", date(2026, 11, 23)) == date(2026, 11, 26)
    assert policy.due_on("enquiry", "closed", date(2026, 11, 23)) is None


def test_every_case_form_stores_its_submissions_in_the_lifecycles_first_status() -> None:
    from chalicelib.forms import FORMS

    for kind, lifecycle in POLICY.lifecycles.items():
        assert FORMS[kind].initial_status == lifecycle.start, kind


def test_a_reply_moves_only_cases_that_wait_for_the_customer_along_their_own_moves() -> None:
    waiting = {(kind, name): status.on_reply for kind, lifecycle in POLICY.lifecycles.items()
               for name, status in lifecycle.statuses.items() if status.on_reply}
    assert waiting == {("complaint", "resolved"): "in_progress", ("return_request", "declined"): "received",
                       ("enquiry", "answered"): "received"}
    lifecycle = """
[kinds.enquiry.statuses.received]
words = "r"
moves = ["answered"]
needs = {needs}
[kinds.enquiry.statuses.answered]
words = "a"
moves = ["received", "closed"]
on_reply = "{target}"
[kinds.enquiry.statuses.closed]
words = "c"
closed = true
"""
    assert parse_case_policy(lifecycle.format(needs="[]", target="received"))
    with pytest.raises(ValueError, match="not a move of it"):
        parse_case_policy(lifecycle.format(needs="[]", target="answered"))
    with pytest.raises(ValueError, match="cannot carry"):
        parse_case_policy(lifecycle.format(needs='["note"]', target="received"))
