"""The local stack's daily run: the schedule's handler, once a day at the configured hour (UTC)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from aftercare_local.schedule import DailyRun, next_run, scheduled_event


def test_the_next_run_is_the_coming_hour_today_or_else_tomorrow() -> None:
    assert next_run(datetime(2026, 11, 23, 6, 59, tzinfo=UTC), 7) == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert next_run(datetime(2026, 11, 23, 7, 0, tzinfo=UTC), 7) == datetime(2026, 11, 24, 7, tzinfo=UTC)
    assert next_run(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), 0) == datetime(2027, 1, 1, 0, tzinfo=UTC)


class NoWaiting(threading.Event):
    """A stop event whose waits return at once: the test's clock, not the wall clock, moves time."""

    def wait(self, timeout: float | None = None) -> bool:
        return self.is_set()


def test_the_handler_runs_once_at_the_hour_with_a_scheduled_event_and_survives_a_failure() -> None:
    moments = iter([datetime(2026, 11, 23, 6, 59, 59, tzinfo=UTC)]
                   + [datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC) + timedelta(seconds=s) for s in range(5)])
    stop = NoWaiting()
    calls: list[dict[str, Any]] = []

    def clock() -> datetime:
        moment = next(moments, None)
        if moment is None:
            stop.set()
            return datetime(2026, 11, 23, 7, 1, tzinfo=UTC)
        return moment

    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        calls.append(event)
        raise RuntimeError("SES is down")

    DailyRun(handler, 7, clock).run(stop)
    assert len(calls) == 1  # the failure is logged; tomorrow is the next try
    assert calls[0]["detail-type"] == "Scheduled Event" and calls[0]["time"] == "2026-11-23T07:00:00Z"
    assert scheduled_event(datetime(2026, 11, 23, 7, tzinfo=UTC))["version"] == "0"
