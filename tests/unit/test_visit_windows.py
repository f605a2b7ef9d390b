"""A visit window is a day and a part of the day or a time range, checked once and read in words."""

from __future__ import annotations

from datetime import date, time

import pytest
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.visit_windows import BadWindow, VisitWindow, window_words

TODAY = date(2026, 12, 7)  # a Monday


@pytest.mark.parametrize(("typed", "start", "end"), [
    ("2026-12-14 morning", time(9), time(13)),
    ("2026-12-14   Afternoon", time(13), time(17)),
    ("2026-12-14 all day", time(9), time(17)),
    ("2026-12-14 09:00-13:00", time(9), time(13)),
    ("2026-12-14 9:00 to 13:30", time(9), time(13, 30)),
    ("14/12/2026 8.30–12.00", time(8, 30), time(12)),
])
def test_a_day_and_a_part_of_the_day_or_a_time_range_is_a_window(typed: str, start: time, end: time) -> None:
    window = VisitWindow.parse(typed, TODAY)
    assert (window.day, window.start, window.end) == (date(2026, 12, 14), start, end)
    assert VisitWindow.stored(window.spelled()) == window


@pytest.mark.parametrize(("typed", "why"), [
    ("Monday morning", "a date and a part of the day"),
    ("2026-12-14", "a date and a part of the day"),
    ("2026-12-14 evening", "a date and a part of the day"),
    ("2026-02-30 morning", "is not a date"),
    ("2026-12-14 13:00-09:00", "ends before it starts"),
    ("2026-12-14 25:00-26:00", "not a time of day"),
    ("2026-12-14 04:00-06:00", "between 07:00 and 21:00"),
    ("2026-12-04 morning", "has passed"),
    ("2027-12-14 morning", "six months"),
])
def test_anything_else_is_refused_saying_why(typed: str, why: str) -> None:
    with pytest.raises(BadWindow, match=why):
        VisitWindow.parse(typed, TODAY)


def test_a_window_reads_in_words_and_an_old_free_text_one_as_written() -> None:
    assert VisitWindow.parse("2026-12-14 morning", TODAY).words() == "Monday 14 December, 9:00 to 13:00"
    assert window_words("2026-12-14 09:00-13:00") == "Monday 14 December, 9:00 to 13:00"
    assert window_words("Monday morning") == "Monday morning"
    assert window_words(None) is None


def test_once_booked_the_promise_is_the_booked_day() -> None:
    policy = case_policy()
    booked = policy.due_on("service_visit", "scheduled", TODAY, "2026-12-14 09:00-13:00")
    assert booked == date(2026, 12, 14)
    # Without a window (or before the booking), the working-day promise runs.
    assert policy.due_on("service_visit", "scheduled", TODAY) != booked
    assert policy.due_on("service_visit", "requested", TODAY, "2026-12-14 09:00-13:00") != booked
