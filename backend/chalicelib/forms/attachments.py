"""The `attachments` field of the forms that take files: the upload ids a submission names."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from chalicelib.forms.answers import Answer
from chalicelib.forms.core import CONTRACT_NOTE, Submission, personal, sent_as_form
from chalicelib.languages import N_, Said

# Which forms take files, how many, which types and how large: the one home of these limits.
MAX_FILES = 3
MIN_BYTES = 1
MAX_BYTES = 10 * 1024 * 1024
FILE_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "application/pdf": "PDF",
}
UPLOAD_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_NAME_CHARACTERS = 255  # what common file systems allow in one name
LIMITS_SENTENCE = (
    f"Up to {MAX_FILES} files: photos (JPEG, PNG, HEIC) or PDF documents, "
    f"each at most {MAX_BYTES // (1024 * 1024)} MB."
)


def _as_list(value: Any, info: ValidationInfo) -> Any:
    """A plain HTML form sends the ids as one comma-separated text; JSON sends a list.

    No files is None, so a submission without any stores no attachments field.
    """
    if isinstance(value, str) and sent_as_form(info):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    return value or None


def _check_ids(ids: list[str] | None) -> list[str] | None:
    if ids is None:
        return None
    if len(ids) > MAX_FILES:
        raise ValueError(Said("Attach at most {count} files.", count=MAX_FILES))
    if len(set(ids)) != len(ids):
        raise ValueError(N_("The same file is attached twice; remove one."))
    if not all(UPLOAD_ID_PATTERN.fullmatch(each) for each in ids):
        raise ValueError(N_("An attached file is not one of our uploads; attach it again."))
    return ids


Attachments = Annotated[
    list[str] | None,
    BeforeValidator(_as_list),
    AfterValidator(_check_ids),
    Field(
        default=None,
        title="Photos or documents (optional)",
        description=f"Proof of purchase, or a photo of the fault or damage. {LIMITS_SENTENCE}",
        json_schema_extra={
            CONTRACT_NOTE: "Each is the `upload_id` that POST /uploads issued for this form, unused and "
            "within its time.",
            "x-widget": "files",
            "maxItems": MAX_FILES,
            # Each an upload id that POST /uploads issued, each once.
            "items": {"type": "string", "pattern": UPLOAD_ID_PATTERN.pattern},
            "uniqueItems": True,
            "x-accept": sorted(FILE_TYPES),
            "x-max-bytes": MAX_BYTES,
        },
    ),
]


def _a_number_not_a_flag(value: Any) -> Any:
    """JSON true is not a size of 1 byte, nor "2400000" a number; 2400000.0 is one (JSON schema's
    integer is a number with no fraction)."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


class UploadRequest(Submission):
    """What a browser asks for before it sends a file: which form, and the file's type and size."""

    form: Literal["warranty_registration", "return_request", "complaint"] = Field(
        title="Form", description="The form the file will be sent with."
    )
    content_type: Literal["image/jpeg", "image/png", "image/heic", "image/heif", "application/pdf"] = Field(
        title="File type", json_schema_extra={"x-labels": dict[str, Any](FILE_TYPES)},
    )
    size: Annotated[int, BeforeValidator(_a_number_not_a_flag)] = Field(
        ge=MIN_BYTES, le=MAX_BYTES, title="File size in bytes",
        description=f"The file's exact size, a whole number of bytes; at most {MAX_BYTES // (1024 * 1024)} "
        "MB. The upload is refused unless the file sent is exactly this size.",
    )
    # A name may hold a person's name ("Jane Smith receipt.pdf"): sealed like other personal fields.
    name: str | None = Field(
        default=None, min_length=1, max_length=MAX_NAME_CHARACTERS, title="File name (optional)",
        description="The file's name on the customer's device, so staff can tell the files apart.",
        json_schema_extra=personal(),
    )

    @classmethod
    def example(cls, today: Any) -> dict[str, Any]:
        return {"form": "return_request", "content_type": "image/jpeg", "size": 2_400_000,
                "name": "receipt.jpg"}


class IssuedUpload(Answer):
    """Where and how the browser sends the file: POST `fields` and then the file, as multipart, to `url`."""

    upload_id: str = Field(description="Name it in the form's `attachments` list.")
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_at: str = Field(description="The POST is refused after this time (UTC).")
