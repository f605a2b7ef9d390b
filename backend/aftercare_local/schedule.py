"""The daily digests on the local stack: the Chalice schedule's own handler, run once a day at a set hour.

In AWS, EventBridge calls the app's `digest` function each morning (its
`@app.schedule`). Locally a thread of `make run` calls that very handler at
the configured hour (UTC, as the cron is), and `python -m aftercare_local
digest` calls it at once. Each digest is claimed once a day by its "sent"
record, so a restart or an extra run that day sends nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
# Wake at least this often, so a machine that slept still runs the digest near its hour.
LONGEST_WAIT_SECONDS = 60.0


def scheduled_event(moment: datetime) -> dict[str, Any]:
    """What EventBridge hands a scheduled function (Chalice reads it as a CloudWatchEvent)."""
    return {
        "version": "0", "id": f"local-{moment:%Y%m%dT%H%M%S}", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000", "time": f"{moment:%Y-%m-%dT%H:%M:%SZ}",
        "region": "local", "resources": [], "detail": {},
    }


def next_run(now: datetime, hour: int) -> datetime:
    """The next moment at `hour`:00 UTC strictly after `now`."""
    today = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


def digest_handler() -> Handler:
    """The digest function of the Chalice app: the very handler EventBridge calls in AWS."""
    from aftercare_local.streams import app_function

    return app_function("digest")


@dataclass
class DailyRun:
    handler: Handler
    hour: int
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def run(self, stop: threading.Event) -> None:
        due = next_run(self.clock(), self.hour)
        while not stop.is_set():
            now = self.clock()
            if now < due:
                stop.wait(min((due - now).total_seconds(), LONGEST_WAIT_SECONDS))
                continue
            self.once(now)
            due = next_run(now, self.hour)

    def once(self, now: datetime) -> Any:
        try:
            outcomes = self.handler(scheduled_event(now), None)
        except Exception as error:  # noqa: BLE001 - the next day runs again; the claims keep it at most once
            log.warning("daily digest failed: %s", type(error).__name__)
            return None
        log.info("daily digest: %s", outcomes)
        return outcomes
