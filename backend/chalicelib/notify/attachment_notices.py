"""What a customer is told of the files they sent: each one in the confirmation, and a file
the checker refused after the confirmation went out, in one short email of its own.

Pure: the notifier reads the upload records and the outbox and sends. A file is
named by its place in the form, its type and its size, never by its name: the
name is the customer's own text (sealed; the notifier may open only the
recipient's address), and emails never echo free text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.forms.attachments import FILE_TYPES, MAX_BYTES
from chalicelib.languages import N_, Said, say
from chalicelib.store import items

# The outbox message for one refused file: `file-refused:<upload id>`, once per file.
REFUSAL_MESSAGE = "file-refused:"
TYPE_WORDS = {"image/jpeg": N_("a JPEG photo"), "image/png": N_("a PNG picture"),
              "image/heic": N_("a HEIC photo"), "image/heif": N_("a HEIF photo"),
              "application/pdf": N_("a PDF document")}
ACCEPTED_TYPES = ", ".join(sorted(set(FILE_TYPES.values())))
RECEIVED, REFUSED, CHECKING = N_("received"), N_("refused"), N_("being checked")
STATES = {items.UPLOAD_CHECKED: RECEIVED, items.UPLOAD_REFUSED: REFUSED, items.UPLOAD_ISSUED: CHECKING}


@dataclass(frozen=True)
class SentFile:
    """One file as the customer reads of it: 'File 2, a JPEG photo (1.2 MB): refused, because ...'."""

    number: int
    type_words: str
    size_words: str | None
    state: str  # RECEIVED, REFUSED or CHECKING
    why: str | None = None  # for a refused file, in plain words


def refusal_words(reason: str) -> str:
    """The checker's reason (chalicelib.intake.filecheck) as a customer would say it."""
    if reason.startswith(("not a ", "declared ")):
        return Said("its contents are not what its name says; we take {types} files "
                    "(a file renamed to look like one is refused)", types=ACCEPTED_TYPES)
    if reason.startswith(("truncated", "damaged")):
        return N_("it seems to be damaged, or did not arrive complete")
    if reason.startswith("larger"):
        return Said("it is larger than {megabytes} MB", megabytes=MAX_BYTES // (1024 * 1024))
    return N_("we could not check it")


def size_words(size: Any) -> str | None:
    if size is None:
        return None
    size = int(size)
    if size < 1024:
        return f"{size} bytes"
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / (1024 * 1024):.1f} MB"


def sent_file(number: int, record: Mapping[str, Any] | None) -> SentFile:
    """A file of the form from its upload record (None: the record is gone, so is the file)."""
    record = record or {}
    state = STATES.get(str(record.get("check")), REFUSED)
    why = refusal_words(str(record.get("refusal") or "")) if state == REFUSED else None
    return SentFile(number, TYPE_WORDS.get(str(record.get("content_type")), N_("a file")),
                    size_words(record.get("size")), state, why)


def said_in(file: SentFile, language: str) -> SentFile:
    """A file's words in the customer's language."""
    why = say(language, file.why) if file.why else None
    return replace(file, type_words=say(language, file.type_words), state=say(language, file.state), why=why)


def sent_files(upload_ids: Sequence[str], records: Mapping[str, Mapping[str, Any]]) -> list[SentFile]:
    """The submission's files in the order sent, each with what became of it."""
    return [sent_file(number, records.get(upload_id)) for number, upload_id in enumerate(upload_ids, 1)]


def upload_ids_of(submission: Mapping[str, Any]) -> list[str]:
    return list((submission.get("fields") or {}).get("attachments") or [])


def refusal_message(upload_id: str) -> str:
    return f"{REFUSAL_MESSAGE}{upload_id}"


def refused_upload_of(message: str) -> str | None:
    """The upload id a refusal message is about; None for any other message."""
    return message.removeprefix(REFUSAL_MESSAGE) if message.startswith(REFUSAL_MESSAGE) else None


def is_attached_refusal(record: Mapping[str, Any]) -> bool:
    """An upload record that says the checker refused a file a submission names."""
    return str(record.get(items.PARTITION_KEY, "")).startswith(items.UPLOAD_PREFIX) \
        and record.get("check") == items.UPLOAD_REFUSED and bool(record.get("reference"))


def told_apart(upload: Mapping[str, Any], confirmation_claim: Mapping[str, Any] | None) -> bool:
    """Whether a refusal needs an email of its own: only when the confirmation was claimed
    before the file was refused. Without a claim yet, the confirmation, written later,
    reads the refusal and lists it; a file refused before it was claimed is listed there too."""
    if confirmation_claim is None:
        return False
    return str(upload.get("checked_at") or "") > str(confirmation_claim.get("created_at") or "")
