"""Data-subject requests: find, export, correct and erase everything stored about one person."""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib.crypto import RecipientSeal, subject_hash
from chalicelib.forms import FORMS, InvalidSubmission, validate
from chalicelib.items import (
    RECIPIENT_ATTRIBUTE,
    epoch,
    idempotency_kind,
    open_part,
    personal_part,
    record_type,
    submission_key,
    submission_payload,
    timestamp,
)
from chalicelib.unsubscribe import withdraw_consents

from aftercare_cli.records import CONSENT_KIND, resolution_context
from aftercare_cli.staff import Staff

# Bookkeeping that says nothing about the person and is not worth a line in their copy.
INTERNAL_ATTRIBUTES = {"pk", "sk", "subject_hash", "personal", "resolution", "fingerprint", "recipient"}


class SubjectRequestError(Exception):
    """The request cannot be carried out as asked; the message says why, without personal data."""


def subject_of(staff: Staff, email: str) -> str:
    return subject_hash(staff.hasher, email)


def find(staff: Staff, subject: str, *, include_expired: bool = False) -> list[dict[str, Any]]:
    """Every item of one person, through the index on the keyed hash of their email."""
    return list(staff.table.query_subject(
        subject, now_epoch=epoch(staff.now()), include_expired=include_expired
    ))


def summary(item: dict[str, Any]) -> dict[str, Any]:
    """What an item is, without what it says: for listings and reports."""
    return {
        "record": record_type(item),
        "kind": item.get("kind") or idempotency_kind(item),
        "reference": item.get("reference"),
        "created_at": item.get("created_at"),
        "status": item.get("status"),
    }


def portable_copy(staff: Staff, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One JSON document with everything stored about the person, decrypted."""
    records = []
    for item in items:
        record = summary(item)
        record["stored"] = {
            name: value for name, value in sorted(item.items())
            if name not in INTERNAL_ATTRIBUTES and not isinstance(value, bytes)
        }
        if item.get("personal") and item.get("kind") and item.get("reference"):
            record["personal"] = staff.cipher.open(
                item["personal"], kind=item["kind"], reference=item["reference"]
            )
        if item.get("resolution"):
            record["resolution"] = staff.cipher.open(
                item["resolution"], kind=resolution_context(item["kind"]),
                reference=item["reference"],
            )
        records.append(record)
    return {
        "generated_at": timestamp(staff.now()),
        "controller_note": "Everything Aftercare stores about the person with this email address.",
        "item_count": len(records),
        "items": records,
    }


@dataclass(frozen=True)
class Correction:
    reference: str
    kind: str
    field: str
    subject_changed: bool
    new_subject: str | None


def correct(staff: Staff, subject: str, reference: str, field: str, value: str) -> Correction:
    """Change one field of one submission, checked by the form's own rules, and re-seal it."""
    now = staff.now()
    item = staff.table.get(*submission_key(reference), now_epoch=epoch(now))
    if item is None or item.get("subject_hash") != subject:
        raise SubjectRequestError(f"no submission {reference} belongs to that email address")
    form = FORMS.get(item["kind"])
    if form is None:
        raise SubjectRequestError(f"{reference} is a {item['kind']}, which has no form to check against")
    model = form.model
    if field not in model.model_fields:
        raise SubjectRequestError(
            f"{form.kind} has no field '{field}'; its fields are: {', '.join(model.model_fields)}"
        )
    if field == "marketing_consent":
        raise SubjectRequestError("marketing consent is changed with `aftercare consent withdraw`")
    personal = staff.cipher.open(item["personal"], kind=form.kind, reference=reference)
    whole = {**submission_payload(item, personal), field: value}
    submission = _validate(model, whole, now.date())
    sealed_fields = personal_part(submission)
    email = sealed_fields.get("email")
    new_subject = subject_hash(staff.hasher, email) if email else None
    item["personal"] = staff.cipher.seal(sealed_fields, kind=form.kind, reference=reference)
    if email and item.get(RECIPIENT_ATTRIBUTE):
        # The address the notifier sends to (sealed apart) follows the correction.
        item[RECIPIENT_ATTRIBUTE] = RecipientSeal(staff.cipher).seal(
            email, kind=form.kind, reference=reference)
    item["fields"] = open_part(submission)
    item["subject_hash"] = new_subject
    item["corrected_at"] = timestamp(now)
    staff.table.replace(item)
    return Correction(reference, form.kind, field, new_subject != subject, new_subject)


def _validate(model: Any, payload: dict[str, Any], today: Any) -> Any:
    """The form's own validation; forms with date rules are checked against today."""
    try:
        if "today" in inspect.signature(validate).parameters:
            return validate(model, payload, today=today)
        return validate(model, payload)
    except InvalidSubmission as invalid:
        messages = "; ".join(f"{error.field}: {error.message}" for error in invalid.errors)
        raise SubjectRequestError(f"the form would refuse that value ({messages})") from None


def erase(staff: Staff, subject: str) -> Counter[str]:
    """Delete every item of the person, expired or not; answers how many of each record type."""
    items = find(staff, subject, include_expired=True)
    staff.table.delete_all([(item["pk"], item["sk"]) for item in items])
    return Counter(record_type(item) for item in items)


def consents(staff: Staff, subject: str) -> list[dict[str, Any]]:
    return [item for item in find(staff, subject) if item.get("kind") == CONSENT_KIND]


def withdraw_consent(staff: Staff, subject: str) -> int:
    """Withdraw every standing opt-in; each record stays, as proof, for the policy's period.

    The unsubscribe link in an email does the very same (chalicelib.unsubscribe).
    """
    return withdraw_consents(staff.table, staff.policy, consents(staff, subject), staff.now())
