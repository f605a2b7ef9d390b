"""Data-subject requests: find, export, correct and erase everything stored about one person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aftercare_cli.listing import with_article

from chalicelib.crypto.keys import RecipientSeal, subject_hash
from chalicelib.forms import FORMS, InvalidSubmission, validate
from chalicelib.intake.receiving import IDEMPOTENCY_GUARD, SUBMISSION_GUARD
from chalicelib.notify.unsubscribe import withdraw_consents
from chalicelib.rules.catalog import catalog
from chalicelib.staff import attachments
from chalicelib.staff.context import StaffContext
from chalicelib.staff.exceptions import SubjectRequestError
from chalicelib.store.items import (
    CONSENT_CONTACT,
    CONSENT_KIND,
    RECIPIENT_ATTRIBUTE,
    claim_item,
    claim_key,
    epoch,
    idempotency_kind,
    is_consent,
    open_part,
    parsed_timestamp,
    personal_part,
    record_type,
    submission_key,
    submission_payload,
    timestamp,
)
from chalicelib.store.table import ItemChange, WriteConflict


def subject_of(staff: StaffContext, email: str) -> str:
    return subject_hash(staff.hasher, email)


def find(staff: StaffContext, subject: str, *, include_expired: bool = False) -> list[dict[str, Any]]:
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




@dataclass(frozen=True)
class Correction:
    reference: str
    kind: str
    field: str
    subject_changed: bool
    new_subject: str | None
    derived: tuple[str, ...] = ()


def correct(staff: StaffContext, subject: str, reference: str, field: str, value: str) -> Correction:
    """Change one field of one submission, checked by the form's own rules, and re-seal it.

    Every item derived from the submission changes with it, in one
    transaction: the records of its unique keys (a warranty under its serial
    number, with the expiry worked out from the purchase date), and the
    subject hash of its consent and idempotency records. If any of them cannot
    follow (the new serial is already registered, say), nothing changes.
    """
    now = staff.now()
    item = staff.table.get(*submission_key(reference), now_epoch=epoch(now))
    if item is None or item.get("subject_hash") != subject:
        raise SubjectRequestError(f"no submission {reference} belongs to that email address")
    form = FORMS.get(item["kind"])
    if form is None:
        raise SubjectRequestError(
            f"{reference} is {with_article(item['kind'])}, which has no form to check against"
        )
    model = form.model
    if field not in model.model_fields:
        raise SubjectRequestError(
            f"{form.kind} has no field '{field}'; its fields are: {', '.join(model.model_fields)}"
        )
    if field in ("marketing_consent", "follow_up_consent"):
        raise SubjectRequestError("a consent is changed with `aftercare consent withdraw`")
    created = _created(item, now)
    personal = staff.cipher.open(item["personal"], kind=form.kind, reference=reference)
    stored = submission_payload(item, personal)
    # Date rules are checked as on the day the form was sent: a correction says
    # what was true then (a registration stays inside its window, say).
    submission = _validate(model, {**stored, field: value}, created.date())
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
    changes = [ItemChange(item["pk"], item["sk"], item, guard=SUBMISSION_GUARD,
                          expect={"subject_hash": subject})]
    claims = _claim_changes(staff, form, stored, submission, reference, new_subject, created)
    contact_changed = any(sealed_fields.get(name) != personal.get(name) for name in CONSENT_CONTACT)
    related = _related_changes(staff, subject, reference, new_subject,
                               sealed_fields if contact_changed else None)
    try:
        staff.table.change_all(changes + claims + related)
    except WriteConflict as conflict:
        if conflict.guard in {change.guard for change in claims}:
            raise SubjectRequestError(
                f"not corrected: another submission already holds that {conflict.guard.replace('-', ' ')}"
            ) from None
        raise SubjectRequestError(
            f"not corrected: {reference} or a record derived from it changed meanwhile; try again"
        ) from None
    derived = tuple(sorted({change.guard for change in claims + related}))
    return Correction(reference, form.kind, field, new_subject != subject, new_subject, derived)


def _validate(model: Any, payload: dict[str, Any], today: date) -> Any:
    """The form's own validation, its date rules checked against `today`."""
    try:
        return validate(model, payload, today=today)
    except InvalidSubmission as invalid:
        messages = "; ".join(f"{error.field}: {_staff_words(error.field, error.message, payload)}"
                             for error in invalid.errors)
        raise SubjectRequestError(f"the form would refuse that value ({messages})") from None


def _staff_words(field: str, message: str, payload: dict[str, Any]) -> str:
    """The form's message, and for a serial number the product's own rule from the catalog:
    the customer's wording ("letters and digits") does not tell staff what would pass."""
    product = catalog().products.get(str(payload.get("product")))
    if field != "serial_number" or product is None:
        return message
    return (f"a {product.name} serial number matches {product.serial_pattern.pattern} once spaces "
            f"and dashes are dropped, like {product.serial_example}")


def _created(item: dict[str, Any], now: datetime) -> datetime:
    return parsed_timestamp(item.get("created_at")) or now


def _claim_changes(staff: StaffContext, form: Any, stored: dict[str, Any], submission: Any,
                   reference: str, subject: str | None, created: datetime) -> list[ItemChange]:
    """Move or rewrite the records of the submission's unique keys to follow the correction."""
    after = submission.unique_claims(created.date())
    if not after:
        return []
    before = {claim_key(claim.guard, claim.value): claim
              for claim in _as_sent(form.model, stored, created).unique_claims(created.date())}
    expires = staff.policy.expires_at(form.kind, created)
    changes = []
    for claim in after:
        record = claim_item(guard=claim.guard, value=claim.value, fields=claim.fields,
                            reference=reference, subject=subject, created=created, expires=expires)
        key = claim_key(claim.guard, claim.value)
        kept = key in before
        changes.append(ItemChange(
            *key, record, guard=claim.guard,
            # A key the submission keeps must still be its own; a new key must be free.
            exists=kept, expect={"reference": reference} if kept else {},
        ))
    moved = {claim_key(claim.guard, claim.value) for claim in after}
    changes += [
        ItemChange(partition, sort, None, guard=claim.guard, exists=None, expect={"reference": reference})
        for (partition, sort), claim in before.items() if (partition, sort) not in moved
    ]
    return changes


def _as_sent(model: Any, stored: dict[str, Any], created: datetime) -> Any:
    try:
        return validate(model, stored, today=created.date())
    except InvalidSubmission:
        raise SubjectRequestError(
            "not corrected: the stored submission no longer passes its form's rules, so the "
            "records derived from it cannot be worked out"
        ) from None


def _related_changes(staff: StaffContext, subject: str, reference: str, new_subject: str | None,
                     contact: dict[str, Any] | None) -> list[ItemChange]:
    """The person's consent and idempotency records that came from this submission follow it.

    `contact`: the corrected personal fields when the email or name changed, else None.
    """
    changes = []
    for related in find(staff, subject):
        fields = related.get("fields") or {}
        if is_consent(related) and fields.get("source_reference") == reference:
            if not contact or not contact.get("email"):
                continue
            changes.append(ItemChange(related["pk"], related["sk"], {
                "subject_hash": new_subject,
                "personal": staff.cipher.seal({name: contact.get(name) for name in CONSENT_CONTACT},
                                              kind=related["kind"], reference=related["reference"]),
            }, guard=CONSENT_KIND))
        elif record_type(related) == "idempotency" and related.get("reference") == reference \
                and new_subject != subject:
            changes.append(ItemChange(related["pk"], related["sk"], {"subject_hash": new_subject},
                                      guard=IDEMPOTENCY_GUARD))
    return changes


def erase(staff: StaffContext, subject: str) -> Counter[str]:
    """Delete every item of the person, expired or not; answers how many of each record type."""
    items = find(staff, subject, include_expired=True)
    # The files first: once their records are gone, nothing would say whose they were.
    attachments.erase_files(staff, items)
    staff.table.delete_all([(item["pk"], item["sk"]) for item in items])
    return Counter(record_type(item) for item in items)


def consents(staff: StaffContext, subject: str) -> list[dict[str, Any]]:
    return [item for item in find(staff, subject) if is_consent(item)]


def withdraw_consent(staff: StaffContext, subject: str) -> int:
    """Withdraw every standing opt-in; each record stays, as proof, for the policy's period.

    A person with no consent record at all is an error: a withdrawal that
    finds nothing is more likely a mistyped address than a job done.
    """
    records = consents(staff, subject)
    if not records:
        raise SubjectRequestError("no consent is recorded for that email address: nothing withdrawn")
    # The unsubscribe link in an email does the very same (chalicelib.notify.unsubscribe).
    return withdraw_consents(staff.table, staff.policy, records, staff.now())
