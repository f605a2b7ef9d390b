"""Attachments on the local stack: files in s3rver, its events run the checker, records in DynamoDB Local."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import requests
from chalicelib import items
from chalicelib.forms import FORMS

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack
from tests.samples import payload_for

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]


def upload(stack: AttachmentStack, content_type: str, data: bytes, form: str = "return_request",
           name: str | None = None) -> str:
    """Ask for an upload as the site's script does (from its own pages), then post the file."""
    asked = requests.post(f"{stack.live.base_url}/api/uploads", timeout=10, json={
        "form": form, "content_type": content_type, "size": len(data), **({"name": name} if name else {})},
        headers={"Sec-Fetch-Site": "same-origin"})
    assert asked.status_code == 201, asked.text
    issued = asked.json()
    sent = requests.post(issued["url"], data=issued["fields"], files={"file": ("photo", data)}, timeout=10)
    assert sent.status_code == 204, sent.text
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
