"""The HTTP edge: decoding form posts, and the answers browsers and clients get back.

Two kinds of client post the same forms. Scripts send JSON and read JSON
back; browsers without JavaScript send `application/x-www-form-urlencoded` and
are answered with a redirect to a thank-you page or a plain HTML page that
lists what to correct.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from chalicelib.forms import FieldError

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
RETRY_AFTER_SECONDS = 5

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


def json_answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status,
        json.dumps(body),
        {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
    )


def errors_answer(post_from_form: bool, errors: list[FieldError], back_to: str) -> Answer:
    message = "Please correct the fields listed."
    if not post_from_form:
        return json_answer(
            400,
            {"message": message, "errors": [{"field": e.field, "message": e.message} for e in errors]},
        )
    items = "\n".join(
        f"<li>{escape(e.message)}</li>" for e in errors
    )
    body = f"""<h1>There is a problem with your form</h1>
<div role="alert">
<p>{len(errors)} {'thing needs' if len(errors) == 1 else 'things need'} correcting:</p>
<ul>
{items}
</ul>
</div>
<p>Use your browser's Back button to return to the form: what you typed is still there.</p>
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return html_answer(400, "There is a problem with your form", body)


def problem_answer(
    post_from_form: bool, status: int, message: str, back_to: str = "/",
    headers: dict[str, str] | None = None,
) -> Answer:
    if not post_from_form:
        return json_answer(status, {"message": message}, headers)
    body = f"""<h1>We could not take your form</h1>
<p role="alert">{escape(message)}</p>
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return html_answer(status, "We could not take your form", body, headers)


def unavailable_answer(post_from_form: bool, back_to: str = "/") -> Answer:
    return problem_answer(
        post_from_form,
        503,
        "We could not save your form just now. Nothing was stored; please try again in a moment.",
        back_to,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def thanks_location(reference: str) -> str:
    return f"/api/thanks?reference={quote(reference)}"


def thanks_page(reference: str) -> Answer:
    body = f"""<h1>Thank you</h1>
<p>We have your form. Your reference is</p>
<p class="reference"><strong>{escape(reference)}</strong></p>
<p>Please quote it if you contact us about this.</p>
<p><a href="/">Back to Aftercare</a></p>"""
    return html_answer(200, "Thank you", body)


def html_answer(
    status: int, title: str, body: str, headers: dict[str, str] | None = None
) -> Answer:
    page = Template(
        resources.files("chalicelib").joinpath("templates/page.html").read_text()
    ).substitute(title=escape(title), body=body)
    return Answer(
        status,
        page,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", **(headers or {})},
    )
