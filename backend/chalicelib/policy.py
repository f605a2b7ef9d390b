"""The data policy: how long each kind of submission is kept, and what the privacy notice says of it."""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class KindNotice:
    """What the privacy notice tells of one kind: why it is collected, what, and who sees it."""

    title: str
    purpose: str
    collects: tuple[str, ...]
    who_can_see: str


@dataclass(frozen=True)
class DataPolicy:
    notice_version: str
    retention_months: dict[str, int]
    idempotency_hours: int
    storage: str = ""
    backups: str = ""
    notices: dict[str, KindNotice] = field(default_factory=dict)

    def expires_at(self, kind: str, created: datetime) -> datetime:
        """When an item of `kind` created at `created` is due for deletion."""
        return add_months(created, self.retention_months[kind])

    def idempotency_expires_at(self, created: datetime) -> datetime:
        return created + timedelta(hours=self.idempotency_hours)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_policy(text: str) -> DataPolicy:
    raw = tomllib.loads(text)
    kinds = raw["kinds"]
    return DataPolicy(
        notice_version=raw["notice_version"],
        retention_months={kind: int(spec["retention_months"]) for kind, spec in kinds.items()},
        idempotency_hours=int(raw["technical"]["idempotency_hours"]),
        storage=raw.get("storage", ""),
        backups=raw.get("backups", ""),
        notices={
            kind: KindNotice(spec["title"], spec["purpose"], tuple(spec["collects"]), spec["who_can_see"])
            for kind, spec in kinds.items() if "title" in spec
        },
    )


@cache
def data_policy() -> DataPolicy:
    return parse_policy(resources.files("chalicelib").joinpath("data/data_policy.toml").read_text())
