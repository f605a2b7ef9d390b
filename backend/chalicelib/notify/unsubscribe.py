"""Unsubscribe links: signed, expiring tokens that name a submission, never a person.

A token is `REFERENCE.EXPIRY.MAC`: the reference of the submission whose
confirmation carried the link, when the link stops working (epoch seconds),
and a keyed MAC over both. Clicking records a request (an UNSUB# item, written
by the public API, which may only put items); the notifier then withdraws the
person's consent exactly as `aftercare consent withdraw` does.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from chalicelib.crypto.keys import SubjectHasher
from chalicelib.rules.policy import DataPolicy, add_months
from chalicelib.store import items
from chalicelib.store.references import SIGNED_LINK_PATTERN, is_reference
from chalicelib.store.table import NewItem, SubmissionTable, WriteConflict

TOKEN_PATTERN = re.compile(SIGNED_LINK_PATTERN)
CUSTOMER_ACTOR = "customer:unsubscribe-link"
AUDIT_RETENTION_MONTHS = 72  # as the staff tools' audit records


class InvalidToken(Exception):
    """Not one of our links: mistyped, cut short or forged."""


class ExpiredToken(Exception):
    """One of our links, but too old to use."""


def _mac(hasher: SubjectHasher, payload: str, purpose: str) -> str:
    # Its own prefix per purpose: a token MAC can never equal a subject hash, and
    # an unsubscribe token can never pass as another link's (chalicelib.follow_up).
    return hasher.digest(f"{purpose}:{payload}".encode())


def sign(hasher: SubjectHasher, reference: str, expires: datetime, *, purpose: str = "unsubscribe") -> str:
    payload = f"{reference}.{int(expires.timestamp())}"
    return f"{payload}.{_mac(hasher, payload, purpose)}"


def verify(hasher: SubjectHasher, token: str, now: datetime, *, purpose: str = "unsubscribe") -> str:
    """The reference the token was made for; raises InvalidToken or ExpiredToken."""
    if not TOKEN_PATTERN.match(token or ""):
        raise InvalidToken()
    reference, expires, mac = token.split(".")
    if not is_reference(reference):
        raise InvalidToken()
    if not hmac.compare_digest(_mac(hasher, f"{reference}.{expires}", purpose), mac):
        raise InvalidToken()
    if int(expires) <= now.timestamp():
        raise ExpiredToken()
    return reference


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
