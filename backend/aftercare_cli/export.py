"""Exports: each kind's items over a time range, decrypted, written as they arrive."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time

from chalicelib.store.items import CONSENT_KINDS, OPTED_IN, epoch, timestamp

from aftercare_cli.pipeline import decoded_chunks, make_pool
from aftercare_cli.sheets import Sink
from aftercare_cli.staff import Staff

PROGRESS_EVERY_SECONDS = 0.25


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


class Progress:
    """A row counter on stderr, only when stderr is a terminal (quiet when piped or logged)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.rows = 0
        self._started = time.monotonic()
        self._shown = 0.0

    @classmethod
    def for_terminal(cls) -> Progress:
        return cls(sys.stderr.isatty())

    def step(self, kind: str, rows: int) -> None:
        self.rows += rows
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_SECONDS:
            self._shown = now
            rate = self.rows / max(now - self._started, 1e-6)
            sys.stderr.write(f"\r{self.rows:>10,} rows  ({rate:,.0f}/s)  {kind:<24}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def export_kinds(
    staff: Staff, kinds: list[str], window: Window, status: str | None, sink: Sink,
    *, workers: int, progress: Progress,
) -> Counter[str]:
    """Write every live item of the kinds, kind by kind, oldest first; answers rows per kind."""
    now_epoch = epoch(staff.now())
    counts: Counter[str] = Counter()
    pool = make_pool(staff.settings, workers)
    try:
        for kind in kinds:
            wanted = status or (OPTED_IN if kind in CONSENT_KINDS else None)
            pages = staff.table.query_kind_pages(
                kind, since=window.since, until=window.until, status=wanted, now_epoch=now_epoch
            )
            render = sink.begin(kind)
            counts[kind] += 0
            for rows, rendered in decoded_chunks(
                pages, pool, now_epoch=now_epoch, window=max(2, workers * 2), render=render
            ):
                sink.write(rendered)
                counts[kind] += rows
                progress.step(kind, rows)
        sink.close()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.finish()
    return counts
