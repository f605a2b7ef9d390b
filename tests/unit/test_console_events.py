"""Which events each of the console's two functions takes: the console its function URL's requests
only, the exports function the console's export jobs only; each refuses the other's before it
builds anything (no settings, no AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalicelib.console import function
from chalicelib.console.function import (
    EXPORT_JOB,
    NotForThisFunction,
    export_event,
    export_job_of,
    handle_event,
    handle_export_event,
)
from chalicelib.settings import ConfigurationError

CONFIG = Path(__file__).resolve().parents[2] / "backend" / ".chalice" / "config.json"

URL_EVENT: dict[str, Any] = {
    "version": "2.0", "rawPath": "/staff/", "headers": {}, "requestContext": {"http": {"method": "GET"}},
}


@pytest.fixture
def nothing_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any attempt to build the console or the exports function's settings."""
    built: list[str] = []

    def console() -> Any:
        built.append("console")
        raise AssertionError("built the console")

    def settings() -> Any:
        built.append("settings")
        raise AssertionError("built the settings")

    monkeypatch.setattr(function, "_console", console)
    monkeypatch.setattr(function, "_settings", settings)
    return built


CONSOLE_REFUSES = [
    export_event("abc123", "sam.lee@shop.example"),
    {**URL_EVENT, EXPORT_JOB: "abc123", "actor": "sam.lee@shop.example"},
    {},
    {"Records": []},
]
EXPORTS_REFUSE = [
    URL_EVENT,
    {**export_event("abc123", "sam.lee@shop.example"), "requestContext": {"http": {"method": "GET"}}},
    {EXPORT_JOB: "abc123"},
    {EXPORT_JOB: "../abc", "actor": "sam.lee@shop.example"},
    {EXPORT_JOB: 12, "actor": "sam.lee@shop.example"},
    {EXPORT_JOB: "abc123", "actor": ""},
    {},
]


@pytest.mark.parametrize(("handler", "event"), [
    *[(handle_event, event) for event in CONSOLE_REFUSES],
    *[(handle_export_event, event) for event in EXPORTS_REFUSE],
])
def test_each_function_refuses_what_is_not_its_own_before_building_anything(
        nothing_built: list[str], handler: Any, event: dict[str, Any]) -> None:
    """The console takes no export job nor anything but its URL's requests; the exports function
    nothing but an export job."""
    with pytest.raises(NotForThisFunction):
        handler(event)
    assert nothing_built == []


def test_the_console_function_serves_its_urls_requests(nothing_built: list[str]) -> None:
    with pytest.raises(AssertionError, match="built the console"):
        handle_event(URL_EVENT)
    assert nothing_built == ["console"]


def test_the_exports_function_takes_the_job_the_console_sends(nothing_built: list[str]) -> None:
    sent = json.loads(json.dumps(export_event("abc123", "sam.lee@shop.example")))  # as invoked
    assert export_job_of(sent) == ("abc123", "sam.lee@shop.example")
    with pytest.raises(AssertionError, match="built the settings"):
        handle_export_event(sent)
    assert nothing_built == ["settings"]


def test_the_page_gives_a_job_up_when_the_exports_function_would_have_been_stopped() -> None:
    config = json.loads(CONFIG.read_text(encoding="utf-8"))["lambda_functions"]
    assert config["console_exports"]["lambda_timeout"] == function.EXPORT_SECONDS
    assert config["console_exports"]["lambda_timeout"] > config["console"]["lambda_timeout"]


def test_the_console_in_aws_is_told_the_exports_functions_name() -> None:
    environ = {
        "AFTERCARE_TABLE_NAME": "t", "AFTERCARE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:1:key/a",
        "AFTERCARE_SUBJECT_KEY_ID": "arn:aws:kms:eu-west-1:1:key/b", "AFTERCARE_STAFF_ISSUER": "https://i",
        "AFTERCARE_STAFF_CLIENT_ID": "c", "AFTERCARE_SITE_URL": "https://s",
    }
    with pytest.raises(ConfigurationError, match="AFTERCARE_EXPORTS_FUNCTION"):
        function.console_from(environ)
