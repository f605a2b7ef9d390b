"""A service visit's booked window: a day and a part of the day or a time range, and how it reads.

Staff type a window (the `aftercare case update --window` option, the console's
box); the case book parses it here, once, and stores its one spelling
("2026-12-14 09:00-13:00"). Customers read it in words ("Monday 14 December,
9:00 to 13:00") in the email, on the track page and in `case show`. Pure: today
comes in as an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from chalicelib.languages import SOURCE_LANGUAGE, Said, day_in_words, say

# The parts of the day a visit may be booked for, as the visit form offers them.
PARTS_OF_DAY = {
    "morning": (time(9), time(13)),
    "afternoon": (time(13), time(17)),
    "all day": (time(9), time(17)),
}
# Engineers visit between these hours; a window outside them is a typing mistake.
EARLIEST, LATEST = time(7), time(21)
# How far ahead a visit may be booked (the visit form lets customers ask three months ahead).
HORIZON_DAYS = 183
EXAMPLES = "'2026-12-14 morning', '2026-12-14 afternoon', '2026-12-14 all day' or '2026-12-14 09:00-13:00'"

_DAY = r"(?P<day>\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"
_TIME = r"\d{1,2}[:.]\d{2}"
_RANGE = re.compile(rf"^{_DAY}[ ,T]+(?P<start>{_TIME})\s*(?:-|–|to)\s*(?P<end>{_TIME})$", re.IGNORECASE)
_PART = re.compile(rf"^{_DAY}[ ,]+(?P<part>{'|'.join(PARTS_OF_DAY)})$", re.IGNORECASE)


class BadWindow(ValueError):
    """A visit window that is not a day and a part of the day or a time range; says what works."""


@dataclass(frozen=True)
class VisitWindow:
    day: date
    start: time
    end: time

    @classmethod
    def parse(cls, text: str, today: date) -> VisitWindow:
        """What staff typed, or BadWindow saying why not and what to type instead."""
        typed = " ".join(text.split())
        matched = _RANGE.fullmatch(typed) or _PART.fullmatch(typed)
        if matched is None:
            raise BadWindow(f"a visit window is a date and a part of the day or a time range, "
                            f"like {EXAMPLES}; not '{typed}'")
        day = _day(matched["day"])
        if "part" in matched.groupdict() and matched["part"]:
            start, end = PARTS_OF_DAY[matched["part"].lower()]
        else:
            start, end = _time(matched["start"]), _time(matched["end"])
        if not start < end:
            raise BadWindow(f"the visit window ends before it starts: {start:%H:%M} to {end:%H:%M}")
        if start < EARLIEST or end > LATEST:
            raise BadWindow(f"a visit window lies between {EARLIEST:%H:%M} and {LATEST:%H:%M}")
        if day < today:
            raise BadWindow(f"the visit window's day, {day.isoformat()}, has passed")
        if (day - today).days > HORIZON_DAYS:
            raise BadWindow("a visit is booked at most six months ahead")
        return cls(day, start, end)

    @classmethod
    def stored(cls, text: str | None) -> VisitWindow | None:
        """A window as the case keeps it, or None (none, or one written before windows were checked)."""
        matched = _RANGE.fullmatch(text or "")
        if matched is None:
            return None
        try:
            return cls(_day(matched["day"]), _time(matched["start"]), _time(matched["end"]))
        except BadWindow:
            return None

    def spelled(self) -> str:
        """The one spelling a case keeps: 2026-12-14 09:00-13:00."""
        return f"{self.day.isoformat()} {self.start:%H:%M}-{self.end:%H:%M}"

    def words(self, language: str = SOURCE_LANGUAGE) -> str:
        """As a customer reads it: Monday 14 December, 9:00 to 13:00 (or in their language)."""
        return say(language, Said("{day}, {start} to {end}", day=day_in_words(
            self.day, language, weekday=True, year=False), start=_clock(self.start), end=_clock(self.end)))


def window_words(text: str | None, language: str = SOURCE_LANGUAGE) -> str | None:
    """A stored window in words; an old free-text one as it was written."""
    window = VisitWindow.stored(text)
    return window.words(language) if window else text


def _day(text: str) -> date:
    try:
        if "/" in text:
            return datetime.strptime(text, "%d/%m/%Y").date()
        return date.fromisoformat(text)
    except ValueError:
        raise BadWindow(f"'{text}' is not a date: write it as year-month-day, like 2026-12-14") from None


def _time(text: str) -> time:
    hours, minutes = (int(part) for part in re.split(r"[:.]", text))
    if hours > 23 or minutes > 59:
        raise BadWindow(f"'{text}' is not a time of day")
    return time(hours, minutes)


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment:%M}"
