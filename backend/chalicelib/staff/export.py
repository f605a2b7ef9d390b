"""Exports: each kind's items over a time range, decrypted, written as they arrive."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Any, Protocol

from chalicelib.staff.context import StaffContext
from chalicelib.staff.pipeline import decoded_chunks
from chalicelib.staff.records import PRODUCT_FIELD, product_kinds, staff_view
from chalicelib.staff.sheets import Sink
from chalicelib.store.items import (
    CONSENT_KINDS,
    OPTED_IN,
    PARTITION_KEY,
    SORT_KEY,
    SUBMISSION_PREFIX,
    SUBMISSION_SORT_KEY,
    epoch,
    submission_key,
    timestamp,
)
from chalicelib.store.references import is_reference
from chalicelib.store.table import ItemGone, from_dynamodb, is_expired


@dataclass(frozen=True)
class Window:
    """created_at bounds as stored strings; a date alone means the whole day."""

    since: str | None
    until: str | None

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None) -> Window:
        return cls(_bound(since, start=True), _bound(until, start=False))

    def holds(self, created_at: str) -> bool:
        return ((self.since is None or created_at >= self.since)
                and (self.until is None or created_at <= self.until))


def _bound(moment: datetime | None, *, start: bool) -> str | None:
    if moment is None:
        return None
    if moment.time() == day_time(0) and moment.tzinfo is None and not start:
        moment = datetime.combine(moment.date(), day_time.max)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timestamp(moment)


class Progress(Protocol):
    """Told of the rows as they are written: a counter on a terminal, a job's progress in the console."""

    def step(self, kind: str, rows: int) -> None: ...

    def finish(self) -> None: ...


def filtered_kinds(kinds: list[str], product: str | None) -> list[str]:
    """The kinds a filter reads: with a product, only the kinds whose form asks for one."""
    if not product:
        return list(kinds)
    with_product = product_kinds()
    return [kind for kind in kinds if kind in with_product]


def _pages(staff: StaffContext, kind: str, window: Window, status: str | None, product: str | None,
           now_epoch: int, **more: Any) -> Iterator[list[dict[str, Any]]]:
    """The one query behind an export and the console's list of submissions."""
    wanted = status or (OPTED_IN if kind in CONSENT_KINDS else None)
    return staff.table.query_kind_pages(kind, since=window.since, until=window.until, status=wanted,
                                        product=product or None, now_epoch=now_epoch, **more)


def export_kinds(
    staff: StaffContext, kinds: list[str], window: Window, status: str | None, sink: Sink,
    *, pool: Executor, in_flight: int, progress: Progress, product: str | None = None,
) -> Counter[str]:
    """Write every live item of the kinds, kind by kind, oldest first; answers rows per kind.

    The door chooses the pool (`pipeline.make_pool`): processes for the command, the calling
    thread in a Lambda; `in_flight` chunks at most are decrypted at once."""
    now_epoch = epoch(staff.now())
    counts: Counter[str] = Counter()
    try:
        for kind in filtered_kinds(kinds, product):
            pages = _pages(staff, kind, window, status, product, now_epoch)
            render = sink.begin(kind)
            counts[kind] += 0
            for rows, rendered in decoded_chunks(
                pages, pool, now_epoch=now_epoch, window=in_flight, render=render
            ):
                sink.write(rendered)
                counts[kind] += rows
                progress.step(kind, rows)
        sink.close()
    finally:
        progress.finish()
    return counts


# -- a page of the list of submissions ----------------------------------------------------

# A position in the list: the last row shown, by its kind, the moment it came and its reference.
# None of them is personal, so the position can travel in a URL as the next page's start.
_POSITION = re.compile(r"(?P<kind>[a-z_]{1,40})~(?P<at>[0-9T:.Z-]{20,32})~(?P<reference>[A-Z0-9-]{1,40})")
# A filtered page of the list reads this many items a query (those filtered out count too).
LIST_QUERY_LIMIT = 200


@dataclass(frozen=True)
class Position:
    kind: str
    created_at: str
    reference: str

    @property
    def token(self) -> str:
        return f"{self.kind}~{self.created_at}~{self.reference}"

    @classmethod
    def parse(cls, token: str, kinds: list[str]) -> Position | None:
        """A position from a URL, if it is one of these kinds' (anything else starts at the top)."""
        found = _POSITION.fullmatch(token.strip())
        if not found or found["kind"] not in kinds or not is_reference(found["reference"]):
            return None
        return cls(found["kind"], found["at"], found["reference"])

    def keys(self) -> dict[str, str]:
        """The keys DynamoDB continues a by-kind Query after (the item's and the index's)."""
        return {PARTITION_KEY: f"{SUBMISSION_PREFIX}{self.reference}", SORT_KEY: SUBMISSION_SORT_KEY,
                "kind": self.kind, "created_at": self.created_at}


LIST_COLUMNS = ("reference", "kind", "created_at", "status", PRODUCT_FIELD, "name")


def list_page(
    staff: StaffContext, kinds: list[str], window: Window, status: str | None, product: str | None,
    *, after: Position | None, rows: int,
) -> tuple[list[dict[str, Any]], Position | None]:
    """One page of the export's rows, in the export's order, with the open columns and the name;
    and where the next page starts (None: this is the last). It reads only as far as the page,
    from the export's own query continued after `after`."""
    now_epoch = epoch(staff.now())
    kinds = filtered_kinds(kinds, product)
    if after is not None and not window.holds(after.created_at):
        after = None  # a position from another filter's URL: DynamoDB refuses to start outside the range
    if after is not None and after.kind in kinds:
        kinds = kinds[kinds.index(after.kind):]
    found: list[dict[str, Any]] = []
    for kind in kinds:
        start = after.keys() if after is not None and after.kind == kind else None
        # Unfiltered, a query of one page's rows is enough; a status or product filters after
        # reading, so each query reads more to find a page's worth in fewer round trips.
        size = max(LIST_QUERY_LIMIT, rows + 1) if status or product else rows + 1
        pages = _pages(staff, kind, window, status, product, now_epoch, page_size=size, after=start)
        for page in pages:
            found += [item for item in map(from_dynamodb, page) if not is_expired(item, now_epoch)]
            if len(found) > rows:
                break
        if len(found) > rows:
            break
    shown = [_listed(staff, item) for item in found[:rows]]
    last = found[rows - 1] if len(found) > rows else None
    following = Position(last["kind"], last["created_at"], last["reference"]) if last else None
    return shown, following


def _listed(staff: StaffContext, item: dict[str, Any]) -> dict[str, Any]:
    row = staff_view(item, staff.cipher)
    return {name: row.get(name) for name in LIST_COLUMNS}


def submission_row(staff: StaffContext, reference: str) -> dict[str, Any]:
    """One live submission as its export row (personal fields decrypted, files by name and check)."""
    now_epoch = epoch(staff.now())
    item = staff.table.get(*submission_key(reference), now_epoch=now_epoch)
    if item is None:
        raise ItemGone(f"there is no submission {reference}")
    return staff_view(item, staff.cipher, staff.table, now_epoch)
