"""A hostile set posted to every route: bad input gets 4xx in the contract's shape, never a 500."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from chalicelib.forms import FORMS, WARRANTY_STATUS

ROUTES = [form.path for form in FORMS.values()] + [WARRANTY_STATUS.path]
DEEP = 1000


def valid(path: str) -> dict[str, Any]:
    form = next((f for f in FORMS.values() if f.path == path), WARRANTY_STATUS)
    return form.model.example(datetime.now(UTC).date())


def hostile_json(path: str) -> list[tuple[str, bytes]]:
    base = valid(path)
    first = next(iter(base))
    every_null = {name: None for name in base}
    return [
        ("deep arrays", b"[" * DEEP + b"]" * DEEP),
        ("deep objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        ("deep inside a field",
         json.dumps(base)[:-1].encode() + b', "x": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
        ("many keys", json.dumps({f"k{n}": 0 for n in range(5000)}).encode()),
        ("huge integer", f'{{"{first}": 1{"0" * 5000}}}'.encode()),
        ("huge float", f'{{"{first}": 1e999}}'.encode()),
        ("NaN", f'{{"{first}": NaN}}'.encode()),
        ("Infinity", f'{{"{first}": -Infinity}}'.encode()),
        ("invalid UTF-8", b'{"a": "\xff\xfe"}'),
        ("lone surrogate", json.dumps({**base, first: "\ud800"}).encode()),
        ("duplicate keys", f'{{"{first}": "a", "{first}": "b"}}'.encode()),
        ("array body", json.dumps([base]).encode()),
        ("string body", b'"hello"'),
        ("number body", b"123"),
        ("null body", b"null"),
        ("empty body", b""),
        ("every field null", json.dumps(every_null).encode()),
        ("very long string", json.dumps({**base, first: "x" * 60_000}).encode()),
        ("too large", json.dumps({first: "x" * 70_000}).encode()),
        ("wrong types", json.dumps({name: [{"$ne": 1}] for name in base}).encode()),
        ("objects for values", json.dumps({name: {"a": 1} for name in base}).encode()),
        ("null byte", json.dumps({**base, first: "a\u0000b"}).encode()),
    ]


def hostile_forms(path: str) -> list[tuple[str, bytes]]:
    first = next(iter(valid(path)))
    return [
        ("many fields", "&".join(f"k{n}=1" for n in range(5000)).encode()),
        ("invalid UTF-8 escapes", f"{first}=%ff%fe%fd".encode()),
        ("raw invalid UTF-8", b"a=\xff"),
        ("duplicate fields", f"{first}=a&{first}=b".encode()),
        ("null byte", f"{first}=a%00b".encode()),
        ("very long value", f"{first}={'x' * 60_000}".encode()),
        ("no equals signs", b"&&&==&"),
    ]


HEADER_SETS = [
    {"X-Form-Fill-Ms": "9" * 5000},
    {"X-Form-Fill-Ms": "-1e999"},
    {"Idempotency-Key": ""},
    {"Idempotency-Key": "k" * 5000},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "\u00ff" * 10},
]


def assert_answered(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.body[:300])
    if response.status_code == 400 and response.headers["Content-Type"].startswith("application/json"):
        assert response.json_body["errors"], what


@pytest.mark.parametrize("path", ROUTES)
def test_hostile_bodies_on_every_route_never_get_a_500(
    api: Any, moto_account: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    script = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000"}
    browser = {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
    for what, body in hostile_json(path):
        assert_answered(api.http.post(path, headers=script, body=body), what)
    for what, body in hostile_forms(path):
        assert_answered(api.http.post(path, headers=browser, body=body), what)
    for headers in HEADER_SETS:
        assert_answered(api.http.post(path, headers={**script, **headers}, body=json.dumps(valid(path))),
                        str(headers)[:80])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_deep_nesting_is_named_in_the_answer(api: Any, moto_account: Any) -> None:
    script = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000"}
    response = api.http.post("/enquiries", headers=script, body=b"[" * DEEP + b"]" * DEEP)
    assert response.status_code == 400
    assert "nested too deeply" in response.json_body["message"]
    assert response.json_body["errors"] == [{"field": "", "message": response.json_body["message"]}]


def test_hostile_queries_on_the_get_routes_never_get_a_500(api: Any, moto_account: Any) -> None:
    for reference in ["", "x" * 10_000, "%00", quote("\ud800", errors="surrogatepass"), "ENQ-AAAA-AAAA'--"]:
        assert api.http.get(f"/thanks?reference={reference}").status_code in (200, 404)
    assert api.http.get("/health").status_code == 200
    assert api.http.get("/openapi.json").status_code == 200


def test_an_unexpected_error_is_a_logged_500_with_no_detail(
    api: Any, chalice_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("ann.lee@example.com")

    monkeypatch.setattr(chalice_app.get_reception(), "submit", broken)
    body = json.dumps(valid("/enquiries"))
    response = api.http.post("/enquiries", headers={"Content-Type": "application/json"}, body=body)
    assert response.status_code == 500
    assert set(response.json_body) == {"message"} and "example.com" not in response.body.decode()
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "KeyError" in record.getMessage() and "example.com" not in record.getMessage()
    assert record.exc_info is None  # no traceback: its text could quote the input
