"""Complaints (and any kind stored as "open"): the open list, and closing one with what was done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.forms import FORMS
from chalicelib.items import epoch, parsed_timestamp, submission_key, timestamp

from aftercare_cli.listing import with_article
from aftercare_cli.records import OPEN_STATUS, RESOLVED_STATUS, case_kinds, resolution_context
from aftercare_cli.staff import Staff
from aftercare_cli.subjects import SubjectRequestError


def open_cases(staff: Staff, status: str = OPEN_STATUS) -> Iterator[dict[str, Any]]:
    """Cases in order of arrival, oldest first, without their personal fields.

    `days_open`: whole days from arrival to today, or to the day it was
    resolved; `handler`: the staff identity that resolved it (none while open).
    """
    now = staff.now()
    now_epoch = epoch(now)
    for kind in case_kinds():
        for item in staff.table.query_kind(kind, status=status, now_epoch=now_epoch):
            received = parsed_timestamp(item["created_at"]) or now
            closed = parsed_timestamp(item.get("resolved_at")) or now
            yield {
                "reference": item["reference"], "kind": kind,
                "created_at": item["created_at"], "status": item["status"],
                "days_open": max((closed.date() - received.date()).days, 0),
                "handler": item.get("resolved_by"),
                **(item.get("fields") or {}),
            }


def resolve(staff: Staff, reference: str, *, heard_by: str, action_taken: str) -> dict[str, Any]:
    """Close a case: who heard it and what was done (sealed), who closed it and when."""
    now = staff.now()
    item = staff.table.get(*submission_key(reference), now_epoch=epoch(now))
    if item is None:
        raise SubjectRequestError(f"there is no submission {reference}")
    form = FORMS.get(item["kind"])
    if form is None or form.initial_status != OPEN_STATUS:
        raise SubjectRequestError(f"{reference} is {with_article(item['kind'])}, not a case to resolve")
    if item.get("status") != OPEN_STATUS:
        raise SubjectRequestError(f"{reference} is already {item.get('status')}")
    item["status"] = RESOLVED_STATUS
    item["resolution"] = staff.cipher.seal(
        {"heard_by": heard_by, "action_taken": action_taken},
        kind=resolution_context(form.kind), reference=reference,
    )
    item["resolved_at"] = timestamp(now)
    item["resolved_by"] = staff.actor
    staff.table.replace(item)
    return item
