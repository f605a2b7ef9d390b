"""Staff and attachments: list, download, erase with a person, and sweep away expired files."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.crypto.keys import SubmissionCipher
from chalicelib.forms.attachments import MAX_BYTES
from chalicelib.notify.attachment_notices import upload_ids_of
from chalicelib.staff.context import StaffContext
from chalicelib.staff.exceptions import NoSuchSubmission, SubjectRequestError
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket, NoSuchObject
from chalicelib.store.table import SubmissionTable

ENDINGS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/heif": "heif",
           "application/pdf": "pdf"}
# Endings a checked file of each type may keep from its own name.
KEPT_ENDINGS = {"image/jpeg": ("jpg", "jpeg", "jpe", "jfif"), "image/png": ("png",),
                "image/heic": ("heic", "heif"), "image/heif": ("heif", "heic"), "application/pdf": ("pdf",)}
# What staff read for each check state of an upload record.
CHECK_WORDS = {items.UPLOAD_CHECKED: "accepted", items.UPLOAD_REFUSED: "refused",
               items.UPLOAD_ISSUED: "not checked yet"}
GONE = "gone"
MAX_SAVED_NAME = 120
# Characters no file system (or a shell reading the listing) should meet in a name.
UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass(frozen=True)
class Attachment:
    """One file a submission names, as staff see it (the upload id stays internal)."""

    upload_id: str
    name: str
    content_type: str
    size: int | None
    check: str
    refusal: str | None

    def shown(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.content_type, "bytes": self.size,
                "check": self.check, "refusal": self.refusal}


def bucket_of(staff: StaffContext) -> AttachmentBucket:
    return staff.bucket


def reply_files(history: Iterable[dict[str, Any]]) -> list[str]:
    """The upload ids of the files customers sent by replying to a case's emails, in order."""
    return [str(upload_id) for entry in history for upload_id in entry.get(items.REPLY_FILES_ATTRIBUTE) or ()]


def attachments_of(
    table: SubmissionTable, cipher: SubmissionCipher, submission: dict[str, Any], now_epoch: int,
    replied: Iterable[str] = (),
) -> list[Attachment]:
    """The files a submission names, in the order sent: name (opened), type, size, check state;
    then those its customer sent by reply (`replied`, from the case's history)."""
    reference = submission["reference"]
    found = []
    for number, upload_id in enumerate([*upload_ids_of(submission), *replied], 1):
        record = table.get(*items.upload_key(upload_id), now_epoch=now_epoch) or {}
        content_type = str(record.get("content_type", ""))
        size = record.get("size")
        found.append(Attachment(
            upload_id=upload_id,
            name=file_name(cipher, record) or f"{reference}-{number}.{ENDINGS.get(content_type, 'bin')}",
            content_type=content_type,
            size=int(size) if size is not None else None,
            check=CHECK_WORDS.get(str(record.get("check")), GONE),
            refusal=record.get("refusal"),
        ))
    return found


def file_name(cipher: SubmissionCipher, record: dict[str, Any]) -> str | None:
    """The name the customer's device gave the file, opened; None when none was sent."""
    sealed = record.get(items.FILE_NAME_ATTRIBUTE)
    if not sealed:
        return None
    opened = cipher.open(bytes(sealed), kind=str(record["form_kind"]), reference=str(record["upload_id"]))
    return str(opened.get("name") or "") or None


def safe_file_name(name: str, content_type: str, fallback: str) -> str:
    """A name that is safe to save under: no folders, control or reserved characters, no
    leading dot, bounded length, and an ending that matches the checked type."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    # Format characters (a right-to-left override) can make "gpj.exe" read as "exe.jpg".
    base = "".join(character for character in base if unicodedata.category(character) != "Cf")
    base = UNSAFE_CHARACTERS.sub("_", base).strip(" .") or fallback
    stem, dot, ending = base.rpartition(".")
    if not dot or ending.lower() not in KEPT_ENDINGS.get(content_type, ()):
        stem, ending = base, ENDINGS.get(content_type, "bin")
    stem = stem[:MAX_SAVED_NAME - len(ending) - 1].rstrip(" .") or fallback.rpartition(".")[0]
    return f"{stem}.{ending}"


def listed(staff: StaffContext, reference: str) -> list[Attachment]:
    """The submission's files in the order sent."""
    now = items.epoch(staff.now())
    submission = staff.table.get(*items.submission_key(reference), now_epoch=now)
    if submission is None:
        raise NoSuchSubmission(f"no submission {reference}")
    history = staff.table.query_partition(items.history_partition(reference), now_epoch=now)
    return attachments_of(staff.table, staff.cipher, submission, now, reply_files(history))


@dataclass(frozen=True)
class AttachedFile:
    """One of a submission's files as staff receive it: what it is, and its bytes if it may open."""

    row: dict[str, Any]
    saved_name: str | None
    content: bytes | None


def files(staff: StaffContext, reference: str) -> list[AttachedFile]:
    """The submission's files in the order sent, each accepted one with its bytes under its own
    (made safe) name; refused ones have nothing to fetch. Two files of one name get a number."""
    bucket = bucket_of(staff)
    found = []
    taken: set[str] = set()
    for number, attachment in enumerate(listed(staff, reference), 1):
        row = attachment.shown()
        if attachment.check != CHECK_WORDS[items.UPLOAD_CHECKED]:
            found.append(AttachedFile(row, None, None))
            continue
        try:
            data, _ = bucket.read(items.attachment_object_key(attachment.upload_id), limit=MAX_BYTES)
        except NoSuchObject:
            found.append(AttachedFile({**row, "check": GONE}, None, None))
            continue
        fallback = f"{reference}-{number}.{ENDINGS.get(attachment.content_type, 'bin')}"
        saved = safe_file_name(attachment.name, attachment.content_type, fallback)
        if saved.casefold() in taken:
            stem, _, ending = saved.rpartition(".")
            saved = f"{stem} ({number}).{ending}"
        taken.add(saved.casefold())
        found.append(AttachedFile(row, saved, data))
    return found


# Types a browser shows by itself; anything else is downloaded with the command.
OPENS_IN_BROWSER = ("image/jpeg", "image/png", "application/pdf")
LINK_SECONDS = 60


def link(staff: StaffContext, reference: str, number: int) -> str:
    """A one-minute link that opens the submission's file `number` (from 1), if it was accepted and
    is a type a browser shows; a refused file never opens."""
    found = listed(staff, reference)
    if not 1 <= number <= len(found):
        raise NoSuchSubmission(f"{reference} has no file {number}")
    attachment = found[number - 1]
    if attachment.check != CHECK_WORDS[items.UPLOAD_CHECKED]:
        raise SubjectRequestError(f"file {number} of {reference} was not accepted, so it does not open")
    if attachment.content_type not in OPENS_IN_BROWSER:
        raise SubjectRequestError(f"file {number} of {reference} does not open in a browser: "
                                  "download it with `aftercare attachments get`")
    fallback = f"{reference}-{number}.{ENDINGS.get(attachment.content_type, 'bin')}"
    return bucket_of(staff).read_link(
        items.attachment_object_key(attachment.upload_id), seconds=LINK_SECONDS,
        file_name=safe_file_name(attachment.name, attachment.content_type, fallback),
        content_type=attachment.content_type)


def object_keys(upload_ids: Iterable[str]) -> list[str]:
    """Both places an upload's file can be: where it landed and where the checked copy is kept."""
    return [key for upload_id in upload_ids
            for key in (items.upload_object_key(upload_id), items.attachment_object_key(upload_id))]


def erase_files(staff: StaffContext, person_items: list[dict[str, Any]]) -> int:
    """Delete the files of a person's upload records (found with the rest of their items)."""
    upload_ids = [item["upload_id"] for item in person_items
                  if items.record_type(item) == "upload" and item.get("upload_id")]
    if upload_ids:
        bucket_of(staff).delete(object_keys(upload_ids))
    return len(upload_ids)


def sweep(staff: StaffContext) -> Counter[str]:
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
