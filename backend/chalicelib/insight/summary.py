"""The weekly summary email to the managers: last week's headline figures and their change
against the week before, from the daily counters alone (no personal data, no comment).

Sent by the daily digest run (the notifier's `send_weekly_summary`), claimed in the outbox as
WEEKLY-<the week's Monday> / weekly-summary, so however often the run comes it goes at most
once a week: on the first run from Monday on, about the week that ended on Sunday.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.insight.report import Filters, Period, Report
from chalicelib.notify.emails import Letterhead, Mail, StaffAlert, long_date

MESSAGE = "weekly-summary"
KIND = "insight"  # what the summary's "sent" record says it is about
REFERENCE_PREFIX = "WEEKLY-"
# How long a week's claim is kept: long past the week it guards.
CLAIM_DAYS = 90
PERCENT = "%"


def last_week(today: date) -> Period:
    """The Monday-to-Sunday week before the one `today` is in."""
    monday = today - timedelta(days=today.weekday() + 7)
    return Period(monday, monday + timedelta(days=6))


def reference(week: Period) -> str:
    return f"{REFERENCE_PREFIX}{week.start.isoformat()}"


def week_of(reference_text: str) -> Period:
    monday = date.fromisoformat(reference_text.removeprefix(REFERENCE_PREFIX))
    return Period(monday, monday + timedelta(days=6))


NO_FILTERS = Filters()


def _figure(value: float | None, name: str) -> str:
    if value is None:
        return "none"
    return f"{value:.0f}{PERCENT}" if name.endswith(PERCENT) else (
        f"{value:,.0f}" if value == int(value) else f"{value:.2f}")


def change_words(now: float | None, before: float | None, name: str) -> str:
    if now is None or before is None:
        return "no figure to compare with"
    delta = now - before
    unit = " points" if name.endswith(PERCENT) else ""
    if abs(delta) < 0.005:
        return "the same as the week before"
    size = f"{abs(delta):.0f}" if name.endswith(PERCENT) or delta == int(delta) else f"{abs(delta):.2f}"
    return f"{'up' if delta > 0 else 'down'} {size}{unit} on the week before ({_figure(before, name)})"


def lines(figures: Report) -> list[str]:
    return [f"{name.removesuffix(', %')}: {_figure(now, name)}, {change_words(now, before, name)}"
            for name, (now, before) in figures.headline.items()]


def compose(about: dict[str, Any], to: StaffAlert, letterhead: Letterhead) -> Mail:
    """The email: the week, one line per headline figure, and the page with the rest."""
    week: Period = about["week"]
    figures: Report = about["figures"]
    page = (f"{letterhead.site_url}/staff/insight?from={week.start.isoformat()}"
            f"&to={week.end.isoformat()}")
    text = "\n".join([
        f"How we did in the week from {long_date(week.start)} to {long_date(week.end)}:",
        "",
        *(f"- {line}" for line in lines(figures)),
        "",
        "Every figure with its chart, per product and kind, and the lists behind them:",
        page,
        "",
        "This summary holds counts only: no names, no addresses, nothing a customer wrote.",
    ])
    return Mail(sender=letterhead.sender, to=to.to,
                subject=f"How we did in the week from {week.start.isoformat()}", text=text + "\n")
