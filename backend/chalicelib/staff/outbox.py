"""The outbox: emails pending or failed, and asking for one again.

Resending never sends from here: staff mark the message `resend`, and the
notifier, which alone may send email and open recipient addresses, sends it
again when the change reaches it through the table's stream.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.notify import case_emails
from chalicelib.notify import notifier as notify
from chalicelib.staff.context import StaffContext
from chalicelib.staff.exceptions import SubjectRequestError
from chalicelib.store import items
from chalicelib.store.items import epoch, timestamp
from chalicelib.store.table import WriteConflict

# What staff see as waiting: claimed but not confirmed sent, or asked for again.
PENDING = (items.SENDING, items.RESEND)
SHOWN = ("reference", "message", "about_kind", "status", "attempts", "created_at", "updated_at",
         items.RETRY_AT_ATTRIBUTE, "last_error")


def outbox_rows(staff: StaffContext, which: str) -> list[dict[str, Any]]:
    statuses = {"pending": PENDING, "failed": (items.FAILED,),
                "all": (*PENDING, items.FAILED, items.SENT)}[which]
    rows = []
    for status in statuses:
        for item in staff.table.query_kind(items.OUTBOX_KIND, status=status, now_epoch=epoch(staff.now())):
            rows.append({name: item.get("sk") if name == "message" else item.get(name) for name in SHOWN})
    return sorted(rows, key=lambda row: str(row["created_at"]))


def ask_resend(staff: StaffContext, reference: str, message: str) -> str:
    """Mark one message `resend`; answers the status it had."""
    partition, sort = items.sent_key(reference, message)
    record = staff.table.get(partition, sort, now_epoch=epoch(staff.now()))
    if record is None:
        raise SubjectRequestError(f"no {message} for {reference} in the outbox")
    status = str(record.get("status"))
    if status == items.RESEND:
        return status
    try:
        staff.table.transition(partition, sort, status_from=status, guard=notify.SENT_GUARD,
                               changes={"status": items.RESEND, "updated_at": timestamp(staff.now())})
    except WriteConflict:
        raise SubjectRequestError(f"the {message} for {reference} changed meanwhile; look again") from None
    return status


def emails_about(staff: StaffContext, reference: str) -> dict[str, dict[str, Any]]:
    """Every email about a submission: confirmation, staff alert and each case update, with its state."""
    sent_partition = items.sent_key(reference, "")[0]
    return {
        record["sk"]: {"status": record.get("status"), "updated_at": record.get("updated_at"),
                       "attempts": record.get("attempts"), "last_error": record.get("last_error")}
        for record in staff.table.query_partition(sent_partition, now_epoch=epoch(staff.now()))
    }


def due(staff: StaffContext) -> list[dict[str, Any]]:
    """Messages due for another try: stale claims and failures whose backoff has passed."""
    return list(notify.due_for_retry(staff.table, staff.now()))


def ask_again(staff: StaffContext, due_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark each due message `resend` for the notifier; answers those marked (not changed meanwhile)."""
    return [record for record in due_records if notify.ask_again(staff.table, record, staff.now())]


def is_known_message(message: str) -> bool:
    """A message the notifier sends: a confirmation, a staff alert, ... or one case update."""
    update = re.fullmatch(re.escape(case_emails.CASE_UPDATE) + r"\d{6}", message)
    return message in notify.MESSAGES or update is not None
