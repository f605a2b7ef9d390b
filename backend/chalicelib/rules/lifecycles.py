"""Case lifecycles and promises (data/lifecycles.toml): which moves are legal, and when each is due.

Pure: the clock comes in as an argument; nothing here reads the table.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from chalicelib.languages import SOURCE_LANGUAGE, with_words
from chalicelib.rules.visit_windows import VisitWindow

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What a move into a status may have to carry (the `needs` of a status).
NEEDS = ("handler", "note", "message", "window")
NEED_WORDS = {
    "handler": "a handler (--handler NAME)",
    "note": "an internal note (--note ...)",
    "message": "a message for the customer (--tell-customer ...)",
    "window": "a visit window (--window '2026-12-14 morning' or '2026-12-14 09:00-13:00')",
}


class IllegalMove(Exception):
    """A status change the lifecycle does not allow; the message says what is allowed instead."""


@dataclass(frozen=True)
class Promise:
    name: str
    working_days: int
    words: str


@dataclass(frozen=True)
class Status:
    name: str
    words: str
    next_step: str
    moves: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    promise: str | None = None
    tell: bool = False
    closed: bool = False
    # The status a customer's emailed reply moves the case to (it waits for them here).
    on_reply: str | None = None


@dataclass(frozen=True)
class Lifecycle:
    kind: str
    statuses: dict[str, Status]

    @property
    def start(self) -> str:
        return next(iter(self.statuses))

    @property
    def open_statuses(self) -> tuple[str, ...]:
        return tuple(name for name, status in self.statuses.items() if not status.closed)

    def status(self, name: str) -> Status:
        try:
            return self.statuses[name]
        except KeyError:
            raise IllegalMove(
                f"'{name}' is not a status of a {self.kind}; its statuses are: {', '.join(self.statuses)}"
            ) from None

    def check_move(self, current: str, target: str, carries: Iterable[str] = ()) -> Status:
        """The status moved into, or IllegalMove saying why not and what is allowed instead."""
        here = self.status(current)
        there = self.status(target)
        if target not in here.moves:
            if here.closed:
                raise IllegalMove(f"this {self.kind} is {current}, a final status: it cannot move on")
            raise IllegalMove(
                f"a {self.kind} cannot go from {current} to {target}; "
                f"from {current} it can go to: {', '.join(here.moves)}"
            )
        missing = [need for need in there.needs if need not in set(carries)]
        if missing:
            raise IllegalMove(
                f"moving a {self.kind} to {target} needs "
                + " and ".join(NEED_WORDS[need] for need in missing)
            )
        return there


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count as working days: not the weekend, not a holiday."""

    weekend: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day `days` working days after `start` (a promise made on a Friday for 1 day: Monday)."""
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


@dataclass(frozen=True)
class CasePolicy:
    lifecycles: dict[str, Lifecycle]
    promises: dict[str, Promise]
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    def lifecycle(self, kind: str) -> Lifecycle:
        try:
            return self.lifecycles[kind]
        except KeyError:
            raise IllegalMove(f"a {kind} is not a case; cases are: {', '.join(self.lifecycles)}") from None

    def due_on(self, kind: str, status: str, since: date, window: str | None = None) -> date | None:
        """When the promise that runs in `status` falls due, for a case that entered it on `since`.

        In a status that is a booking (it needs a window), the booked day is the promise."""
        here = self.lifecycle(kind).status(status)
        booked = VisitWindow.stored(window) if "window" in here.needs else None
        if booked is not None:
            return booked.day
        if here.promise is None:
            return None
        return self.calendar.add_working_days(since, self.promises[here.promise].working_days)

    def booking(self, kind: str, status: str, window: str | None) -> VisitWindow | None:
        """The window a case in `status` is booked for, when that status is a booking."""
        return VisitWindow.stored(window) if "window" in self.lifecycle(kind).status(status).needs else None

    def promise_of(self, kind: str, status: str) -> Promise | None:
        name = self.lifecycle(kind).status(status).promise
        return self.promises[name] if name else None


def parse_case_policy(text: str, language: str = SOURCE_LANGUAGE) -> CasePolicy:
    """Read lifecycles.toml, refusing a file whose statuses point nowhere; its words in `language`
    (locale/<code>/data/lifecycles.toml), its rules the same in every language."""
    raw: dict[str, Any] = with_words(language, "lifecycles", tomllib.loads(text))
    promises = {
        name: Promise(name, int(spec["working_days"]), spec["words"])
        for name, spec in raw.get("promises", {}).items()
    }
    lifecycles = {}
    for kind, spec in raw["kinds"].items():
        statuses = {
            name: Status(
                name=name, words=entry["words"], next_step=entry.get("next_step", ""),
                moves=tuple(entry.get("moves", ())), needs=tuple(entry.get("needs", ())),
                promise=entry.get("promise"), tell=bool(entry.get("tell", False)),
                closed=bool(entry.get("closed", False)), on_reply=entry.get("on_reply"),
            )
            for name, entry in spec["statuses"].items()
        }
        lifecycles[kind] = Lifecycle(kind, statuses)
        _check(kind, statuses, promises)
    calendar = raw.get("calendar", {})
    return CasePolicy(
        lifecycles=lifecycles,
        promises=promises,
        calendar=WorkingCalendar(
            weekend=frozenset(WEEKDAYS.index(day) for day in calendar.get("weekend", ["Saturday", "Sunday"])),
            holidays=frozenset(date.fromisoformat(day) for day in calendar.get("holidays", [])),
        ),
    )


def _check(kind: str, statuses: dict[str, Status], promises: dict[str, Promise]) -> None:
    for status in statuses.values():
        for target in status.moves:
            if target not in statuses:
                raise ValueError(f"{kind}: {status.name} moves to unknown status {target}")
        for need in status.needs:
            if need not in NEEDS:
                raise ValueError(f"{kind}: {status.name} needs unknown {need}")
        if status.promise and status.promise not in promises:
            raise ValueError(f"{kind}: {status.name} names unknown promise {status.promise}")
        _check_on_reply(kind, status, statuses)
        if status.closed and status.moves:
            raise ValueError(f"{kind}: {status.name} is closed but has moves")
        if not status.closed and not status.moves:
            raise ValueError(f"{kind}: {status.name} is a dead end but not closed")


def _check_on_reply(kind: str, status: Status, statuses: dict[str, Status]) -> None:
    """A reply moves a case along one of its own moves, into a status that needs nothing."""
    if status.on_reply and status.on_reply not in status.moves:
        raise ValueError(f"{kind}: {status.name} moves on a reply to {status.on_reply}, not a move of it")
    if status.on_reply and statuses[status.on_reply].needs:
        raise ValueError(f"{kind}: a reply cannot carry what {status.on_reply} needs")


@cache
def case_policy(language: str = SOURCE_LANGUAGE) -> CasePolicy:
    """The lifecycles, with the words a customer reads in `language`."""
    source = resources.files("chalicelib").joinpath("data/lifecycles.toml").read_text()
    return parse_case_policy(source, language)
