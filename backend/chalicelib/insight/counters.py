"""What a stored item adds to the daily counters: a pure function of its non-personal fields.

A counter is named by a measure and its dimensions joined by `|` (SEPARATOR), counted per day
(the day of the item's own timestamp, never the clock, so counting again gives the same
figures) and kept in one of a few sections (one aggregate item per day and section).
Only values from closed lists are counted: kinds, catalog products, a form's listed choices,
ratings 1 to 5, statuses, site paths; anything else counts as "other". No reference, no
person, no free text ever becomes part of a counter's name.

Measures (dimensions in order):
  sub        kind, product                      a submission received
  rate       aspect, value                      a feedback form's rating of one aspect
  detail     kind, field, choice, product       a listed choice (complaint category, outcome wanted)
  vote       page, yes|no                       a "Was this page helpful?" vote
  missing    page                               a "what was missing" comment after a No (words sealed)
  move       kind, product, status              a case entering a status (outcomes, closings)
  first      kind, bucket                       time from a case's arrival to its first move
  close      kind, bucket                       time from a case's arrival to its closing
  promise    kind, kept|missed                  a case leaving a status whose promise ran
  caserate   kind, product, value               a case's overall rating through the follow-up link
  followup   kind                               a follow-up email sent, asking how we did
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from chalicelib.forms import FORMS
from chalicelib.forms.fields import SITE_PATH_PATTERN
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import CasePolicy
from chalicelib.store import items

SEPARATOR = "|"
# A counter's dimension for "none" (a form without a product) and for a value off the lists.
NONE = "-"
OTHER = "other"
# The aggregate items of a day: one per section.
FORMS_SECTION, CASES_SECTION, PAGES_SECTION = SECTIONS = ("forms", "cases", "pages")
ASPECTS = ("overall", "product_quality", "staff_attitude", "speed_of_service", "keeping_promises")
RATINGS = (1, 2, 3, 4, 5)
# The listed choice each kind is counted by (its "reason" in words staff chose, not the customer's).
CHOICES = {"complaint": "category", "return_request": "wanted_outcome", "enquiry": "topic",
           "service_visit": "need"}
FEEDBACK_KIND = "feedback"
PAGE_KIND = "page_feedback"
LONGEST_PAGE = 200
# Histogram buckets of a time in hours: each is "under N hours"; the last has no end.
BUCKET_HOURS = (1, 4, 8, 24, 48, 72, 120, 168, 336, 720)
OVER = "more"
BUCKETS = (*map(str, BUCKET_HOURS), OVER)
_PAGE = re.compile(SITE_PATH_PATTERN)

Counts = dict[str, int]
# What one item adds: per (day, section), counter name -> increment.
Adds = dict[tuple[str, str], Counts]


def name(*parts: Any) -> str:
    return SEPARATOR.join(str(part) for part in parts)


def parts(counter: str) -> list[str]:
    return counter.split(SEPARATOR)


def bucket(hours: float) -> str:
    """The histogram bucket of a time: the first "under N hours" it fits."""
    for limit in BUCKET_HOURS:
        if hours < limit:
            return str(limit)
    return OVER


def day_of(stamp: Any) -> str | None:
    moment = items.parsed_timestamp(stamp)
    return moment.date().isoformat() if moment else None


def product_of(fields: Mapping[str, Any]) -> str:
    product = fields.get("product")
    if product is None:
        return NONE
    return str(product) if str(product) in catalog().product_names() else OTHER


@cache
def _choices(kind: str) -> frozenset[str]:
    field = CHOICES[kind]
    schema = FORMS[kind].model.model_json_schema()["properties"][field]
    return frozenset(str(value) for value in schema.get("enum", ()))


def choice_of(kind: str, value: Any) -> str:
    return str(value) if str(value) in _choices(kind) else OTHER


def rating_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number in RATINGS and number == value else None


def page_of(value: Any) -> str:
    """A site path without its query or fragment, or "other"."""
    path = str(value or "").split("?")[0].split("#")[0]
    return path if len(path) <= LONGEST_PAGE and _PAGE.fullmatch(path) else OTHER


def _add(adds: Adds, day: str, section: str, counter: str, by: int = 1) -> None:
    counts = adds.setdefault((day, section), {})
    counts[counter] = counts.get(counter, 0) + by


def of_submission(item: Mapping[str, Any]) -> Adds:
    """A new submission: its kind and product, and what its kind counts (ratings, a vote, a choice)."""
    kind = str(item.get("kind", ""))
    day = day_of(item.get("created_at"))
    if kind not in FORMS or day is None:
        return {}
    fields = item.get("fields") or {}
    adds: Adds = {}
    product = product_of(fields)
    if kind == PAGE_KIND:
        page = page_of(fields.get("page"))
        if fields.get("follows_vote"):
            _add(adds, day, PAGES_SECTION, name("missing", page))
            return adds
        _add(adds, day, FORMS_SECTION, name("sub", kind, product))
        _add(adds, day, PAGES_SECTION, name("vote", page, "yes" if fields.get("helpful") else "no"))
        return adds
    _add(adds, day, FORMS_SECTION, name("sub", kind, product))
    if kind == FEEDBACK_KIND:
        for aspect in ASPECTS:
            value = rating_of(fields.get(aspect))
            if value is not None:
                _add(adds, day, FORMS_SECTION, name("rate", aspect, value))
    if kind in CHOICES and fields.get(CHOICES[kind]) is not None:
        _add(adds, day, FORMS_SECTION,
             name("detail", kind, CHOICES[kind], choice_of(kind, fields[CHOICES[kind]]), product))
    return adds


def of_case_rating(case: Mapping[str, Any]) -> Adds:
    """A case rated by its customer through the follow-up link: its overall score, the day it came."""
    value = rating_of(case.get(items.RATING_ATTRIBUTE))
    day = day_of(case.get(items.RATED_AT_ATTRIBUTE))
    kind = str(case.get("kind", ""))
    if value is None or day is None or kind not in FORMS:
        return {}
    adds: Adds = {}
    _add(adds, day, CASES_SECTION, name("caserate", kind, product_of(case.get("fields") or {}), value))
    return adds


def of_follow_up_sent(record: Mapping[str, Any]) -> Adds:
    """A follow-up email marked sent: counted on the day it was marked."""
    kind = str(record.get("about_kind", ""))
    day = day_of(record.get("updated_at"))
    if record.get("status") != items.SENT or day is None or kind not in FORMS:
        return {}
    adds: Adds = {}
    _add(adds, day, CASES_SECTION, name("followup", kind))
    return adds


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def of_case_entry(case: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]],
                  entry: Mapping[str, Any], policy: CasePolicy) -> Adds:
    """A case's history entry that moved it: the status entered, the promise of the status left
    (kept if the move came on or before its day), and the times to the first move and to closing.

    `earlier`: the case's entries before this one, in order; `case`: its submission item."""
    kind = str(entry.get("case_kind", ""))
    lifecycle = policy.lifecycles.get(kind)
    moment = items.parsed_timestamp(entry.get("created_at"))
    arrived = items.parsed_timestamp(case.get("created_at"))
    if not entry.get("moved") or lifecycle is None or moment is None or arrived is None:
        return {}
    status = lifecycle.statuses.get(str(entry.get("status")))
    if status is None:
        return {}
    day = moment.date().isoformat()
    adds: Adds = {}
    _add(adds, day, CASES_SECTION, name("move", kind, product_of(case.get("fields") or {}), status.name))
    moves = [earlier_entry for earlier_entry in earlier if earlier_entry.get("moved")]
    if not moves:
        _add(adds, day, CASES_SECTION, name("first", kind, bucket(_hours(arrived, moment))))
    if status.closed:
        _add(adds, day, CASES_SECTION, name("close", kind, bucket(_hours(arrived, moment))))
    left = str(earlier[-1].get("status")) if earlier else lifecycle.start
    since = items.parsed_timestamp(moves[-1].get("created_at")) if moves else arrived
    window = next((str(e[items.WINDOW_ATTRIBUTE]) for e in reversed(earlier)
                   if e.get(items.WINDOW_ATTRIBUTE)), None)
    if left in lifecycle.statuses and since is not None:
        due = policy.due_on(kind, left, since.date(), window)
        if due is not None:
            kept = "kept" if moment.date() <= due else "missed"
            _add(adds, day, CASES_SECTION, name("promise", kind, kept))
    return adds


def merge(into: Adds, more: Adds) -> Adds:
    for (day, section), counts in more.items():
        for counter, by in counts.items():
            _add(into, day, section, counter, by)
    return into


def merged(all_adds: Iterable[Adds]) -> Adds:
    total: Adds = {}
    for adds in all_adds:
        merge(total, adds)
    return total

