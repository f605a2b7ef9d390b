"""Keeping the daily counters: each stream record added once, and the whole rebuilt from the table.

Once, though the stream delivers a record at least once: the counts a change adds are written
in one transaction with a mark keyed by the changed item and the change (AGGMARK#<pk> /
<sk>#<change>: a new submission, a case's move, a follow-up email marked sent), created
only if absent; a record delivered again finds its mark, and the whole
transaction, counts included, is refused. The mark lives a few days (COUNTED_MARK_DAYS), longer
than the stream keeps a record (24 hours). Each change is counted from the item's own
timestamps, so a rebuild, which reads the same items from the table, gives the same figures.
A case's rating is counted with the feedback that gave it (the notifier records it on the case
from that feedback's record, just before counting it).

A rebuild recomputes every day it finds items for, and writes the difference to the live
counters with ADD: a record counted live meanwhile is neither lost nor counted twice. Days
whose items are all gone (past their retention, or erased) keep their counters: the counters
hold no personal data and outlive what they count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.cases import follow_up
from chalicelib.forms import FORMS
from chalicelib.insight import counters
from chalicelib.insight.counters import Adds
from chalicelib.rules.lifecycles import CasePolicy
from chalicelib.store import items
from chalicelib.store.table import NewItem, SubmissionTable, WriteConflict

log = logging.getLogger(__name__)

COUNTED_MARK_DAYS = 3
COUNTED_GUARD = "counted"
NEW = "new"
SENT = "sent"


def as_counts(adds: Adds) -> dict[tuple[str, str], dict[str, int]]:
    """The adds keyed by their aggregate items."""
    return {items.aggregate_key(day, section): counts for (day, section), counts in adds.items()}


def _history_entry(item: Mapping[str, Any]) -> bool:
    return str(item.get(items.PARTITION_KEY, "")).startswith(items.CASE_PREFIX) \
        and str(item.get(items.SORT_KEY, "")).startswith(items.HISTORY_SORT_PREFIX)


def _follow_up_record(item: Mapping[str, Any]) -> bool:
    return str(item.get(items.PARTITION_KEY, "")).startswith(items.SENT_PREFIX) \
        and item.get(items.SORT_KEY) == follow_up.MESSAGE


def count(table: SubmissionTable, policy: CasePolicy, event: str, item: dict[str, Any],
          now: datetime) -> str:
    """Add what one stream record adds, at most once; answers what became of it."""
    key = (str(item.get(items.PARTITION_KEY, "")), str(item.get(items.SORT_KEY, "")))
    if event == "INSERT" and items.is_submission(item):
        change, adds = NEW, counters.merge(counters.of_submission(item), _rating_adds(table, item, now))
    elif event == "INSERT" and _history_entry(item) and item.get("moved"):
        change, adds = NEW, _entry_adds(table, policy, item, now)
    elif event == "MODIFY" and _follow_up_record(item) and item.get("status") == items.SENT:
        change, adds = SENT, counters.of_follow_up_sent(item)
    else:
        return "not counted"
    if not adds:
        return "nothing to count"
    partition, sort = items.counted_key(key, change)
    mark = {items.PARTITION_KEY: partition, items.SORT_KEY: sort,
            items.EXPIRY_ATTRIBUTE: items.epoch(now + timedelta(days=COUNTED_MARK_DAYS))}
    try:
        table.add_counts(as_counts(adds), once=NewItem(mark, COUNTED_GUARD))
    except WriteConflict:
        return "counted before"
    return "counted"


def _rating_adds(table: SubmissionTable, feedback: dict[str, Any], now: datetime) -> Adds:
    """A feedback that rated its case (the notifier has just recorded it on the case, from this
    same record): the case's rating, counted by the case's kind and product."""
    reference = (feedback.get("fields") or {}).get("case_reference")
    if feedback.get("kind") != counters.FEEDBACK_KIND or not reference:
        return {}
    case = table.get(*items.submission_key(str(reference)), now_epoch=items.epoch(now),
                     attributes=("kind", "fields", *items.RATING_ATTRIBUTES))
    if case is None or case.get(items.RATING_REFERENCE_ATTRIBUTE) != feedback.get("reference"):
        return {}
    return counters.of_case_rating(case)


def _entry_adds(table: SubmissionTable, policy: CasePolicy, entry: dict[str, Any], now: datetime) -> Adds:
    """A case's move, judged against its entries before it (one Query of the case's history)."""
    reference = str(entry.get("reference", ""))
    now_epoch = items.epoch(now)
    case = table.get(*items.submission_key(reference), now_epoch=now_epoch,
                     attributes=("kind", "created_at", "fields"))
    if case is None:
        return {}
    history = table.query_partition(items.history_partition(reference), now_epoch=now_epoch)
    earlier = [e for e in history if int(e.get("version", 0)) < int(entry.get("version", 0))]
    return counters.of_case_entry(case, earlier, entry, policy)


# -- Rebuilding from the table --------------------------------------------------------


def case_adds(case: Mapping[str, Any], history: list[dict[str, Any]], policy: CasePolicy) -> Adds:
    """Everything a case's moves and rating add."""
    total: Adds = counters.of_case_rating(case) if case.get(items.RATING_ATTRIBUTE) is not None else {}
    for position, entry in enumerate(history):
        counters.merge(total, counters.of_case_entry(case, history[:position], entry, policy))
    return total


def recount(table: SubmissionTable, policy: CasePolicy, now: datetime) -> Adds:
    """Every counter as the table's live items give it: each kind's submissions (by-kind index),
    each case's history (its partition), the follow-up emails sent (the outbox's sent records)."""
    now_epoch = items.epoch(now)
    total: Adds = {}
    for kind in FORMS:
        for item in table.query_kind(kind, now_epoch=now_epoch):
            counters.merge(total, counters.of_submission(item))
            if kind in policy.lifecycles:
                history = table.query_partition(items.history_partition(str(item["reference"])),
                                                now_epoch=now_epoch)
                counters.merge(total, case_adds(item, history, policy))
    for record in table.query_kind(items.OUTBOX_KIND, status=items.SENT, now_epoch=now_epoch):
        if _follow_up_record(record):
            counters.merge(total, counters.of_follow_up_sent(record))
    return total


def stored(table: SubmissionTable, now: datetime, since: str = "0000", until: str = "9999") -> Adds:
    """The live counters of the days from `since` to `until` (ISO days): one Query."""
    found: Adds = {}
    for item in table.query_between(items.AGGREGATE_PARTITION, since, until + "~",
                                    now_epoch=items.epoch(now)):
        day, _, section = str(item[items.SORT_KEY]).partition("#")
        numbers = {counter: int(value) for counter, value in item.items()
                   if counter not in (items.PARTITION_KEY, items.SORT_KEY) and isinstance(value, int)}
        found[(day, section)] = numbers
    return found


def nonzero(adds: Adds) -> Adds:
    """The counters that count something (a rebuild leaves corrected ones at zero)."""
    kept = {place: {c: n for c, n in counts.items() if n} for place, counts in adds.items()}
    return {place: counts for place, counts in kept.items() if counts}


@dataclass(frozen=True)
class Difference:
    day: str
    section: str
    counter: str
    live: int
    rebuilt: int


def differences(live: Adds, rebuilt: Adds) -> Iterator[Difference]:
    """Where the live counters and a rebuild disagree, on the days the rebuild found items for."""
    days = {day for day, _ in rebuilt}
    for place in sorted({p for p in live if p[0] in days} | set(rebuilt)):
        have, want = live.get(place, {}), rebuilt.get(place, {})
        for counter in sorted(set(have) | set(want)):
            if have.get(counter, 0) != want.get(counter, 0):
                yield Difference(place[0], place[1], counter, have.get(counter, 0), want.get(counter, 0))


def rebuild(table: SubmissionTable, policy: CasePolicy, now: datetime, *, write: bool = True
            ) -> list[Difference]:
    """Recount from the table and correct the live counters by the difference (ADD), unless
    `write` is False (a check). Answers the differences found."""
    rebuilt = recount(table, policy, now)
    found = list(differences(stored(table, now), rebuilt))
    if write and found:
        corrections: Adds = {}
        for difference in found:
            corrections.setdefault((difference.day, difference.section), {})[difference.counter] = (
                difference.rebuilt - difference.live)
        table.add_counts(as_counts(corrections))
        log.info("insight rebuild corrected %d counter(s)", len(found))
    return found
