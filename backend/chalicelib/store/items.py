"""The layout of stored items: keys, sort keys, statuses, time formats, and a submission's item.

Every key the table holds is spelled here and nowhere else; the intake, the
warranty lookup, the staff command line and the tests build and read keys
through these functions. Pure: no AWS, no clock, no environment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

# Attribute names the key schema in infra/resources.yaml defines.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
EXPIRY_ATTRIBUTE = "expires_at"

Key = tuple[str, str]

# What an item is, by the first part of its partition key.
SUBMISSION_PREFIX = "SUB#"
IDEMPOTENCY_PREFIX = "IDEM#"
CONSENT_PREFIX = "CONSENT#"
WARRANTY_PREFIX = "WARRANTY#"
AUDIT_PREFIX = "AUDIT#"
CASE_PREFIX = "CASE#"
UPLOAD_PREFIX = "UPLOAD#"
SENT_PREFIX = "SENT#"
UNSUBSCRIBE_PREFIX = "UNSUB#"
INBOUND_PREFIX = "INBOUND#"  # one per reply received: its Message-ID, hashed (chalicelib.inbound)
# The daily counters of the insight page (chalicelib.insight), in one partition so that a
# period is one Query, and the marks that each stream record was counted once.
AGGREGATE_PARTITION = "AGG#DAILY"
COUNTED_PREFIX = "AGGMARK#"
RECORD_NAMES = {
    SUBMISSION_PREFIX: "submission",
    CONSENT_PREFIX: "consent",
    IDEMPOTENCY_PREFIX: "idempotency",
    WARRANTY_PREFIX: "warranty",
    AUDIT_PREFIX: "audit",
    CASE_PREFIX: "case_history",
    UPLOAD_PREFIX: "upload",
    SENT_PREFIX: "email",
    UNSUBSCRIBE_PREFIX: "unsubscribe request",
    INBOUND_PREFIX: "reply received",
    "AGG#": "daily counters",
    COUNTED_PREFIX: "counted mark",
}

SUBMISSION_SORT_KEY = "SUBMISSION"
IDEMPOTENCY_SORT_KEY = "IDEMPOTENCY"
CONSENT_SORT_KEY = "CONSENT"
WARRANTY_SORT_KEY = "REGISTRATION"
HISTORY_SORT_PREFIX = "HISTORY#"
UPLOAD_SORT_KEY = "UPLOAD"

# Kinds that are records of their own rather than forms.
CONSENT_KIND = "consent"
AUDIT_KIND = "audit"
OUTBOX_KIND = "outbox"  # one record per email: its "sent" record (chalicelib.notify.notifier)

# The submission's email address sealed apart, for the notifier (crypto.RecipientSeal).
RECIPIENT_ATTRIBUTE = "recipient"
# The opt-ins a submission gave, each its consent record's sealed contact and
# reference: the intake writes them on the submission's own item (one write on
# the request path), and the notifier turns each into its consent record from
# the stream (chalicelib.notify.consents). They are erased with the submission.
OPT_INS_ATTRIBUTE = "opt_ins"

# Statuses: a submission starts RECEIVED; a case then moves through its lifecycle (rules.lifecycles).
RECEIVED = "received"
OPTED_IN = "opted-in"
WITHDRAWN = "withdrawn"
# A consent is opted-in until withdrawn (`aftercare consent withdraw` ends it).
CONSENT_STATUSES = (OPTED_IN, WITHDRAWN)

# What a consent record keeps of the person, sealed.
CONSENT_CONTACT = ("email", "name")
# A consent to one email asking how we did once a case closes: a consent record
# like a marketing one, of its own kind, so the mailing list (the consent kind)
# never holds it, while withdrawal and subject requests treat both alike.
FOLLOW_UP_KIND = "follow_up"
CONSENT_KINDS = (CONSENT_KIND, FOLLOW_UP_KIND)

# Attributes that hold a time the system wrote (see `timestamp`), whatever the kind.
TIME_ATTRIBUTES = ("created_at", "resolved_at", "given_at", "withdrawn_at", "rated_at")

# A case's attributes on its submission item. `version` counts its history
# entries and every change is conditional on it; `case_queue` (the kind, only
# while the case is open) puts it on the sparse open-cases index.
VERSION_ATTRIBUTE = "version"
QUEUE_ATTRIBUTE = "case_queue"
# A customer's emailed reply on a case's history entry (chalicelib.inbound): its text sealed,
# the upload ids of its checked files, and why it is held for staff when it is.
REPLY_ATTRIBUTE = "customer_reply"
REPLY_FILES_ATTRIBUTE = "reply_files"
HELD_ATTRIBUTE = "held"
STATUS_SINCE_ATTRIBUTE = "status_since"
HANDLER_ATTRIBUTE = "handler"
WINDOW_ATTRIBUTE = "visit_window"
# The customer's language, when not English (locale/<code>): their emails are written in it.
# Not personal: it says which page a form was sent from, as the form's kind does.
LANGUAGE_ATTRIBUTE = "language"
DEFAULT_LANGUAGE = "en"
# The customer's rating of a closed case, from the feedback form its follow-up
# email linked to: the overall score, when, and the feedback that gave it.
RATING_ATTRIBUTE = "rating"
RATED_AT_ATTRIBUTE = "rated_at"
RATING_REFERENCE_ATTRIBUTE = "rating_reference"
RATING_ATTRIBUTES = (RATING_ATTRIBUTE, RATED_AT_ATTRIBUTE, RATING_REFERENCE_ATTRIBUTE)

# Statuses of an email's "sent" record: claimed and being sent, sent, failed
# (will be retried with the stream's retry), or asked for again by staff.
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
RESEND = "resend"
# When a failed email is due for another try (a timestamp), or NO_RETRY: refused for
# good or out of attempts (chalicelib.notify.notifier).
RETRY_AT_ATTRIBUTE = "retry_at"
NO_RETRY = "never"



# The guard (name of a conditional write) of a unique claim, and the key it takes.
WARRANTY_GUARD = "warranty-serial"


def submission_key(reference: str) -> Key:
    return f"{SUBMISSION_PREFIX}{reference}", SUBMISSION_SORT_KEY


def idempotency_key(kind: str, key: str) -> Key:
    """The client's key is hashed: it is theirs to choose and may say anything."""
    return f"{IDEMPOTENCY_PREFIX}{kind}#{hashlib.sha256(key.encode()).hexdigest()}", IDEMPOTENCY_SORT_KEY


def consent_key(subject: str, reference: str) -> Key:
    return f"{CONSENT_PREFIX}{subject}#{reference}", CONSENT_SORT_KEY


def warranty_key(normalised_serial: str) -> Key:
    return f"{WARRANTY_PREFIX}{normalised_serial}", WARRANTY_SORT_KEY


def audit_key(moment: datetime, unique: str) -> Key:
    """One partition a month; the sort key orders the trail in time."""
    return f"{AUDIT_PREFIX}{moment:%Y-%m}", f"{timestamp(moment)}#{unique}"


def history_key(reference: str, version: int) -> Key:
    """One case's history lives in its own partition, in order; entry n is the change to version n."""
    return f"{CASE_PREFIX}{reference}", f"{HISTORY_SORT_PREFIX}{version:06d}"


def history_partition(reference: str) -> str:
    return history_key(reference, 0)[0]


def sent_key(reference: str, message: str) -> Key:
    """One "sent" record per reference and message (confirmation, staff-alert, digest)."""
    return f"{SENT_PREFIX}{reference}", message


def unsubscribe_request_key(reference: str, moment: datetime) -> Key:
    """Each click on an unsubscribe link is its own record (a person may opt in again later)."""
    return f"{UNSUBSCRIBE_PREFIX}{reference}", timestamp(moment)


def aggregate_key(day: str, section: str) -> Key:
    """One day's counters of one section (chalicelib.insight.counters): sorted by day."""
    return AGGREGATE_PARTITION, f"{day}#{section}"


def counted_key(source: Key, change: str) -> Key:
    """The mark that one change of one item was added to the counters (the stream may deliver it again)."""
    return f"{COUNTED_PREFIX}{source[0]}", f"{source[1]}#{change}"


def is_submission(item: Mapping[str, Any]) -> bool:
    return str(item.get(PARTITION_KEY, "")).startswith(SUBMISSION_PREFIX) \
        and item.get(SORT_KEY) == SUBMISSION_SORT_KEY


# A reply's Message-ID, hashed: the same message handed over twice is entered once.
INBOUND_GUARD = "inbound-message"


def inbound_key(hashed_message_id: str) -> Key:
    return f"{INBOUND_PREFIX}{hashed_message_id}", "MESSAGE"


CLAIM_KEYS: dict[str, Callable[[str], Key]] = {WARRANTY_GUARD: warranty_key, INBOUND_GUARD: inbound_key}


def claim_key(guard: str, value: str) -> Key:
    """The key a unique claim (a guard and its value) takes."""
    return CLAIM_KEYS[guard](value)


def record_type(item: Mapping[str, Any]) -> str:
    """What an item is (submission, consent, idempotency, ...), from its partition key."""
    head = str(item[PARTITION_KEY]).split("#", 1)[0] + "#"
    return RECORD_NAMES.get(head, head[:-1].lower())


def idempotency_kind(item: Mapping[str, Any]) -> str | None:
    """The form kind an idempotency record was written for (it has no `kind` attribute)."""
    parts = str(item[PARTITION_KEY]).split("#")
    return parts[1] if record_type(item) == "idempotency" and len(parts) > 2 else None


def timestamp(moment: datetime) -> str:
    """Sortable UTC time with microseconds: the created_at of every item."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parsed_timestamp(text: Any) -> datetime | None:
    """A stored time back as an aware datetime; None when missing or not a time."""
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970: what `expires_at` (DynamoDB's TTL) holds."""
    return int(moment.timestamp())


def open_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- A submission and its item -------------------------------------------------------

def personal_part(submission: BaseModel) -> dict[str, Any]:
    """The fields that are sealed before they are stored (none that were left empty)."""
    return {
        name: value
        for name in type(submission).personal_fields()  # type: ignore[attr-defined]
        if (value := getattr(submission, name)) is not None
    }


def open_part(submission: BaseModel) -> dict[str, Any]:
    """The fields stored as they are, readable by staff without a key."""
    return {
        name: open_value(getattr(submission, name))
        for name in type(submission).open_fields()  # type: ignore[attr-defined]
    }


def submission_item(
    *, kind: str, reference: str, created: datetime, status: str, expires: datetime,
    subject: str | None, sealed: bytes, fields: dict[str, Any], queue: str | None = None,
    fingerprint: str | None = None, language: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """`queue` (the kind, for kinds that are cases) puts a new case on the open-cases index.
    `language`: the customer's, kept only when not English (an English item is as it always was).
    `fingerprint`, a keyed digest of the content, tells a write of ours that was
    applied but answered with an error from another submission under the same key."""
    partition, sort = submission_key(reference)
    return {
        QUEUE_ATTRIBUTE: queue,
        VERSION_ATTRIBUTE: 0 if queue else None,
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "kind": kind,
        "reference": reference,
        "created_at": timestamp(created),
        "status": status,
        EXPIRY_ATTRIBUTE: epoch(expires),
        "subject_hash": subject,
        "personal": sealed,
        "fields": fields,
        "fingerprint": fingerprint,
        LANGUAGE_ATTRIBUTE: language if language != DEFAULT_LANGUAGE else None,
    }


def language_of(item: Mapping[str, Any]) -> str:
    """The language a submission's customer reads (English unless one was stored)."""
    return str(item.get(LANGUAGE_ATTRIBUTE) or DEFAULT_LANGUAGE)


def submission_payload(item: Mapping[str, Any], personal: Mapping[str, Any]) -> dict[str, Any]:
    """A stored submission back as the body it was validated from (personal fields opened)."""
    return {**(item.get("fields") or {}), **personal}


def claim_item(
    *, guard: str, value: str, fields: dict[str, Any], reference: str, subject: str | None,
    created: datetime, expires: datetime,
) -> dict[str, Any]:
    """The record that holds a unique key for the submission `reference`.

    It carries the subject hash, time and the kind's expiry, so that it is
    erased and expires together with the submission it belongs to.
    """
    partition, sort = claim_key(guard, value)
    return {
        **fields,
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "reference": reference,
        "created_at": timestamp(created),
        EXPIRY_ATTRIBUTE: epoch(expires),
        "subject_hash": subject,
    }


def history_item(
    *, reference: str, kind: str, version: int, moment: datetime, actor: str, status: str,
    moved: bool, handler: str | None, window: str | None, sealed_note: bytes | None,
    sealed_message: bytes | None, subject: str | None, expires_at: int | None,
    sealed_reply: bytes | None = None, reply_files: Sequence[str] = (), held: str | None = None,
) -> dict[str, Any]:
    """One change to a case, written once and never changed: who, when, the status after it
    (`moved`: the change was a move to that status, not only a handler or a note).

    Not `kind`: that would put history on the by-kind index among submissions.
    The subject hash and expiry are the case's, so erasure and TTL take both.
    """
    partition, sort = history_key(reference, version)
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "case_kind": kind,
        "reference": reference,
        "version": version,
        "created_at": timestamp(moment),
        "actor": actor,
        "status": status,
        "moved": moved,
        "handler": handler,
        WINDOW_ATTRIBUTE: window,
        "note": sealed_note,
        "customer_message": sealed_message,
        REPLY_ATTRIBUTE: sealed_reply,
        REPLY_FILES_ATTRIBUTE: list(reply_files) or None,
        HELD_ATTRIBUTE: held,
        "subject_hash": subject,
        EXPIRY_ATTRIBUTE: expires_at,
    }


def consent_item(
    *, reference: str, subject: str, sealed: bytes, created: datetime, expires: datetime,
    source_form: str, source_reference: str, notice_version: str, kind: str = CONSENT_KIND,
) -> dict[str, Any]:
    """Each opt-in is its own record: the proof of what for, when, where and under which notice."""
    partition, sort = consent_key(subject, reference)
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "kind": kind,
        "reference": reference,
        "created_at": timestamp(created),
        "status": OPTED_IN,
        EXPIRY_ATTRIBUTE: epoch(expires),
        "subject_hash": subject,
        "personal": sealed,
        "fields": {
            "channel": "email",
            "given_at": timestamp(created),
            "source_form": source_form,
            "source_reference": source_reference,
            "notice_version": notice_version,
        },
    }


def opt_in(*, kind: str, reference: str, sealed: bytes, notice_version: str) -> dict[str, Any]:
    """One opt-in as its submission's item carries it until its consent record is written."""
    return {"kind": kind, "reference": reference, "personal": sealed, "notice_version": notice_version}


def consent_items(
    submission: Mapping[str, Any], expires_at: Callable[[str, datetime], datetime]
) -> list[dict[str, Any]]:
    """The consent records a stored submission's opt-ins stand for (`expires_at`: a kind's expiry)."""
    created = parsed_timestamp(submission.get("created_at"))
    subject = submission.get("subject_hash")
    if created is None or not subject:
        return []
    return [
        consent_item(
            reference=given["reference"], subject=subject, sealed=given["personal"], created=created,
            expires=expires_at(given["kind"], created), source_form=submission["kind"],
            source_reference=submission["reference"], notice_version=given["notice_version"],
            kind=given["kind"],
        )
        for given in submission.get(OPT_INS_ATTRIBUTE) or ()
    ]


def is_consent(item: Mapping[str, Any]) -> bool:
    """A consent record of any kind (marketing, or asking how we did)."""
    return item.get("kind") in CONSENT_KINDS


def rating_changes(*, rating: int, rated: datetime, feedback_reference: str) -> dict[str, Any]:
    """What a case records of the rating its customer gave through the follow-up link."""
    return {
        RATING_ATTRIBUTE: rating,
        RATED_AT_ATTRIBUTE: timestamp(rated),
        RATING_REFERENCE_ATTRIBUTE: feedback_reference,
    }


def idempotency_item(
    *, kind: str, key: str, fingerprint: str, answer: dict[str, Any], subject: str | None,
    created: datetime, expires: datetime,
) -> dict[str, Any]:
    """The record that makes a retry answer the first reference.

    It carries the subject hash and time so that erasing a person finds it
    through the by-subject index too.
    """
    partition, sort = idempotency_key(kind, key)
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "created_at": timestamp(created),
        "subject_hash": subject,
        "reference": answer["reference"],
        "fingerprint": fingerprint,
        "answer": json.dumps(answer, separators=(",", ":")),
        EXPIRY_ATTRIBUTE: epoch(expires),
    }


def replayed_answer(record: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(record["answer"])
    return answer


# -- Uploads: one record per upload id the API issued ------------------------------
#
# An upload starts ISSUED (unused, expiring with its presigned POST's window plus
# a day); the intake marks it used by a submission in the same transaction as the
# submission, and gives it that submission's subject and expiry, so erasure and
# retention reach it. The checker sets its check status, CHECKED or REFUSED.

UPLOAD_ISSUED = "issued"
UPLOAD_CHECKED = "checked"
UPLOAD_REFUSED = "refused"
# The bucket's two folders: where the browser posts, and the checked, cleaned copy.
UPLOAD_FOLDER = "uploads/"
ATTACHMENT_FOLDER = "attachments/"
# The file's name as the customer's device gave it, sealed (it may hold a person's name):
# its encryption context is the upload's form kind, and the upload id is sealed inside.
FILE_NAME_ATTRIBUTE = "file_name"


def upload_key(upload_id: str) -> Key:
    return f"{UPLOAD_PREFIX}{upload_id}", UPLOAD_SORT_KEY


def upload_object_key(upload_id: str) -> str:
    """Where the browser's file lands: a random key, named by nothing the customer sent."""
    return f"{UPLOAD_FOLDER}{upload_id}"


def attachment_object_key(upload_id: str) -> str:
    """Where the checked copy (metadata stripped) is kept: the only one staff read."""
    return f"{ATTACHMENT_FOLDER}{upload_id}"


def upload_id_of(object_key: str) -> str | None:
    """The upload id an object key names, or None for a key that is not ours."""
    for folder in (UPLOAD_FOLDER, ATTACHMENT_FOLDER):
        if object_key.startswith(folder) and "/" not in object_key[len(folder):]:
            return object_key[len(folder):] or None
    return None


def upload_item(
    *, upload_id: str, form_kind: str, content_type: str, max_bytes: int, created: datetime,
    usable_until: datetime, expires: datetime, sealed_name: bytes | None = None,
) -> dict[str, Any]:
    """No `kind` attribute: uploads are not submissions and stay out of the by-kind index."""
    partition, sort = upload_key(upload_id)
    return {
        FILE_NAME_ATTRIBUTE: sealed_name,
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "upload_id": upload_id,
        "form_kind": form_kind,
        "content_type": content_type,
        "max_bytes": max_bytes,
        "created_at": timestamp(created),
        "usable_until": epoch(usable_until),
        "used": False,
        "check": UPLOAD_ISSUED,
        EXPIRY_ATTRIBUTE: epoch(expires),
    }


def attached_upload_changes(
    *, reference: str, subject: str | None, attached: datetime, expires: datetime,
) -> dict[str, Any]:
    """What changes on an upload record once a submission names it: used, kept as long as the submission."""
    return {
        "used": True,
        "reference": reference,
        "subject_hash": subject,
        "attached_at": timestamp(attached),
        EXPIRY_ATTRIBUTE: epoch(expires),
    }


# -- Emails ---------------------------------------------------------------------------

def sent_item(
    *, reference: str, message: str, about_kind: str, created: datetime, expires_epoch: int,
) -> dict[str, Any]:
    """The claim on one email, written before it is sent: a second claim finds it and sends nothing.

    It says which message about which reference, never to whom or what.
    """
    partition, sort = sent_key(reference, message)
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "kind": OUTBOX_KIND,
        "reference": reference,
        "about_kind": about_kind,
        "created_at": timestamp(created),
        "updated_at": timestamp(created),
        "status": SENDING,
        "attempts": 1,
        EXPIRY_ATTRIBUTE: expires_epoch,
    }


def unsubscribe_request_item(*, reference: str, created: datetime, expires: datetime) -> dict[str, Any]:
    """A click, recorded: the proof that the person asked, kept as long as consent records."""
    partition, sort = unsubscribe_request_key(reference, created)
    return {
        PARTITION_KEY: partition,
        SORT_KEY: sort,
        "reference": reference,
        "created_at": timestamp(created),
        EXPIRY_ATTRIBUTE: epoch(expires),
    }
