"""Uploads: issuing a presigned POST per file, and the rules a submission's uploads must meet.

The API never sees a file's bytes: it records the upload it allows (which form,
which type, until when) and hands the browser a POST that S3 itself limits to
that key, type and size. A submission then names its uploads; only uploads
issued here, for that form, unused and not expired are accepted, and they are
marked used in the same transaction as the submission.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.crypto.keys import SubmissionCipher
from chalicelib.forms.attachments import UploadRequest
from chalicelib.forms.core import FieldError, InvalidSubmission
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket
from chalicelib.store.table import ItemChange, NewItem, SubmissionTable

# The presigned POST is good for this long; the upload id, for a form's filling.
POST_WINDOW = timedelta(minutes=15)
USABLE_FOR = timedelta(hours=2)
# An unused upload record outlives its use by a day, then TTL removes it.
UNUSED_KEPT = timedelta(days=1)
ATTACHMENT_GUARD = "attachment"
FIELD = "attachments"

NOT_OURS = "An attached file is not one of our uploads; attach it again."
USED = "An attached file was already sent with another form; attach it again."
OTHER_FORM = "An attached file was uploaded for a different form; attach it again."
EXPIRED = "An attached file was uploaded too long ago; attach it again."


def new_upload_id() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class UploadDesk:
    """Issues uploads; `bucket` signs the POSTs, `table` keeps a record of each, `cipher`
    seals the file's name (encrypt only: staff open it, see chalicelib.staff.attachments)."""

    table: SubmissionTable
    bucket: AttachmentBucket
    clock: Callable[[], datetime]
    new_id: Callable[[], str] = new_upload_id
    cipher: SubmissionCipher | None = None

    def issue(self, request: UploadRequest) -> dict[str, Any]:
        now = self.clock()
        upload_id = self.new_id()
        record = items.upload_item(
            upload_id=upload_id, form_kind=request.form, content_type=request.content_type,
            max_bytes=request.size, created=now, usable_until=now + USABLE_FOR,
            expires=now + USABLE_FOR + UNUSED_KEPT, sealed_name=self._sealed_name(request, upload_id),
        )
        # The record first: a POST for an upload we have no record of would be wasted.
        self.table.create_all([NewItem(record, "upload")])
        post = self.bucket.presigned_post(
            items.upload_object_key(upload_id), content_type=request.content_type,
            # Exactly the size declared: the policy is the promise the browser made, so a
            # bigger (or another) file cannot ride on it.
            min_bytes=request.size, max_bytes=request.size, expires_in=int(POST_WINDOW.total_seconds()),
        )
        return {
            "upload_id": upload_id,
            "url": post.url,
            "fields": post.fields,
            "max_bytes": request.size,
            "expires_at": items.timestamp(now + POST_WINDOW),
        }

    def _sealed_name(self, request: UploadRequest, upload_id: str) -> bytes | None:
        if request.name is None or self.cipher is None:
            return None
        return self.cipher.seal({"name": request.name}, kind=request.form, reference=upload_id)


def resolve(
    table: SubmissionTable, form_kind: str, upload_ids: Sequence[str], now: datetime
) -> list[dict[str, Any]]:
    """The upload records a submission names, or InvalidSubmission naming the field."""
    records = []
    for upload_id in upload_ids:
        # Read past expiry so that an expired upload is told apart from a forged one.
        record = table.get(*items.upload_key(upload_id), now_epoch=0)
        if record is None:
            problem = NOT_OURS
        elif record.get("used"):
            problem = USED
        elif record.get("form_kind") != form_kind:
            problem = OTHER_FORM
        elif int(record.get("usable_until", 0)) <= items.epoch(now):
            problem = EXPIRED
        else:
            records.append(record)
            continue
        raise InvalidSubmission([FieldError(FIELD, problem)])
    return records


def attach(
    uploads: Sequence[dict[str, Any]], *, reference: str, subject: str | None, now: datetime,
    expires: datetime,
) -> list[ItemChange]:
    """The writes that mark each upload used by `reference`, only if nobody used it meanwhile.

    (Its form and age were checked by `resolve` just before, in the same request.)
    """
    changes = items.attached_upload_changes(
        reference=reference, subject=subject, attached=now, expires=expires
    )
    return [
        ItemChange(*items.upload_key(upload["upload_id"]), changes, ATTACHMENT_GUARD,
                   exists=True, expect={"used": False})
        for upload in uploads
    ]


def used_by_another() -> InvalidSubmission:
    return InvalidSubmission([FieldError(FIELD, USED)])
