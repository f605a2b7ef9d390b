"""The audit trail: who did what to personal data, when, and to how many items; never the data."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.rules.policy import add_months
from chalicelib.staff.context import StaffContext
from chalicelib.store.items import AUDIT_KIND, PARTITION_KEY, SORT_KEY, audit_key, epoch, timestamp
from chalicelib.store.table import NewItem

# Six years: long enough to answer a regulator about any request made while the
# longest-kept submissions (warranty registrations, 72 months) could exist.
# Kept here rather than in data_policy.toml because the notice does not list
# staff records; move it there if the privacy page should show it.
AUDIT_RETENTION_MONTHS = 72


@dataclass
class Action:
    """One staff action being recorded; commands add to `item_count` as they go."""

    name: str
    kinds: list[str]
    subject: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    item_count: int = 0


def audit_item(staff: StaffContext, action: Action, outcome: str) -> dict[str, Any]:
    now = staff.now()
    partition, sort = audit_key(now, uuid.uuid4().hex[:12])
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        # kind + created_at put the trail on the by-kind index, so it reads back in time order.
        "kind": AUDIT_KIND,
        "created_at": timestamp(now),
        "actor": staff.actor,
        "action": action.name,
        "kinds": sorted(action.kinds),
        "item_count": action.item_count,
        "outcome": outcome,
        # Not `subject_hash`: that would put the trail on the by-subject index, and
        # erasing the person would erase the proof that they were erased.
        "about_subject": action.subject,
        "detail": action.detail or None,
        "expires_at": epoch(add_months(now, AUDIT_RETENTION_MONTHS)),
    }


@contextlib.contextmanager
def audited(staff: StaffContext, name: str, kinds: list[str], *, subject: str | None = None,
            detail: dict[str, Any] | None = None) -> Iterator[Action]:
    """Record the action once it ends, with its outcome, also when it fails half-way."""
    action = Action(name, list(kinds), subject, dict(detail or {}))
    outcome = "failed"
    try:
        yield action
        outcome = "done"
    finally:
        staff.table.create_all([NewItem(audit_item(staff, action, outcome), "audit")])
