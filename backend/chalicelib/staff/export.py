"""Exports: each kind's items over a time range, decrypted, written as they arrive."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Protocol

from chalicelib.staff.context import StaffContext
from chalicelib.staff.pipeline import decoded_chunks
from chalicelib.staff.sheets import Sink
from chalicelib.store.items import CONSENT_KINDS, OPTED_IN, epoch, timestamp


@dataclass(frozen=True)
class Window:
    """created_at bounds as stored strings; a date alone means the whole day."""

    since: str | None
    until: str | None

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None) -> Window:
        return cls(_bound(since, start=True), _bound(until, start=False))


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


def export_kinds(
    staff: StaffContext, kinds: list[str], window: Window, status: str | None, sink: Sink,
    *, pool: Executor, in_flight: int, progress: Progress,
) -> Counter[str]:
    """Write every live item of the kinds, kind by kind, oldest first; answers rows per kind.

    The door chooses the pool (`pipeline.make_pool`): processes for the command, the calling
    thread in a Lambda; `in_flight` chunks at most are decrypted at once."""
    now_epoch = epoch(staff.now())
    counts: Counter[str] = Counter()
    try:
        for kind in kinds:
            wanted = status or (OPTED_IN if kind in CONSENT_KINDS else None)
            pages = staff.table.query_kind_pages(
                kind, since=window.since, until=window.until, status=wanted, now_epoch=now_epoch
            )
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
