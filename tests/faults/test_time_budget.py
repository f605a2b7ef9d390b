"""The time budget: with DynamoDB or KMS hung, the answer is a 503 with Retry-After well inside
the Lambda's 15 s (the aim is 8 s), not a bare gateway timeout."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aftercare_local.paths import BACKEND
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.forms import FORMS

LAMBDA_TIMEOUT_SECONDS = 15
BUDGET_SECONDS = 8


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def app_client(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> Any:
    from chalice.test import Client

    for name in ("AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID", "AFTERCARE_LOCAL_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    import app as app_module

    app_module.get_reception.cache_clear()
    return Client(app_module.app, stage_name="test", project_dir=str(BACKEND))


def enquiry() -> dict[str, Any]:
    return FORMS["enquiry"].model.example(datetime.now(UTC).date())


def timed_post(client: Any, headers: dict[str, str], body: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.http.post("/enquiries", headers=headers, body=body)
    return response, time.monotonic() - started


def assert_unavailable_in_time(response: Any, elapsed: float) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed <= BUDGET_SECONDS < LAMBDA_TIMEOUT_SECONDS, f"answered after {elapsed:.1f} s"


def test_a_hung_table_answers_503_with_retry_after_inside_the_budget(
    hung_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_local_keys(tmp_path)
    client = app_client(monkeypatch, {
        "AFTERCARE_TABLE_NAME": "hung", "AFTERCARE_DYNAMODB_ENDPOINT": hung_endpoint,
        "AFTERCARE_LOCAL_KEY_DIR": str(tmp_path),
    })
    with client:
        script = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Idempotency-Key": "k-1"}
        assert_unavailable_in_time(*timed_post(client, script, json.dumps(enquiry())))
        # A plain form post reads the window before (its derived key) before it writes.
        browser = {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
        response, elapsed = timed_post(client, browser, urlencode(enquiry()))
        assert response.headers["Content-Type"].startswith("text/html")
        assert_unavailable_in_time(response, elapsed)


def test_a_hung_key_service_answers_503_with_retry_after_inside_the_budget(
    hung_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_client(monkeypatch, {
        "AFTERCARE_TABLE_NAME": "hung", "AFTERCARE_DYNAMODB_ENDPOINT": hung_endpoint,
        "AFTERCARE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:111122223333:key/0000-data",
        "AFTERCARE_SUBJECT_KEY_ID": "arn:aws:kms:eu-west-1:111122223333:key/0000-subject",
        "AWS_ENDPOINT_URL_KMS": hung_endpoint,
    })
    with client:
        script = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000"}
        assert_unavailable_in_time(*timed_post(client, script, json.dumps(enquiry())))
