"""The presigned POST's policy lets through only the issued key, the declared type and the declared size."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.api.posting import post_json
from tests.attachments.conftest import TEST_BUCKET
from tests.attachments.post_policy import refusal

MB = 1024 * 1024
DECLARED = 5


@pytest.fixture
def issued(uploads_api: Any) -> dict[str, Any]:
    request = {"form": "complaint", "content_type": "image/png", "size": DECLARED}
    response = post_json(uploads_api, "/uploads", request)
    assert response.status_code == 201
    return response.json_body  # type: ignore[no-any-return]


def judged(fields: dict[str, str], size: int, now: datetime | None = None) -> str | None:
    secret = boto3.Session().get_credentials().secret_key  # the fake ones the app signed with
    return refusal(fields, size, bucket=TEST_BUCKET, now=now or datetime.now(UTC), secret=secret)


def test_the_file_as_issued_is_let_through(issued: dict[str, Any]) -> None:
    assert judged(issued["fields"], DECLARED) is None
    assert issued["max_bytes"] == DECLARED


@pytest.mark.parametrize("size", [0, DECLARED - 1, DECLARED + 1, 10 * MB, 10 * MB + 1])
def test_a_file_of_any_other_size_than_declared_is_refused(issued: dict[str, Any], size: int) -> None:
    assert judged(issued["fields"], size) == "file size outside content-length-range"


def test_another_content_type_is_refused(issued: dict[str, Any]) -> None:
    for other in ("image/jpeg", "application/x-msdownload", "text/html", ""):
        answer = judged({**issued["fields"], "Content-Type": other}, DECLARED)
        assert answer == "content-type does not match the policy"


def test_another_key_is_refused(issued: dict[str, Any]) -> None:
    for other in ("attachments/" + issued["upload_id"], "uploads/chosen-by-me", "index.html"):
        assert judged({**issued["fields"], "key": other}, DECLARED) == "key does not match the policy"


def test_an_extra_field_such_as_a_public_acl_is_refused(issued: dict[str, Any]) -> None:
    assert "without a condition" in str(judged({**issued["fields"], "acl": "public-read"}, DECLARED))


def test_the_post_expires_within_a_quarter_hour(issued: dict[str, Any]) -> None:
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert judged(issued["fields"], DECLARED, now=later) == "policy expired"


def test_a_policy_changed_after_signing_is_refused(issued: dict[str, Any]) -> None:
    policy = json.loads(base64.b64decode(issued["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "content-length-range" not in c]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    assert judged({**issued["fields"], "policy": forged}, 100 * MB) == "signature does not match the policy"
