"""Staff and attachments: list, download, erase with a person, and sweep away expired files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chalicelib import items
from chalicelib.bucket import AttachmentBucket, NoSuchObject
from chalicelib.forms.attachments import MAX_BYTES

from aftercare_cli.staff import Staff

ENDINGS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/heif": "heif",
           "application/pdf": "pdf"}


class NoSuchSubmission(Exception):
    """No live submission has that reference."""


def bucket_of(staff: Staff) -> AttachmentBucket:
    return staff.settings.attachment_bucket()


def listed(staff: Staff, reference: str) -> list[dict[str, Any]]:
    """The submission's uploads in the order sent: file name, type, size and check status."""
    now = items.epoch(staff.now())
    submission = staff.table.get(*items.submission_key(reference), now_epoch=now)
    if submission is None:
        raise NoSuchSubmission(f"no submission {reference}")
    rows = []
    for number, upload_id in enumerate((submission.get("fields") or {}).get("attachments") or [], 1):
        record = staff.table.get(*items.upload_key(upload_id), now_epoch=now) or {}
        content_type = record.get("content_type", "")
        rows.append({
            "reference": reference,
            "file": f"{reference}-{number}.{ENDINGS.get(content_type, 'bin')}",
            "type": content_type,
            "size": record.get("size"),
            "check": record.get("check", "gone"),
            "upload_id": upload_id,
        })
    return rows


def download(staff: Staff, reference: str, directory: Path) -> list[dict[str, Any]]:
    """Write the submission's checked files into `directory`; refused ones have nothing to fetch."""
    bucket = bucket_of(staff)
    directory.mkdir(parents=True, exist_ok=True)
    rows = listed(staff, reference)
    for row in rows:
        row["saved"] = None
        if row["check"] != items.UPLOAD_CHECKED:
            continue
        try:
            data, _ = bucket.read(items.attachment_object_key(row["upload_id"]), limit=MAX_BYTES)
        except NoSuchObject:
            row["check"] = "gone"
            continue
        path = directory / row["file"]
        path.write_bytes(data)
        row["saved"] = str(path)
    return rows


def object_keys(upload_ids: Iterable[str]) -> list[str]:
    """Both places an upload's file can be: where it landed and where the checked copy is kept."""
    return [key for upload_id in upload_ids
            for key in (items.upload_object_key(upload_id), items.attachment_object_key(upload_id))]


def erase_files(staff: Staff, person_items: list[dict[str, Any]]) -> int:
    """Delete the files of a person's upload records (found with the rest of their items)."""
    upload_ids = [item["upload_id"] for item in person_items
                  if items.record_type(item) == "upload" and item.get("upload_id")]
    if upload_ids:
        bucket_of(staff).delete(object_keys(upload_ids))
    return len(upload_ids)


def sweep(staff: Staff) -> Counter[str]:
    """Delete every file whose upload record is gone or expired: never attached, or past retention.

    S3 lifecycle rules cannot see DynamoDB's TTL, so this is what makes a
    submission's files expire with it; run it daily.
    """
    bucket = bucket_of(staff)
    now = items.epoch(staff.now())
    doomed: list[str] = []
    counts: Counter[str] = Counter()
    for folder in (items.UPLOAD_FOLDER, items.ATTACHMENT_FOLDER):
        for key, _ in bucket.listing(folder):
            upload_id = items.upload_id_of(key)
            record = staff.table.get(*items.upload_key(upload_id), now_epoch=now) if upload_id else None
            if record is None:
                doomed.append(key)
                counts[folder.rstrip("/")] += 1
            else:
                counts["kept"] += 1
    bucket.delete(doomed)
    return counts
