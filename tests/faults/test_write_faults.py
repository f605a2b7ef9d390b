"""Writes that were applied but answered with an error: nothing lost, nothing stored twice.

DynamoDB Local takes every write; for about one write attempt in ten, a botocore
hook sends the request for real and then answers the client with a 500 or a read
timeout, as AWS does when a write is applied and its answer is lost. botocore
retries those with the very same request, and the intake must recognise its own
write in the conditional failure that follows.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session
from chalicelib.crypto.keys import LocalKeyProvider, LocalSubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FORMS, validate
from chalicelib.intake.receiving import Intake
from chalicelib.rules.policy import data_policy
from chalicelib.store.items import SORT_KEY, SUBMISSION_SORT_KEY
from chalicelib.store.table import StorageUnavailable, SubmissionTable, dynamodb_client, from_dynamodb

from tests.conftest import TEST_REGION, local_client

pytestmark = pytest.mark.dynamodb_local

POSTS = 200
FAULT_RATE = 0.10
WRITES = {"PutItem", "TransactWriteItems"}


class _Raw:
    def __init__(self, body: bytes):
        self._body = io.BytesIO(body)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body.read()


class AppliedThenFailed:
    """A before-send hook: applies a write, then loses its answer (500 or read timeout)."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.http = URLLib3Session()
        self.faults = Counter[str]()

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        operation = request.headers.get("X-Amz-Target", b"")
        operation = operation.decode() if isinstance(operation, bytes) else operation
        if operation.rsplit(".", 1)[-1] not in WRITES or self.random.random() >= FAULT_RATE:
            return None
        self.http.send(request)  # applied
        if self.random.random() < 0.5:
            self.faults["timeout"] += 1
            raise ReadTimeoutError(endpoint_url=request.url)
        self.faults["500"] += 1
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}'
        return AWSResponse(request.url, 500, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


@pytest.fixture
def faulty_intake(local_table: SubmissionTable, dynamodb_local_endpoint: str) -> Iterator[tuple[Intake, Any]]:
    import boto3

    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=TEST_REGION)
    client = dynamodb_client(dynamodb_local_endpoint, TEST_REGION, session)  # the app's retry config
    hook = AppliedThenFailed(seed=11)
    client.meta.events.register("before-send.dynamodb", hook)
    table = SubmissionTable(local_table.table_name, lambda: client)
    intake = Intake(table, SubmissionCipher(LocalKeyProvider.from_key(b"k" * 32)),
                    LocalSubjectHasher(b"s" * 32), data_policy())
    yield intake, hook


def stored_submissions(endpoint: str, table_name: str) -> list[dict[str, Any]]:
    pages = local_client(endpoint).get_paginator("scan").paginate(TableName=table_name)
    return [item for page in pages for raw in page["Items"]
            if (item := from_dynamodb(raw))[SORT_KEY] == SUBMISSION_SORT_KEY]


def enquiry(number: int) -> Any:
    body = {"name": "Ann Lee", "email": f"ann{number}@example.com", "topic": "warranty",
            "message": f"Question number {number}.", "marketing_consent": number % 3 == 0}
    return validate(FORMS["enquiry"].model, body, today=datetime.now(UTC).date())


@pytest.mark.parametrize("mode", ["idempotency-key", "no-key-json", "no-key-html-form"])
def test_applied_writes_answered_with_errors_are_neither_lost_nor_duplicated(
    faulty_intake: tuple[Intake, Any], dynamodb_local_endpoint: str, mode: str
) -> None:
    intake, hook = faulty_intake
    form = FORMS["enquiry"]
    answered: dict[int, str] = {}  # post -> the reference the client was given
    unanswered = 0  # 503s a client without a key cannot safely retry
    for number in range(POSTS):
        submission = enquiry(number)
        for _ in range(5):  # a client that retries what is safe to retry
            try:
                if mode == "idempotency-key":
                    receipt = intake.receive(form, submission, f"key-{number}")
                else:
                    receipt = intake.receive(form, submission, from_browser_form=mode == "no-key-html-form")
            except StorageUnavailable:
                if mode == "no-key-json":
                    unanswered += 1
                    break
                continue
            answered[number] = receipt.reference
            break
    stored = stored_submissions(dynamodb_local_endpoint, intake.table.table_name)
    hasher = LocalSubjectHasher(b"s" * 32)
    post_of = {subject_hash(hasher, f"ann{number}@example.com"): number for number in range(POSTS)}
    copies = Counter(post_of[item["subject_hash"]] for item in stored)
    reference_of = {post_of[item["subject_hash"]]: item["reference"] for item in stored}

    assert sum(hook.faults.values()) >= POSTS * FAULT_RATE / 2, hook.faults  # the faults did happen
    assert max(copies.values()) == 1  # nothing stored twice
    assert all(reference_of.get(number) == reference for number, reference in answered.items())  # 0 lost
    if mode == "no-key-json":
        assert len(answered) + unanswered == POSTS and len(stored) >= len(answered)
    else:
        assert len(answered) == POSTS and len(stored) == POSTS
