"""Shared fixtures: fake credentials, no network, the table from infra/, the app on moto,
and a live local stack (DynamoDB Local + the one-origin server) for HTTP and browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import processes
from aftercare_local import s3 as s3_local
from aftercare_local.paths import BACKEND, BUILT_SITE, REPO
from aftercare_local.processes import free_port
from chalicelib.crypto.keys import (
    LOCAL_DATA_KEY_FILE,
    LocalKeyProvider,
    SubmissionCipher,
    ensure_local_keys,
    read_local_key,
)
from chalicelib.notify import consents
from chalicelib.rules.policy import data_policy
from chalicelib.store.items import SORT_KEY, SUBMISSION_SORT_KEY
from chalicelib.store.table import SubmissionTable, from_dynamodb
from moto import mock_aws

# The local stack with email (MailDev and the stream reader): its fixtures.
pytest_plugins = ["tests.mailstack"]

TEST_REGION = "eu-west-1"
TEST_TABLE = "aftercare-test"  # the Chalice config's `test` stage


# -- Safety: fake credentials and no way out of this machine -------------------

@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    monkeypatch.setenv("AWS_REGION", TEST_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
        "127.0.0.1", "localhost", "::1", "::ffff:127.0.0.1"
    ):
        raise ConnectionRefusedError(f"tests may only connect to this machine, not {host}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# -- moto: the app's AWS services, in memory --------------------------------------

class StoredItems:
    """Reading back what a test stored, raw, as the table holds it."""

    table_name: str

    def dynamodb(self) -> Any:
        raise NotImplementedError

    def raw_items(self) -> list[dict[str, Any]]:
        pages = self.dynamodb().get_paginator("scan").paginate(TableName=self.table_name)
        return [from_dynamodb(raw) for page in pages for raw in page["Items"]]

    def record_consents(self) -> int:
        """What the notifier does for each new submission the stream hands it: the opt-ins it
        carries become consent records (chalicelib.notify.consents); a repeat writes nothing."""
        table = SubmissionTable(self.table_name, self.dynamodb)
        return sum(consents.record(table, item, data_policy().expires_at) for item in self.submissions())

    def submissions(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            item for item in self.raw_items()
            if item[SORT_KEY] == SUBMISSION_SORT_KEY and (kind is None or item["kind"] == kind)
        ]


@dataclass(frozen=True)
class MotoAccount(StoredItems):
    table_name: str
    data_key_id: str
    subject_key_id: str

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", region_name=TEST_REGION)

    def table(self) -> SubmissionTable:
        return SubmissionTable(self.table_name, self.dynamodb)


@pytest.fixture
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAccount]:
    """A moto account with the table from infra/ and the two KMS keys the app uses."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=TEST_REGION)
        dynamodb.create_table(TableName=TEST_TABLE, **dynamodb_local.table_definition())
        kms = boto3.client("kms", region_name=TEST_REGION)
        data_key = kms.create_key(Description="test data key")["KeyMetadata"]["Arn"]
        subject_key = kms.create_key(
            Description="test subject key", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"
        )["KeyMetadata"]["Arn"]
        monkeypatch.setenv("AFTERCARE_TABLE_NAME", TEST_TABLE)
        monkeypatch.setenv("AFTERCARE_KMS_KEY_ID", data_key)
        monkeypatch.setenv("AFTERCARE_SUBJECT_KEY_ID", subject_key)
        monkeypatch.delenv("AFTERCARE_LOCAL_KEY_DIR", raising=False)
        monkeypatch.delenv("AFTERCARE_DYNAMODB_ENDPOINT", raising=False)
        # A session-wide live stack names its S3 engine in the environment; moto is the only S3 here.
        monkeypatch.delenv("AFTERCARE_S3_ENDPOINT", raising=False)
        yield MotoAccount(TEST_TABLE, data_key, subject_key)


@pytest.fixture
def chalice_app(moto_account: MotoAccount) -> Iterator[Any]:
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    import app as app_module

    app_module.get_reception.cache_clear()
    yield app_module
    app_module.get_reception.cache_clear()


@pytest.fixture
def api(chalice_app: Any) -> Iterator[Any]:
    """Chalice's test client on the app, with project_dir set to backend/, on moto."""
    from chalice.test import Client

    with Client(chalice_app.app, stage_name="test", project_dir=str(BACKEND)) as client:
        yield client


# -- DynamoDB Local and the live stack ----------------------------------------------

@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """One in-memory DynamoDB Local for the session (AWS's own engine, on Java)."""
    with dynamodb_local.running(free_port(), data_dir=None) as endpoint:
        yield endpoint


def local_client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=TEST_REGION,
        aws_access_key_id="local", aws_secret_access_key="local",
    )


@pytest.fixture
def local_table(dynamodb_local_endpoint: str) -> Iterator[SubmissionTable]:
    """A fresh table on DynamoDB Local, built from the infra/ definition."""
    client = local_client(dynamodb_local_endpoint)
    name = f"aftercare-{uuid.uuid4().hex[:12]}"
    dynamodb_local.ensure_table(client, name)
    yield SubmissionTable(name, lambda: client)
    client.delete_table(TableName=name)


@dataclass
class LiveStack(StoredItems):
    """The one-origin server (site + API) over DynamoDB Local, as `make run` serves it."""

    base_url: str
    table_name: str
    endpoint: str
    key_dir: Path
    upload_origin: str | None = None  # the s3rver the server issues uploads to
    engine: Any = None  # that s3rver (aftercare_local.s3.S3Engine), to follow its events

    def dynamodb(self) -> Any:
        return local_client(self.endpoint)

    def cipher(self) -> SubmissionCipher:
        return SubmissionCipher(
            LocalKeyProvider.from_key(read_local_key(self.key_dir, LOCAL_DATA_KEY_FILE))
        )

    def clear(self) -> None:
        """Delete every item, so each test counts only what it stored."""
        client = self.dynamodb()
        for item in self.raw_items():
            client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
            )


@contextlib.contextmanager
def serving(endpoint: str, table_name: str, key_dir: Path, bucket: Any = None, *, port: int | None = None,
            extra_environment: dict[str, str] | None = None) -> Iterator[str]:
    """The server; with `bucket` (a running s3rver, aftercare_local.s3) it issues uploads to it;
    `port` and `extra_environment` for a console signing in with a provider that knows its port."""
    port = port or free_port()
    # Browser tests post many plain forms from one address; the limit itself is tested in-process.
    environment = {**os.environ, "AFTERCARE_PLAIN_POST_LIMIT": "100000", **(extra_environment or {})}
    if bucket is not None:
        environment.update(AFTERCARE_S3_ENDPOINT=bucket.endpoint, AFTERCARE_ATTACHMENTS_BUCKET=bucket.bucket)
    process = processes.start(
        [sys.executable, "-m", "aftercare_local", "serve", "--port", str(port),
         "--dynamodb-endpoint", endpoint, "--table", table_name, "--key-dir", str(key_dir)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                detail = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"local server exited: {detail[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/api/health", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base_url
    finally:
        processes.stop(process)


@pytest.fixture(scope="session")
def live_stack(
    dynamodb_local_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    if not (BUILT_SITE / "index.html").exists():
        pytest.fail("build the site first (`make test` does): build/site/index.html is missing")
    key_dir = tmp_path_factory.mktemp("keys")
    ensure_local_keys(key_dir)
    table_name = f"aftercare-live-{uuid.uuid4().hex[:8]}"
    dynamodb_local.ensure_table(local_client(dynamodb_local_endpoint), table_name)
    with s3_local.running(free_port(), None) as bucket, \
            serving(dynamodb_local_endpoint, table_name, key_dir, bucket) as base_url:
        yield LiveStack(base_url, table_name, dynamodb_local_endpoint, key_dir, bucket.endpoint, bucket)


@pytest.fixture
def live(live_stack: LiveStack) -> LiveStack:
    """The live stack with an empty table."""
    live_stack.clear()
    return live_stack


