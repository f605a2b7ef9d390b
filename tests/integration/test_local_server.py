"""The local one-origin server speaks HTTP as CloudFront and API Gateway do, under load too."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from aftercare_local import server, template
from aftercare_local.paths import BUILT_SITE, INFRA_TEMPLATE

from tests.conftest import LiveStack
from tests.integration.test_local_stack import ENQUIRY

# Every answer the local server gives, site or API, success or error.
EVERY_KIND_OF_ANSWER = [
    ("GET", "/", None),
    ("GET", "/no-such-page/", None),
    ("GET", "/api/health", None),
    ("GET", "/api/no-such-route", None),
    ("POST", "/api/enquiries", b"{bad"),
    ("POST", "/", b"{}"),
    ("TRACE", "/api/enquiries", None),
    ("TRACE", "/", None),
    ("BREW", "/api/health", None),
    ("GET", "/%00", None),
    ("GET", "/api/%00", None),
]


def connect(live: LiveStack) -> http.client.HTTPConnection:
    address = urlsplit(live.base_url)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=20)


def json_headers(live: LiveStack) -> dict[str, str]:
    # A same-site browser post with the form's timing signal, as the site's script sends it.
    return {"Content-Type": "application/json", "Origin": live.base_url,
            "Sec-Fetch-Site": "same-origin", "X-Form-Fill-Ms": "8000"}


def exchange(connection: http.client.HTTPConnection, method: str, path: str,
             body: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    return answer.status, answer.headers, answer.read()


def chunked(body: bytes, size: int = 7) -> list[bytes]:
    return [body[start:start + size] for start in range(0, len(body), size)]


def test_a_chunked_post_is_read_whole_and_the_next_request_on_the_connection_is_answered(
    live: LiveStack,
) -> None:
    connection = connect(live)
    body = json.dumps(ENQUIRY).encode()
    connection.request("POST", "/api/enquiries", body=iter(chunked(body)),
                       headers=json_headers(live), encode_chunked=True)
    answer = connection.getresponse()
    stored = json.loads(answer.read())
    assert answer.status == 201, stored
    [item] = live.submissions("enquiry")
    assert item["reference"] == stored["reference"]
    opened = live.cipher().open(item["personal"], kind="enquiry", reference=stored["reference"])
    assert opened["message"] == ENQUIRY["message"]
    status, _, health = exchange(connection, "GET", "/api/health")
    assert (status, json.loads(health)) == (200, {"status": "ok"})
    connection.close()


@pytest.mark.parametrize("framing", [
    b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    b"Transfer-Encoding: gzip\r\n",
])
def test_ambiguous_or_unknown_framing_is_refused_and_the_connection_closed(
    live: LiveStack, framing: bytes
) -> None:
    address = urlsplit(live.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"POST /api/enquiries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + framing + b"\r\n2\r\n{}\r\n0\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 ")
    assert received.count(b"HTTP/1.1 ") == 1, "a smuggled second request was answered"
    assert json.loads(received.split(b"\r\n\r\n", 1)[1])["message"]
    assert live.submissions() == []


def test_a_malformed_chunk_gets_400_in_the_api_shape(live: LiveStack) -> None:
    address = urlsplit(live.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"POST /api/enquiries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 ") and b"application/json" in head.lower()
    assert json.loads(body)["message"]


@pytest.mark.parametrize("path", ["/%00", "/guides/%00/", "/api/%00", "/api/enquiries%00"])
def test_a_null_byte_in_the_path_is_a_404_and_the_connection_lives_on(live: LiveStack, path: str) -> None:
    connection = connect(live)
    status, headers, _ = exchange(connection, "GET", path)
    assert status == 404 and headers["Content-Type"]
    assert exchange(connection, "GET", "/api/health")[0] == 200
    connection.close()


@pytest.mark.parametrize("path", ["/api/enquiries", "/api/health", "/"])
def test_trace_is_refused_in_the_api_error_shape(live: LiveStack, path: str) -> None:
    connection = connect(live)
    status, headers, body = exchange(connection, "TRACE", path, headers={"Cookie": "secret=1"})
    assert status == 405
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"message"}
    assert b"secret=1" not in body
    assert "TRACE" not in headers["Allow"]
    connection.close()


@pytest.mark.parametrize(("method", "path", "body"), EVERY_KIND_OF_ANSWER)
def test_every_answer_has_a_content_type_and_cloudfronts_security_headers(
    live: LiveStack, method: str, path: str, body: bytes | None
) -> None:
    expected = server.security_headers(template.load(INFRA_TEMPLATE), BUILT_SITE)
    connection = connect(live)
    status, headers, _ = exchange(connection, method, path, body,
                                  {"Content-Type": "application/json"} if body else {})
    assert status < 500
    assert headers.get("Content-Type"), f"{method} {path} has no Content-Type"
    for name, value in expected.items():
        assert headers.get_all(name) == [value], f"{method} {path}: {name}"
    connection.close()


def test_the_security_headers_include_the_policy_and_the_permissions_cloudfront_sends(
    live: LiveStack,
) -> None:
    connection = connect(live)
    _, headers, _ = exchange(connection, "GET", "/api/health")
    connection.close()
    policy = template.load(INFRA_TEMPLATE)["Resources"]["SiteHeadersPolicy"]["Properties"][
        "ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert headers["Content-Security-Policy"].startswith(csp.split(";")[0])
    assert "'sha256-" in headers["Content-Security-Policy"]
    [permissions] = [item["Value"] for item in policy["CustomHeadersConfig"]["Items"]
                     if item["Header"] == "Permissions-Policy"]
    assert headers["Permissions-Policy"] == permissions
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_visitor_cannot_forge_the_origin_header_past_the_local_server(live: LiveStack) -> None:
    # The server replaces it with the run's secret, as CloudFront does.
    connection = connect(live)
    status, _, _ = exchange(connection, "GET", "/api/health", headers={"X-Aftercare-Origin": "guess"})
    connection.close()
    assert status == 200


def test_32_clients_at_once_are_all_answered_without_a_reset(live: LiveStack) -> None:
    clients, rounds = 64, 5
    start = threading.Barrier(clients)
    failures: list[str] = []

    def client(_: int) -> int:
        start.wait()
        answered = 0
        try:
            connection = connect(live)
            for _ in range(rounds):
                status, headers, _ = exchange(connection, "GET", "/api/health")
                answered += status == 200 and headers["Connection"] != "close"
            connection.close()
        except OSError as error:
            failures.append(type(error).__name__)
        return answered

    with ThreadPoolExecutor(max_workers=clients) as pool:
        answered = sum(pool.map(client, range(clients)))
    assert failures == []
    assert answered == clients * rounds


def test_concurrent_valid_and_invalid_posts_each_get_their_own_answer(live: LiveStack) -> None:
    """Chalice keeps the current request on the app object; no answer may carry another's."""
    posts = 96
    start = threading.Barrier(32)

    def post(number: int) -> tuple[int, dict[str, Any], int, str]:
        if number < 32:
            start.wait()
        fields = dict(ENQUIRY, message=f"Which bracket fits wall number {number}?")
        if number % 3 == 1:
            fields["email"] = f"not-an-email-{number}"
        elif number % 3 == 2:
            fields.pop("message")
        connection = connect(live)
        status, _, body = exchange(connection, "POST", "/api/enquiries",
                                   json.dumps(fields).encode(), json_headers(live))
        connection.close()
        return number, json.loads(body), status, fields.get("message", "")

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(post, range(posts)))

    stored = {item["reference"]: item for item in live.submissions("enquiry")}
    for number, body, status, message in answers:
        if number % 3 == 0:
            assert status == 201, (number, body)
            item = stored.pop(body["reference"])
            opened = live.cipher().open(item["personal"], kind="enquiry", reference=body["reference"])
            assert opened["message"] == message
        else:
            assert status == 400, (number, body)
            wrong = {"email"} if number % 3 == 1 else {"message"}
            assert {error["field"] for error in body["errors"]} == wrong, (number, body)
    assert stored == {}
