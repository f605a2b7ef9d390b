"""A return request's link to the warranty registered for the same serial number."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chalicelib.store import items
from chalicelib.store.table import SubmissionTable


def warranty_of(table: SubmissionTable, case: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The registration of the case's serial number, if there is one: its reference and cover.

    Serial numbers are stored normalised by the forms, so the return's serial
    is the registration's key as it stands.
    """
    serial = (case.get("fields") or {}).get("serial_number")
    if not serial:
        return None
    record = table.get(*items.warranty_key(str(serial)), now_epoch=items.epoch(now))
    if record is None:
        return None
    until = date.fromisoformat(record["expires_on"])
    under = now.date() <= until
    return {
        "registration": record["reference"],
        "product": record.get("product"),
        "registered_on": record.get("registered_on"),
        "under_warranty_until": until.isoformat(),
        "under_warranty": under,
        "words": f"under warranty until {until.isoformat()}" if under
                 else f"warranty ended on {until.isoformat()}",
    }
