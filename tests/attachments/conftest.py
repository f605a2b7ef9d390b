"""The attachments bucket on moto, beside the table and keys of `moto_account`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalicelib.bucket import AttachmentBucket

TEST_BUCKET = "aftercare-attachments-test"


@pytest.fixture
def moto_bucket(moto_account: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[AttachmentBucket]:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=TEST_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    monkeypatch.setenv("AFTERCARE_ATTACHMENTS_BUCKET", TEST_BUCKET)
    yield AttachmentBucket(TEST_BUCKET, lambda: boto3.client("s3", region_name="eu-west-1"))


@pytest.fixture
def uploads_api(api: Any, chalice_app: Any, moto_bucket: AttachmentBucket) -> Iterator[Any]:
    chalice_app.get_uploads.cache_clear()
    chalice_app.get_checker.cache_clear()
    yield api
    chalice_app.get_uploads.cache_clear()
    chalice_app.get_checker.cache_clear()
