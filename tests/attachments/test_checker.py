"""The checker function, triggered by the bucket: a landed upload is kept cleaned or removed."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests
from chalicelib.store import items
from chalicelib.store.bucket import AttachmentBucket

from tests.api.posting import freeze_clock, post_json
from tests.attachments import files
from tests.attachments.conftest import TEST_BUCKET

TODAY = date(2026, 11, 22)


def land(api: Any, content_type: str, data: bytes, form: str = "complaint") -> str:
    """Issue an upload and post the file to the bucket with its presigned POST, as a browser does."""
    issued = post_json(api, "/uploads", {"form": form, "content_type": content_type, "size": len(data)})
    assert issued.status_code == 201
    post = issued.json_body
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f", data)}, timeout=5)
    assert response.status_code in (200, 201, 204), response.text
    return str(post["upload_id"])


def trigger(api: Any, upload_id: str) -> Any:
    event = api.events.generate_s3_event(TEST_BUCKET, items.upload_object_key(upload_id))
    return api.lambda_.invoke("check_upload", event)


def checked(api: Any, chalice_app: Any, content_type: str, data: bytes) -> str:
    """Land a file and run the checker on it, as the bucket's event would."""
    freeze_clock(chalice_app, TODAY)
    upload_id = land(api, content_type, data)
    trigger(api, upload_id)
    return upload_id


def bucket_keys(bucket: AttachmentBucket) -> set[str]:
    return {key for key, _ in bucket.listing("")}


def record(account: Any, upload_id: str) -> dict[str, Any]:
    [found] = [i for i in account.raw_items() if i.get("upload_id") == upload_id]
    return found


def test_a_photo_is_kept_without_its_metadata_and_the_original_removed(
    uploads_api: Any, chalice_app: Any, moto_account: Any, moto_bucket: AttachmentBucket
) -> None:
    upload_id = checked(uploads_api, chalice_app, "image/jpeg", files.jpeg_with_gps())
    assert bucket_keys(moto_bucket) == {items.attachment_object_key(upload_id)}
    kept, content_type = moto_bucket.read(items.attachment_object_key(upload_id), limit=10**8)
    assert content_type == "image/jpeg"
    assert not files.opened(kept).getexif()
    stored = record(moto_account, upload_id)
    assert (stored["check"], stored["size"]) == ("checked", len(kept))


def test_an_executable_renamed_jpg_is_removed_and_its_upload_shows_refused(
    uploads_api: Any, chalice_app: Any, moto_account: Any, moto_bucket: AttachmentBucket
) -> None:
    upload_id = checked(uploads_api, chalice_app, "image/jpeg", files.WINDOWS_EXECUTABLE)
    assert bucket_keys(moto_bucket) == set()
    assert record(moto_account, upload_id)["check"] == "refused"


def test_a_png_sent_as_a_pdf_is_refused(
    uploads_api: Any, chalice_app: Any, moto_account: Any, moto_bucket: AttachmentBucket
) -> None:
    upload_id = checked(uploads_api, chalice_app, "application/pdf", files.png_with_text())
    assert bucket_keys(moto_bucket) == set()
    assert "is image/png" in record(moto_account, upload_id)["refusal"]


def test_an_object_nobody_issued_is_deleted(
    uploads_api: Any, moto_bucket: AttachmentBucket
) -> None:
    moto_bucket.write(items.upload_object_key("B" * 24), files.jpeg_with_gps(), content_type="image/jpeg")
    trigger(uploads_api, "B" * 24)
    assert bucket_keys(moto_bucket) == set()
