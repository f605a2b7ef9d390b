"""What the customer is emailed when a case changes, and the staff digest of overdue cases.

The seam for the notifier on the DynamoDB stream: a new history entry (a
CASE# item) that moved the case into a status marked `tell` in
lifecycles.toml becomes one CaseNotice, named by its template; everything else
is no email. Pure: the notifier reads the stream, opens the recipient's
address and the customer message, and sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.rules.lifecycles import CasePolicy
from chalicelib.store import items


@dataclass(frozen=True)
class CaseNotice:
    reference: str
    kind: str
    status: str
    template: str  # e.g. case_complaint_acknowledged: one template per status the customer hears of
    version: int  # with the reference, what makes the email at-most-once
    has_message: bool  # the entry carries a sealed message for the customer


# The email of a move into a status that has none of its own (closing a case, say)
# when staff wrote the customer a message with it: a message staff meant for the
# customer is never left on the track page alone.
MESSAGE_TEMPLATE = "case_message"


def notice_for(entry: Mapping[str, Any], policy: CasePolicy) -> CaseNotice | None:
    """The email a new history entry calls for, or None (not a move, or not one the customer hears of).

    A move into a status marked `tell` has its own email; any other change that carries a
    message for the customer, a move or not (staff replying to them), is emailed too
    (MESSAGE_TEMPLATE), so the message arrives."""
    if not str(entry.get(items.PARTITION_KEY, "")).startswith(items.CASE_PREFIX):
        return None
    has_message = bool(entry.get("customer_message"))
    if not entry.get("moved") and not has_message:
        return None  # a handler or a note only, or the customer's own reply
    kind, status = str(entry["case_kind"]), str(entry["status"])
    lifecycle = policy.lifecycles.get(kind)
    if lifecycle is None or status not in lifecycle.statuses:
        return None
    if entry.get("moved") and lifecycle.statuses[status].tell:
        template = f"case_{kind}_{status}"
    elif has_message:
        template = MESSAGE_TEMPLATE
    else:
        return None
    return CaseNotice(
        reference=str(entry["reference"]), kind=kind, status=status,
        template=template, version=int(entry["version"]), has_message=has_message,
    )


def overdue_digest(cases: Iterable[Mapping[str, Any]], policy: CasePolicy, today: date) -> list[str]:
    """The daily staff digest's lines: overdue cases by reference, kind and days late; no personal data."""
    lines = []
    for case in cases:
        since = date.fromisoformat(str(case.get(items.STATUS_SINCE_ATTRIBUTE) or case["created_at"])[:10])
        due = policy.due_on(str(case["kind"]), str(case["status"]), since, case.get(items.WINDOW_ATTRIBUTE))
        if due is not None and due < today:
            lines.append((due, f"{case['reference']} ({case['kind']}, {case['status']}): "
                               f"due {due.isoformat()}, {(today - due).days} day(s) late"))
    return [line for _, line in sorted(lines)]
