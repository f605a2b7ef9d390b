"""Staff and attachments on the local engines: download (audited), erase with the person, sweep."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from aftercare_cli.main import cli
from chalicelib.forms import FORMS
from chalicelib.store import items
from click.testing import CliRunner

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack
from tests.attachments.test_on_local_stack import upload
from tests.samples import payload_for

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]


def send(stack: AttachmentStack, upload_ids: list[str], email: str) -> str:
    body = {**payload_for(FORMS["complaint"], date.today()), "email": email, "attachments": upload_ids}
    sent = requests.post(f"{stack.live.base_url}/api/complaints", data=json.dumps(body),
                         headers={"Content-Type": "application/json", "X-Form-Fill-Ms": "9000",
                                  "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert sent.status_code == 201, sent.text
    return str(sent.json()["reference"])


def aftercare(stack: AttachmentStack, *arguments: str) -> Any:
    result = CliRunner().invoke(cli, list(arguments), env=stack.live_environment(), catch_exceptions=False)
    return result


def test_staff_download_a_submissions_checked_files_and_the_download_is_audited(
    attachment_stack: AttachmentStack, tmp_path: Path
) -> None:
    photo = upload(attachment_stack, "image/jpeg", files.jpeg_with_gps(), form="complaint",
                   name="Jane Smith receipt.JPG")
    program = upload(attachment_stack, "image/jpeg", files.WINDOWS_EXECUTABLE, form="complaint",
                     name="setup.jpg")
    unnamed = upload(attachment_stack, "application/pdf", files.pdf(), form="complaint")
    attachment_stack.wait_checked([photo, program, unnamed])
    reference = send(attachment_stack, [photo, program, unnamed], "get.files@example.com")
    result = aftercare(attachment_stack, "attachments", "get", reference, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["name"], r["check"]) for r in rows] == [
        ("Jane Smith receipt.JPG", "accepted"), ("setup.jpg", "refused"), (f"{reference}-3.pdf", "accepted")]
    assert "upload_id" not in rows[0] and photo not in result.output
    assert rows[1]["refusal"] and rows[1]["saved"] is None
    saved = tmp_path / "Jane Smith receipt.JPG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([saved.name, f"{reference}-3.pdf"])
    assert rows[0]["bytes"] == saved.stat().st_size
    assert not files.opened(saved.read_bytes()).getexif()
    audit = [i for i in attachment_stack.live.raw_items() if i.get("action") == "attachments.get"]
    assert [(a["item_count"], a["detail"]) for a in audit] == [(2, {"reference": reference})]


def test_file_names_are_stored_sealed(attachment_stack: AttachmentStack) -> None:
    named = upload(attachment_stack, "application/pdf", files.pdf(), form="complaint",
                   name="Jane Smith proof of purchase.pdf")
    attachment_stack.wait_checked([named])
    stored = json.dumps([i for i in attachment_stack.live.raw_items()], default=repr)
    assert "Jane Smith" not in stored
    record = next(i for i in attachment_stack.live.raw_items() if i.get("upload_id") == named)
    assert record[items.FILE_NAME_ATTRIBUTE]


def test_after_subject_erase_no_file_of_that_person_remains(attachment_stack: AttachmentStack) -> None:
    theirs = [upload(attachment_stack, "image/png", files.png_with_text(), "complaint") for _ in range(2)]
    others = upload(attachment_stack, "application/pdf", files.pdf(), form="complaint")
    attachment_stack.wait_checked([*theirs, others])
    send(attachment_stack, theirs, "erase.me@example.com")
    send(attachment_stack, [others], "keep.me@example.com")
    result = aftercare(attachment_stack, "subject", "erase", "--email", "erase.me@example.com", "--yes")
    assert result.exit_code == 0, result.output
    remaining = attachment_stack.object_keys()
    assert not {items.attachment_object_key(i) for i in theirs} & remaining
    assert items.attachment_object_key(others) in remaining


def test_the_sweep_deletes_files_whose_upload_record_is_gone(attachment_stack: AttachmentStack) -> None:
    kept = upload(attachment_stack, "image/png", files.png_with_text(), form="complaint")
    orphan = upload(attachment_stack, "image/png", files.png_with_text(), form="complaint")
    attachment_stack.wait_checked([kept, orphan])
    attachment_stack.live.dynamodb().delete_item(
        TableName=attachment_stack.live.table_name,
        Key={"pk": {"S": items.upload_key(orphan)[0]}, "sk": {"S": items.upload_key(orphan)[1]}})
    result = aftercare(attachment_stack, "attachments", "sweep")
    assert result.exit_code == 0, result.output
    assert items.attachment_object_key(orphan) not in attachment_stack.object_keys()
    assert items.attachment_object_key(kept) in attachment_stack.object_keys()
