"""Unsubscribe links: signed, expiring tokens that name a submission, never a person.

A token is `REFERENCE.EXPIRY.MAC`: the reference of the submission whose
confirmation carried the link, when the link stops working (epoch seconds),
and a keyed MAC over both. Clicking records a request (an UNSUB# item, written
by the public API, which may only put items); the notifier then withdraws the
person's consent exactly as `aftercare consent withdraw` does.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from chalicelib.crypto.links import ExpiredToken, InvalidToken, sign, verify
from chalicelib.rules.policy import DataPolicy, add_months
from chalicelib.store import items
from chalicelib.store.table import NewItem, SubmissionTable, WriteConflict

CUSTOMER_ACTOR = "customer:unsubscribe-link"
AUDIT_RETENTION_MONTHS = 72  # as the staff tools' audit records

# The link's token is signed and checked in crypto.links; the API and the notifier read them here.
__all__ = ["ExpiredToken", "InvalidToken", "record_request", "request_item", "sign", "verify",
           "withdraw_consents", "link_expires"]


def link_expires(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


def request_item(reference: str, now: datetime, policy: DataPolicy) -> NewItem:
    """A click, recorded; kept as long as consent records, as proof that the person asked."""
    item = items.unsubscribe_request_item(
        reference=reference, created=now, expires=policy.expires_at(items.CONSENT_KIND, now))
    return NewItem(item, "unsubscribe")


def record_request(table: SubmissionTable, reference: str, now: datetime, policy: DataPolicy) -> None:
    """Record the click once; the same click twice in one microsecond is recorded once, which is enough."""
    with contextlib.suppress(WriteConflict):
        table.create_all([request_item(reference, now, policy)])


def withdraw_consents(
    table: SubmissionTable, policy: DataPolicy, consents: list[dict[str, Any]], now: datetime
) -> int:
    """Withdraw every standing opt-in; each record stays, marked, as proof for the policy's period."""
    withdrawn = 0
    for item in consents:
        if not items.is_consent(item) or item.get("status") != items.OPTED_IN:
            continue
        item["status"] = items.WITHDRAWN
        item["fields"] = {**(item.get("fields") or {}), "withdrawn_at": items.timestamp(now)}
        item[items.EXPIRY_ATTRIBUTE] = items.epoch(policy.expires_at(item["kind"], now))
        table.replace(item)
        withdrawn += 1
    return withdrawn


def audit_item(subject: str, count: int, now: datetime) -> NewItem:
    """The audit record the staff tools would write for a withdrawal, with the customer as actor."""
    partition, sort = items.audit_key(now, uuid.uuid4().hex[:12])
    return NewItem({
        items.PARTITION_KEY: partition,
        items.SORT_KEY: sort,
        "kind": items.AUDIT_KIND,
        "created_at": items.timestamp(now),
        "actor": CUSTOMER_ACTOR,
        "action": "consent.withdraw",
        "kinds": list(items.CONSENT_KINDS),
        "item_count": count,
        "outcome": "done",
        "about_subject": subject,
        items.EXPIRY_ATTRIBUTE: items.epoch(add_months(now, AUDIT_RETENTION_MONTHS)),
    }, "audit")
