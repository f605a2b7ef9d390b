"""Posting forms to the app on Chalice's test client, as scripts and as plain HTML forms do."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

# As the site's script sends them (with the fill time it measured; the browser adds
# Sec-Fetch-Site, which a page vote, timed by nothing, is screened by) and as a browser
# without JavaScript does (it says the post comes from the same site).
JSON_HEADERS = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}


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


class BuiltPage(HTMLParser):
    """An HTML answer read as a browser's accessibility tools would: elements by id, their text."""

    def __init__(self, page: str):
        super().__init__()
        self.elements: dict[str, dict[str, str]] = {}
        self.texts: dict[str, list[str]] = {}
        self.links: dict[str, list[tuple[str, list[str]]]] = {}
        self.title = ""
        self.stylesheets: list[str] = []
        self._open: list[tuple[str, str | None]] = []
        self._in_title = False
        self.feed(page)

    @property
    def stylesheets_of_the_site(self) -> list[str]:
        return [href for href in self.stylesheets if href.startswith("/assets/stylesheets/main.")]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "title":
            self._in_title = True
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href", ""))
        if tag == "a":
            for element_id in [i for _, i in self._open if i]:
                self.links.setdefault(element_id, []).append((attributes.get("href", ""), []))
        if "id" in attributes:
            self.elements[attributes["id"]] = attributes
            self.texts[attributes["id"]] = []
        if tag not in ("input", "link", "meta", "img", "br", "hr"):
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id].append(data)
                for _, words in self.links.get(element_id, [])[-1:]:
                    words.append(data)

    def control(self, element_id: str) -> dict[str, str]:
        """An element's attributes, and its text as `text` (a textarea's value)."""
        return {**self.elements[element_id], "text": self.text_of(element_id)}

    def text_of(self, element_id: str) -> str:
        return "".join(self.texts[element_id])

    def links_in(self, element_id: str) -> list[tuple[str, str]]:
        return [(href, "".join(words)) for href, words in self.links.get(element_id, [])]
