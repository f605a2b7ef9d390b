"""Posting forms to the app on Chalice's test client, as scripts and as plain HTML forms do."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

JSON_HEADERS = {"Content-Type": "application/json"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def post_json(api: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.http.post(
        path, headers={**JSON_HEADERS, **(headers or {})},
        body=body if isinstance(body, str | bytes) else json.dumps(body),
    )


def as_form_fields(body: dict[str, Any]) -> dict[str, str]:
    """What a browser posts for these values: ticked boxes as "on", unticked ones left out."""
    fields = {}
    for name, value in body.items():
        if value is True:
            fields[name] = "on"
        elif value is False and name == "marketing_consent":
            continue
        elif value is not None:
            fields[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return fields


def post_form(api: Any, path: str, body: dict[str, Any], referer: str | None = None) -> Any:
    headers = dict(FORM_HEADERS)
    if referer:
        headers["Referer"] = f"http://127.0.0.1:8000{referer}"
    return api.http.post(path, headers=headers, body=urlencode(as_form_fields(body)))


def freeze_clock(chalice_app: Any, day: date) -> None:
    """Make the app's 'now' a fixed day (noon UTC), for rules that depend on today."""
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    chalice_app.get_reception().clock = lambda: moment
