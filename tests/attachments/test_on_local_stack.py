"""Attachments on the local stack: files in s3rver, its events run the checker, records in DynamoDB Local."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
import requests
from chalicelib.forms import FORMS
from chalicelib.store import items

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack
from tests.mailstack import CUSTOMER, MailStack, recipient
from tests.mailstack import maildev as maildev  # a fixture
from tests.samples import payload_for

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]


def ask(stack: AttachmentStack, content_type: str, size: int, form: str = "return_request",
        name: str | None = None) -> dict[str, Any]:
    """Ask for an upload as the site's script does (from its own pages)."""
    asked = requests.post(f"{stack.live.base_url}/api/uploads", timeout=10, json={
        "form": form, "content_type": content_type, "size": size, **({"name": name} if name else {})},
        headers={"Sec-Fetch-Site": "same-origin"})
    assert asked.status_code == 201, asked.text
    return dict(asked.json())


def post_file(issued: dict[str, Any], data: bytes) -> None:
    """Send the file to the bucket with the presigned POST, as the browser does."""
    sent = requests.post(issued["url"], data=issued["fields"], files={"file": ("photo", data)}, timeout=10)
    assert sent.status_code == 204, sent.text


def upload(stack: AttachmentStack, content_type: str, data: bytes, form: str = "return_request",
           name: str | None = None) -> str:
    issued = ask(stack, content_type, len(data), form, name)
    post_file(issued, data)
    return str(issued["upload_id"])


def upload_record(stack: AttachmentStack, upload_id: str) -> dict[str, Any]:
    [record] = [i for i in stack.live.raw_items() if i.get("upload_id") == upload_id]
    return record


def test_a_photo_posted_to_the_bucket_is_checked_and_kept_without_its_metadata(
    attachment_stack: AttachmentStack,
) -> None:
    upload_id = upload(attachment_stack, "image/jpeg", files.jpeg_with_gps())
    attachment_stack.wait_checked([upload_id])
    assert items.attachment_object_key(upload_id) in attachment_stack.object_keys()
    assert items.upload_object_key(upload_id) not in attachment_stack.object_keys()
    kept, _ = attachment_stack.bucket.read(items.attachment_object_key(upload_id), limit=10**8)
    assert not files.opened(kept).getexif()
    assert upload_record(attachment_stack, upload_id)["check"] == "checked"


def test_a_renamed_program_is_removed_and_the_submission_still_goes_through(
    attachment_stack: AttachmentStack,
) -> None:
    good = upload(attachment_stack, "image/png", files.png_with_text())
    bad = upload(attachment_stack, "image/jpeg", files.LINUX_EXECUTABLE)
    attachment_stack.wait_checked([good, bad])
    body = {**payload_for(FORMS["return_request"], date.today()), "attachments": [good, bad]}
    sent = requests.post(f"{attachment_stack.live.base_url}/api/return-requests", data=json.dumps(body),
                         headers={"Content-Type": "application/json", "X-Form-Fill-Ms": "9000",
                                  "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert sent.status_code == 201, sent.text
    reference = sent.json()["reference"]
    assert upload_record(attachment_stack, good)["reference"] == reference
    assert upload_record(attachment_stack, bad)["check"] == "refused"
    assert items.attachment_object_key(bad) not in attachment_stack.object_keys()


def test_a_file_refused_after_the_confirmation_brings_one_email_over_smtp(
    attachment_stack: AttachmentStack, maildev: Any, tmp_path: Any
) -> None:
    """The whole path on real engines: the confirmation goes out while a file is still on its
    way; the file lands, the checker refuses it, the stream brings the notifier one email."""
    live = attachment_stack.live
    mail = MailStack(live.base_url, live.table_name, live.endpoint, live.key_dir, maildev=maildev,
                     state_dir=tmp_path / "state")
    photo = upload(attachment_stack, "image/jpeg", files.jpeg_with_gps(), name="receipt.jpg")
    late = ask(attachment_stack, "image/jpeg", len(files.LINUX_EXECUTABLE), name="Ann Lee photo.jpg")
    attachment_stack.wait_checked([photo])
    body = {**payload_for(FORMS["return_request"], date.today(), email=CUSTOMER),
            "attachments": [photo, late["upload_id"]]}
    sent = requests.post(f"{live.base_url}/api/return-requests", data=json.dumps(body), timeout=10,
                         headers={"Content-Type": "application/json", "X-Form-Fill-Ms": "9000",
                                  "Sec-Fetch-Site": "same-origin"})
    assert sent.status_code == 201, sent.text
    reference = sent.json()["reference"]

    def ours() -> list[dict[str, Any]]:
        return [m for m in maildev.messages() if reference in m["subject"] and recipient(m) == CUSTOMER]

    with mail.reader():
        deadline = time.monotonic() + 60
        while not ours() and time.monotonic() < deadline:
            time.sleep(0.1)
        [confirmation] = ours()
        assert "File 2, a JPEG photo: being checked." in " ".join(confirmation["text"].split())
        post_file(late, files.LINUX_EXECUTABLE)
        attachment_stack.wait_checked([late["upload_id"]])
        while len(ours()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # and a little longer, for any email too many
        messages = ours()

    assert sorted(m["subject"] for m in messages) == sorted([
        confirmation["subject"], f"We could not accept a file you sent ({reference})"])
    refusal = next(m for m in messages if m["subject"].startswith("We could not"))
    assert "File 2, a JPEG photo" in refusal["text"] and "Ann Lee" not in refusal["text"]
