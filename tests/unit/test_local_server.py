"""The local server in-process: request isolation, the security headers' one definition, the origin secret."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import server, template
from aftercare_local.paths import INFRA_TEMPLATE
from chalice import Chalice


@contextlib.contextmanager
def running(app: Chalice, site_dir: Path, origin_secret: str | None = None,
            queue_seconds: float | None = None) -> Iterator[int]:
    httpd = server.make_server(0, site_dir, app, origin_secret=origin_secret, queue_seconds=queue_seconds)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def slow_echo_app() -> Chalice:
    """Reads app.current_request, yields the CPU, reads it again: any overlap shows."""
    app = Chalice(app_name="echo")

    @app.route("/echo", methods=["POST"])
    def echo() -> dict[str, Any]:
        first = app.current_request.json_body
        time.sleep(0.005)
        second = app.current_request.json_body
        return {"first": first, "second": second,
                "origin": app.current_request.headers.get("x-aftercare-origin")}

    return app


def post(port: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("POST", "/api/echo", json.dumps(body),
                       {"Content-Type": "application/json", **(headers or {})})
    answer = connection.getresponse()
    result = answer.status, json.loads(answer.read())
    connection.close()
    return result


def test_requests_handled_at_once_never_see_each_others_request(tmp_path: Path) -> None:
    with running(slow_echo_app(), tmp_path) as port, ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda n: (n, post(port, {"n": n})), range(128)))
    for number, (status, body) in answers:
        assert status == 200
        assert body["first"] == body["second"] == {"n": number}


def test_the_server_adds_the_origin_secret_over_whatever_the_client_sent(tmp_path: Path) -> None:
    with running(slow_echo_app(), tmp_path, origin_secret="run-secret") as port:
        _, body = post(port, {"n": 1}, {"X-Aftercare-Origin": "forged"})
    assert body["origin"] == "run-secret"


def test_without_an_origin_secret_nothing_is_added(tmp_path: Path) -> None:
    with running(slow_echo_app(), tmp_path) as port:
        _, body = post(port, {"n": 1}, {"X-Aftercare-Origin": "forged"})
    assert body["origin"] is None


def test_security_headers_are_read_from_the_cloudfront_policy() -> None:
    resources = template.load(INFRA_TEMPLATE)
    headers = server.security_headers(resources)
    config = resources["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert headers["Content-Security-Policy"] == \
        security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert headers["X-Frame-Options"] == security["FrameOptions"]["FrameOption"]
    assert headers["Referrer-Policy"] == security["ReferrerPolicy"]["ReferrerPolicy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"] == (
        f"max-age={security['StrictTransportSecurity']['AccessControlMaxAgeSec']}; includeSubDomains"
    )
    for item in config["CustomHeadersConfig"]["Items"]:
        assert headers[item["Header"]] == item["Value"]
    # Every header the policy configures, and nothing it does not.
    assert len(headers) == len(security) + len(config["CustomHeadersConfig"]["Items"])


def test_a_changed_policy_changes_what_the_local_server_sends() -> None:
    resources = template.load(INFRA_TEMPLATE)
    config = resources["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    config["SecurityHeadersConfig"]["FrameOptions"]["FrameOption"] = "SAMEORIGIN"
    config["CustomHeadersConfig"]["Items"].append({"Header": "X-Extra", "Value": "1", "Override": True})
    headers = server.security_headers(resources)
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Extra"] == "1"


def test_each_local_run_gives_the_app_and_the_server_one_new_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aftercare_local import __main__ as cli
    from chalicelib.web.origin import SECRET_VARIABLE

    monkeypatch.setenv(SECRET_VARIABLE, "from an earlier run")  # restored after the test
    given = cli.origin_secret()
    assert len(given) >= 32
    assert os.environ[SECRET_VARIABLE] == given
    assert cli.origin_secret() != given


def test_a_quiet_server_writes_nothing_per_request(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # The tests' server has its stderr on a pipe nobody reads until it exits:
    # a line per request would fill it and stall the server after a few thousand.
    app = slow_echo_app()
    httpd = server.make_server(0, tmp_path, app, log_requests=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        assert post(httpd.server_address[1], {"n": 1})[0] == 200
        connection = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=5)
        for _ in range(3):
            connection.request("GET", "/quiet-check")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 404
        connection.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "quiet-check" not in capfd.readouterr().err
    with running(app, tmp_path) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/loud-check")
        connection.getresponse().read()
        connection.close()
    assert "GET /loud-check 404" in capfd.readouterr().err


def held_app(release: threading.Event, started: threading.Semaphore) -> Chalice:
    """Each request holds its API slot until `release` is set."""
    app = Chalice(app_name="held")

    @app.route("/echo", methods=["POST"])
    def echo() -> dict[str, Any]:
        started.release()
        release.wait(timeout=30)
        return {"done": True}

    return app


def test_a_request_that_cannot_start_within_the_budget_gets_a_quick_503_with_retry_after(
    tmp_path: Path,
) -> None:
    release, started = threading.Event(), threading.Semaphore(0)
    with running(held_app(release, started), tmp_path, queue_seconds=0.3) as port, \
            ThreadPoolExecutor(max_workers=server.API_SLOTS) as pool:
        holders = [pool.submit(post, port, {"n": n}) for n in range(server.API_SLOTS)]
        for _ in holders:
            assert started.acquire(timeout=10)  # every slot is taken
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        began = time.monotonic()
        connection.request("POST", "/api/echo", "{}", {"Content-Type": "application/json"})
        answer = connection.getresponse()
        waited = time.monotonic() - began
        body = json.loads(answer.read())
        connection.close()
        release.set()
        held = [holder.result(timeout=20) for holder in holders]
        after = post(port, {"n": 9})

    assert answer.status == 503 and int(answer.headers["Retry-After"]) > 0
    assert body["message"] and answer.headers["Content-Type"].startswith("application/json")
    assert 0.25 <= waited < 5
    assert held == [(200, {"done": True})] * server.API_SLOTS and after == (200, {"done": True})


def test_the_budget_is_the_functions_lambda_timeout() -> None:
    assert server.function_seconds() == json.loads(server.CHALICE_CONFIG.read_text())["lambda_timeout"] == 15
