"""The HTTP edge: decoding form posts, and the answers browsers and clients get back.

Two kinds of client post the same forms. Scripts send JSON and read JSON
back; browsers without JavaScript send `application/x-www-form-urlencoded` and
are answered with a redirect to a thank-you page or a plain HTML page that
lists what to correct.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from chalicelib import pages
from chalicelib.forms import FieldError
from chalicelib.forms.answers import WarrantyStatus

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
RETRY_AFTER_SECONDS = 5
API_BASE = "/api"  # where the site's origin sends the API (CloudFront and the local server)

# Fields a form may carry beside the model's own: never stored.
HONEYPOT_FIELD = "website"
IDEMPOTENCY_FIELD = "idempotency_key"
MAX_IDEMPOTENCY_KEY = 128


class BadRequest(Exception):
    """The request as a whole cannot be read (status 400, 413 or 415)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class FormPost:
    """A decoded body, with the transport fields taken out of it."""

    fields: dict[str, Any]
    from_browser_form: bool
    idempotency_key: str | None = None
    honeypot_filled: bool = False
    fill_milliseconds: int | None = None
    referer_path: str = "/"


def decode(headers: dict[str, str], body: bytes | None) -> FormPost:
    """Decode a POST body, or raise BadRequest with the status and a message for people."""
    content_type = (headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if content_type not in (JSON, FORM):
        raise BadRequest(415, f"Send the form as {JSON} or {FORM}.")
    raw = body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(413, f"The form is too large: send at most {MAX_BODY_BYTES // 1024} KB.")
    from_browser_form = content_type == FORM
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "Send the form as UTF-8 text.") from None
    if from_browser_form:
        fields: Any = dict(parse_qsl(text, keep_blank_values=True))
    else:
        try:
            fields = json.loads(text) if text.strip() else None
        except ValueError:
            raise BadRequest(400, "The body is not valid JSON.") from None
        if not isinstance(fields, dict):
            raise BadRequest(400, "Send the form's fields as a JSON object.")
    honeypot = fields.pop(HONEYPOT_FIELD, None)
    key = headers.get("idempotency-key") or fields.pop(IDEMPOTENCY_FIELD, None)
    fields.pop(IDEMPOTENCY_FIELD, None)
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY):
        raise BadRequest(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.")
    return FormPost(
        fields=fields,
        from_browser_form=from_browser_form,
        idempotency_key=key or None,
        honeypot_filled=bool(honeypot),
        fill_milliseconds=_int_or_none(headers.get("x-form-fill-ms")),
        referer_path=_same_site_path(headers.get("referer")),
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _same_site_path(referer: str | None) -> str:
    """Where 'back to the form' leads: the posting page's path, never another site."""
    if not referer:
        return "/"
    path = urlsplit(referer).path
    return path if path.startswith("/") and not path.startswith("//") else "/"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str]


NO_STORE = {"Cache-Control": "no-store"}
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}
JSON_TYPE = {"Content-Type": JSON}


def html_answer(status: int, page: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, page, {**HTML_TYPE, **NO_STORE, **(headers or {})})


def json_answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(body), {**JSON_TYPE, **NO_STORE, **(headers or {})})


@dataclass(frozen=True)
class Reply:
    """How to answer one request: a plain page for a browser's form post, JSON for scripts,
    and where the page's "back" link leads."""

    html: bool
    back_to: str = "/"

    @classmethod
    def to(cls, post: FormPost, page: str) -> Reply:
        """Back to the page that posted, or else the form's own page."""
        return cls(post.from_browser_form, post.referer_path if post.referer_path != "/" else page)

    def invalid(self, errors: list[FieldError]) -> Answer:
        if self.html:
            return html_answer(400, pages.errors_page(errors, self.back_to))
        return json_answer(400, {
            "message": "Please correct the fields listed.",
            "errors": [{"field": e.field, "message": e.message} for e in errors],
        })

    def problem(self, status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
        if self.html:
            return html_answer(status, pages.problem_page(message, self.back_to), headers)
        return json_answer(status, {"message": message}, headers)

    def unavailable(self) -> Answer:
        return self.problem(
            503,
            "We could not save your form just now. Nothing was stored; please try again in a moment.",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def stored(self, reference: str, answer: dict[str, Any], *, replayed: bool) -> Answer:
        """A browser goes on to the thank-you page; a script reads the answer (201)."""
        if self.html:
            return Answer(303, "", {"Location": thanks_location(reference)})
        return json_answer(201, answer, {"Idempotent-Replayed": "true"} if replayed else {})

    def warranty(self, status: WarrantyStatus) -> Answer:
        if self.html:
            return html_answer(200, pages.warranty_status_page(status, self.back_to))
        return json_answer(200, status.model_dump(mode="json"))


def thanks_location(reference: str) -> str:
    return f"{API_BASE}/thanks?reference={quote(reference)}"
