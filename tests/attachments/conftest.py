"""The attachments bucket on moto, beside the table and keys of `moto_account`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aftercare_local.paths import BACKEND
from aftercare_local.stack import LOCAL_CREDENTIALS
from chalicelib.store.bucket import AttachmentBucket, s3_client

from tests.conftest import LiveStack

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


# -- The local stack with its S3 engine (s3rver) and the checker following its events ----

@dataclass
class AttachmentStack:
    live: LiveStack
    engine: Any
    bucket: AttachmentBucket
    checked: list[str]

    def wait_checked(self, upload_ids: list[str], seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while not set(upload_ids) <= set(self.checked):
            if time.monotonic() > deadline:
                raise AssertionError(f"not checked in {seconds}s: {set(upload_ids) - set(self.checked)}")
            time.sleep(0.05)

    def live_environment(self) -> dict[str, str]:
        """What `aftercare` needs to work on this stack's table, keys and bucket."""
        return {
            **LOCAL_CREDENTIALS, "AFTERCARE_TABLE_NAME": self.live.table_name,
            "AFTERCARE_DYNAMODB_ENDPOINT": self.live.endpoint,
            "AFTERCARE_LOCAL_KEY_DIR": str(self.live.key_dir),
            "AFTERCARE_S3_ENDPOINT": self.engine.endpoint, "AFTERCARE_ATTACHMENTS_BUCKET": self.engine.bucket,
        }

    def object_keys(self) -> set[str]:
        return {key for key, _ in self.bucket.listing("")}


_CHECKED: dict[int, list[str]] = {}


@pytest.fixture(scope="session")
def attachment_stack(live_stack: LiveStack) -> Iterator[AttachmentStack]:
    """The live stack (DynamoDB Local, s3rver, the one-origin server), with the app's checker
    following s3rver's events in this process, as S3 invokes the checker function."""
    engine = live_stack.engine
    bucket = AttachmentBucket(engine.bucket, lambda: s3_client(
        engine.endpoint, "eu-west-1", boto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1")))
    # One follower per engine: each event line is read once, so a module that imports this
    # fixture (a second instance of it) shares the first one's list of checked uploads.
    first = id(engine) not in _CHECKED
    stack = AttachmentStack(live_stack, engine, bucket, _CHECKED.setdefault(id(engine), []))
    environment = stack.live_environment()
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    import app as app_module

    try:
        app_module.get_checker.cache_clear()

        def check(event: dict[str, Any]) -> None:
            app_module.check_upload(event, None)
            stack.checked.append(event["Records"][0]["s3"]["object"]["key"].rsplit("/", 1)[-1])

        if first:
            engine.on_new_upload(check)
        yield stack
    finally:
        app_module.get_checker.cache_clear()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
