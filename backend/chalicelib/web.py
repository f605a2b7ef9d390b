"""The HTTP edge: decoding form posts, and the answers browsers and clients get back.

Two kinds of client post the same forms. Scripts send JSON and read JSON
back; browsers without JavaScript send `application/x-www-form-urlencoded` and
are answered with a redirect to a thank-you page or a plain HTML page that
lists what to correct.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from chalicelib import pages, progress_page
from chalicelib.forms import FieldError
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.forms.tracking import CaseProgress

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
    site_origin: str | None = None  # the origin of the page that posted (Origin, else Referer)


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
        site_origin=_origin(headers.get("origin")) or _origin(headers.get("referer")),
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _origin(address: str | None) -> str | None:
    parts = urlsplit(address or "")
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme in ("http", "https") else None


def own_addresses_as_paths(
    fields: dict[str, Any], names: tuple[str, ...], origin: str | None
) -> dict[str, Any]:
    """Addresses pasted into `names` that are on the posting page's own site, as their paths."""
    if origin is None:
        return fields
    paths = {}
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and _origin(value.strip()) == origin:
            paths[name] = urlsplit(value.strip()).path or "/"
    return {**fields, **paths}


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
    form_kind: str | None = None
    # What the browser posted, to show its form again with what was typed.
    typed: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def to(cls, post: FormPost, page: str, form_kind: str | None = None) -> Reply:
        """Back to the page that posted, or else the form's own page."""
        typed = {name: value for name, value in post.fields.items() if isinstance(value, str)}
        back_to = post.referer_path if post.referer_path != "/" else page
        return cls(post.from_browser_form, back_to, form_kind, typed)

    def invalid(
        self, errors: list[FieldError], status: int = 400, message: str = "Please correct the fields listed."
    ) -> Answer:
        """Every field to correct: the form itself again for a browser, the list for a script."""
        if self.html:
            again = pages.form_page(self.form_kind, self.typed, errors) if self.form_kind else None
            return html_answer(status, again or pages.errors_page(errors, self.back_to))
        return json_answer(status, {
            "message": message,
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

    def stored(
        self, answer: dict[str, Any], *, replayed: bool, receipt: Callable[[], str],
        returns_to: str | None = None,
    ) -> Answer:
        """A browser goes back to its page's own thanks (`returns_to`, a vote) or on to the
        thank-you page with a signed `receipt`; a script reads the answer (201)."""
        if self.html:
            return Answer(303, "", {"Location": returns_to or thanks_location(receipt())})
        return json_answer(201, answer, {"Idempotent-Replayed": "true"} if replayed else {})

    def warranty(self, status: WarrantyStatus) -> Answer:
        if self.html:
            return html_answer(200, pages.warranty_status_page(status, self.back_to))
        return json_answer(200, status.model_dump(mode="json"))


    def case_progress(self, progress: CaseProgress) -> Answer:
        if self.html:
            return html_answer(200, progress_page.case_progress_page(progress, self.back_to))
        return json_answer(200, progress.model_dump(mode="json"))


MAX_PREFILLED = 200  # characters a link may put in one field


def prefilled(kind: str, page: str, fields: tuple[str, ...], query: Mapping[str, str]) -> Answer:
    """A form's page with the values a link carries (`?page=/guides/...`), for `fields` only
    (those that hold nothing personal: a link's address is not private); else the plain page."""
    typed = {name: value for name, value in query.items() if name in fields and len(value) <= MAX_PREFILLED}
    shown = pages.form_page(kind, typed, [], posted=False)
    return html_answer(200, shown) if shown else Answer(303, "", {"Location": page})


def thanks_location(receipt: str) -> str:
    return f"{API_BASE}/thanks?receipt={quote(receipt)}"
