"""The upload checker: each file that lands is typed by its magic bytes, cleaned, and kept or removed.

Runs as its own function, triggered by the bucket; it reads and writes only
the bucket and the upload records. A file that is not what it claims, or is
damaged, is deleted and its record says "refused"; a good one is copied,
without its photo metadata, to the attachments folder that staff read, and
the landed original is deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.forms.attachments import MAX_BYTES
from chalicelib.intake.filecheck import Refused, check
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket, NoSuchObject
from chalicelib.store.table import ItemGone, SubmissionTable


@dataclass(frozen=True)
class Verdict:
    upload_id: str
    status: str  # items.UPLOAD_CHECKED or items.UPLOAD_REFUSED
    reason: str = ""


@dataclass
class UploadChecker:
    table: SubmissionTable
    bucket: AttachmentBucket
    clock: Callable[[], datetime]

    def check_landed(self, object_key: str) -> Verdict | None:
        """Check one landed object; None when it is not an upload of ours (nothing kept)."""
        upload_id = items.upload_id_of(object_key)
        if upload_id is None or not object_key.startswith(items.UPLOAD_FOLDER):
            return None
        now = self.clock()
        record = self.table.get(*items.upload_key(upload_id), now_epoch=items.epoch(now))
        if record is None:
            # Never issued, or long expired: nobody will ever attach it.
            self.bucket.delete([object_key])
            return Verdict(upload_id, items.UPLOAD_REFUSED, "no upload record")
        try:
            data, _ = self.bucket.read(object_key, limit=MAX_BYTES)
        except NoSuchObject:
            return None  # already handled by an earlier delivery of the same event
        try:
            if len(data) > MAX_BYTES:
                raise Refused("larger than the limit")
            cleaned = check(data, record["content_type"])
        except Refused as refusal:
            self.bucket.delete([object_key])
            self._record(upload_id, items.UPLOAD_REFUSED, now, size=len(data), reason=refusal.reason)
            return Verdict(upload_id, items.UPLOAD_REFUSED, refusal.reason)
        self.bucket.write(
            items.attachment_object_key(upload_id), cleaned.body, content_type=cleaned.content_type
        )
        self.bucket.delete([object_key])
        self._record(upload_id, items.UPLOAD_CHECKED, now, size=len(cleaned.body))
        return Verdict(upload_id, items.UPLOAD_CHECKED)

    def _record(self, upload_id: str, status: str, now: datetime, *, size: int, reason: str = "") -> None:
        partition, sort = items.upload_key(upload_id)
        changes = {
            items.PARTITION_KEY: partition, items.SORT_KEY: sort,
            "check": status, "checked_at": items.timestamp(now), "size": size,
        }
        if reason:
            changes["refusal"] = reason
        # Erased or expired while we checked: the attachment sweep removes the object.
        with contextlib.suppress(ItemGone):
            self.table.replace(changes)


def landed_keys(event: dict[str, Any]) -> list[str]:
    """The object keys of an S3 notification's new objects (S3 sends them URL-encoded)."""
    return [
        unquote_plus(record["s3"]["object"]["key"])
        for record in event.get("Records") or []
        if str(record.get("eventName", "")).startswith("ObjectCreated:")
    ]
