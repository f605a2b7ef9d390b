"""The attachments bucket on moto, beside the table and keys of `moto_account`."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import s3
from aftercare_local.paths import BACKEND, BUILT_SITE
from aftercare_local.processes import free_port
from aftercare_local.stack import LOCAL_CREDENTIALS
from chalicelib.bucket import AttachmentBucket, s3_client
from chalicelib.crypto import ensure_local_keys

from tests.conftest import LiveStack, local_client, serving

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


@pytest.fixture(scope="session")
def attachment_stack(
    dynamodb_local_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AttachmentStack]:
    """DynamoDB Local, s3rver, the one-origin server, and the app's checker on s3rver's events."""
    if not (BUILT_SITE / "index.html").exists():
        pytest.fail("build the site first (`make test` does): build/site/index.html is missing")
    key_dir = tmp_path_factory.mktemp("keys")
    ensure_local_keys(key_dir)
    table_name = f"aftercare-attach-{uuid.uuid4().hex[:8]}"
    dynamodb_local.ensure_table(local_client(dynamodb_local_endpoint), table_name)
    with s3.running(free_port(), tmp_path_factory.mktemp("s3")) as engine:
        environment = {
            **LOCAL_CREDENTIALS, "AFTERCARE_TABLE_NAME": table_name,
            "AFTERCARE_DYNAMODB_ENDPOINT": dynamodb_local_endpoint,
            "AFTERCARE_LOCAL_KEY_DIR": str(key_dir),
            "AFTERCARE_S3_ENDPOINT": engine.endpoint, "AFTERCARE_ATTACHMENTS_BUCKET": engine.bucket,
        }
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            if str(BACKEND) not in sys.path:
                sys.path.insert(0, str(BACKEND))
            import app as app_module

            app_module.get_checker.cache_clear()
            checked: list[str] = []

            def check(event: dict[str, Any]) -> None:
                app_module.check_upload(event, None)
                checked.append(event["Records"][0]["s3"]["object"]["key"].rsplit("/", 1)[-1])

            engine.on_new_upload(check)
            bucket = AttachmentBucket(engine.bucket, lambda: s3_client(
                engine.endpoint, "eu-west-1", boto3.Session(
                    aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-west-1")))
            with serving(dynamodb_local_endpoint, table_name, key_dir, engine) as base_url:
                yield AttachmentStack(
                    LiveStack(base_url, table_name, dynamodb_local_endpoint, key_dir, engine.endpoint),
                    engine, bucket, checked,
                )
        finally:
            app_module.get_checker.cache_clear()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
