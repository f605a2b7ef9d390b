"""The HTTP edge: decoding form posts, and the answers browsers and clients get back.

Two kinds of client post the same forms. Scripts send JSON and read JSON
back; browsers without JavaScript send `application/x-www-form-urlencoded` and
are answered with a redirect to a thank-you page or a plain HTML page that
lists what to correct.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from chalicelib.forms import FieldError
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.forms.tracking import CaseProgress
from chalicelib.languages import N_, SOURCE_LANGUAGE, answer_language, say
from chalicelib.links import API_BASE as API_BASE  # re-exported: the doors build paths on it
from chalicelib.web import pages, progress_page

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
RETRY_AFTER_SECONDS = 5

# Fields a form may carry beside the model's own: never stored.
HONEYPOT_FIELD = "website"
# The language of the page a form was sent from (the site's Hindi pages send `hi`), so the
# answer can be in it: a transport field, like the honeypot, never part of a submission.
LANGUAGE_FIELD = "language"
IDEMPOTENCY_FIELD = "idempotency_key"
MAX_IDEMPOTENCY_KEY = 128
# Every form is a flat object of a dozen fields: these bounds leave room and
# keep a hostile body from costing more than a look.
MAX_DEPTH = 8
MAX_MEMBERS = 200  # object members and form fields, over the whole body
MAX_NUMBER_DIGITS = 40
MAX_FILL_MILLISECONDS = 999_999_999  # eleven days and a half: more is not a fill time

# The request headers the API reads from a browser (lower case): the CDN passes on
# these and no others (infra/resources.yaml, ApiOriginRequestPolicy).
VIEWER_HEADERS = ("content-type", "idempotency-key", "x-form-fill-ms", "origin", "referer", "sec-fetch-site",
                  "accept-language")
# Where a post came from, by what the browser says (a script may say anything).
SAME_SITE = "same-site"
CROSS_SITE = "cross-site"
UNKNOWN_SITE = "unknown"
FETCH_SITES = ("same-origin", "same-site", "cross-site", "none")  # what browsers send in Sec-Fetch-Site


class BadRequest(Exception):
    """The request as a whole cannot be read (status 400, 413 or 415).

    `field` names the header at fault, or is empty for the body as a whole.
    """

    def __init__(self, status: int, message: str, field: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


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
    site: str = UNKNOWN_SITE  # SAME_SITE, CROSS_SITE or UNKNOWN_SITE (see `origin_of`)
    # The language to answer in: the page's (LANGUAGE_FIELD), else the client's Accept-Language, else
    # English; always one of the site's languages (`answer_language`).
    language: str = SOURCE_LANGUAGE


def decode(headers: dict[str, str], body: bytes | None, site_origins: tuple[str, ...] = ()) -> FormPost:
    """Decode a POST body, or raise BadRequest with the status and a message for people.

    `headers` have lower-case names; `site_origins` are the site's own origins
    (besides the request's Host) that a browser's Origin header may name.
    """
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
    fields = _form_fields(text) if from_browser_form else _json_fields(text)
    honeypot = fields.pop(HONEYPOT_FIELD, None)
    language = fields.pop(LANGUAGE_FIELD, None)
    body_key = fields.pop(IDEMPOTENCY_FIELD, None)
    key = headers.get("idempotency-key")
    if key is None:
        key = body_key
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY):
        raise BadRequest(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
                         "Idempotency-Key")
    return FormPost(
        fields=fields,
        from_browser_form=from_browser_form,
        idempotency_key=key,
        honeypot_filled=bool(honeypot),
        fill_milliseconds=_fill_time(headers.get("x-form-fill-ms")),
        referer_path=_same_site_path(headers.get("referer")),
        site_origin=_origin(headers.get("origin")) or _origin(headers.get("referer")),
        site=origin_of(headers, site_origins),
        # A page of the site says its language in the form; its browser's Accept-Language is the
        # reader's, not the page's, so it counts for other clients only (no Sec-Fetch-Site).
        language=answer_language(
            language, None if "sec-fetch-site" in headers else headers.get("accept-language")),
    )


def _form_fields(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_MEMBERS)
    except ValueError:
        raise BadRequest(400, f"The form has too many fields: at most {MAX_MEMBERS}.") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise BadRequest(400, "A field was sent more than once; send each field once.")
    return fields


def _json_fields(text: str) -> dict[str, Any]:
    """JSON within bounds: depth, members, number sizes, no NaN or duplicate names."""
    if not text.strip():
        raise BadRequest(400, "Send the form's fields as a JSON object.")
    if _nesting_depth(text) > MAX_DEPTH:
        raise BadRequest(400, f"The JSON is nested too deeply: at most {MAX_DEPTH} levels.")
    members = 0

    def object_of(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal members
        members += len(pairs)
        if members > MAX_MEMBERS:
            raise BadRequest(400, f"The JSON has too many members: at most {MAX_MEMBERS}.")
        built = dict(pairs)
        if len(built) != len(pairs):
            raise BadRequest(400, "A field was sent more than once; send each field once.")
        return built

    try:
        fields = json.loads(text, object_pairs_hook=object_of, parse_int=_bounded_int,
                            parse_float=_bounded_float, parse_constant=_no_constant)
    except ValueError:  # json.JSONDecodeError, and numbers out of bounds
        raise BadRequest(400, "The body is not valid JSON.") from None
    if not isinstance(fields, dict):
        raise BadRequest(400, "Send the form's fields as a JSON object.")
    return fields


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without parsing (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif character in "]}":
            depth -= 1
    return deepest


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(text)


def _bounded_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_DIGITS else math.inf
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _fill_time(text: str | None) -> int | None:
    """The script's fill time in whole milliseconds; None when not sent."""
    if text is None:
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits[:12]) > MAX_FILL_MILLISECONDS:
        raise BadRequest(400, f"X-Form-Fill-Ms must be whole milliseconds, 0 to {MAX_FILL_MILLISECONDS}.",
                         "X-Form-Fill-Ms")
    return int(digits)


def origin_of(headers: dict[str, str], site_origins: tuple[str, ...] = ()) -> str:
    """Whether a browser says the post came from our own site.

    Sec-Fetch-Site is set by the browser and cannot be changed by a page, so
    when present it decides. Otherwise Origin is compared with the request's
    Host and the site's own origins (behind the CDN the API's Host is not the
    site's). A post with neither is UNKNOWN_SITE: a script, or a very old browser.
    """
    sent = headers.get("sec-fetch-site")
    fetch_site = (sent or "").strip().lower()
    if sent is not None and fetch_site not in FETCH_SITES:
        raise BadRequest(400, "Sec-Fetch-Site is set by browsers: leave it out.", "Sec-Fetch-Site")
    if fetch_site in ("same-origin", "same-site"):
        return SAME_SITE
    if fetch_site == "cross-site":
        return CROSS_SITE
    origin = (headers.get("origin") or "").strip()
    if not origin or origin == "null":
        return UNKNOWN_SITE
    host = urlsplit(origin).netloc.lower()
    own = {(headers.get("host") or "").strip().lower()} | {urlsplit(o).netloc.lower() for o in site_origins}
    return SAME_SITE if host and host in own else CROSS_SITE


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


# The write may have been applied before the answer was lost: a retry with the same
# Idempotency-Key (or the same plain HTML form, resent) answers the first reference.
UNAVAILABLE_MESSAGE = N_(
    "We could not confirm that your form was saved; it may have been. Please try again in a moment: "
    "we recognise the same form sent again and do not store it twice."
)
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
    # The language of the page that posted (see FormPost.language): every word of the answer is in it.
    language: str = SOURCE_LANGUAGE

    @classmethod
    def to(cls, post: FormPost, page: str, form_kind: str | None = None) -> Reply:
        """Back to the page that posted, or else the form's own page."""
        typed = {name: value for name, value in post.fields.items() if isinstance(value, str)}
        back_to = post.referer_path if post.referer_path != "/" else pages.in_language(page, post.language)
        return cls(post.from_browser_form, back_to, form_kind, typed, post.language)

    def invalid(
        self, errors: list[FieldError], status: int = 400,
        message: str = N_("Please correct the fields listed."),
        *, extra: dict[str, Any] | None = None, more: str | None = None,
    ) -> Answer:
        """Every field to correct: the form itself again for a browser, the list for a script.

        `extra`: more members of the JSON answer; `more`: their HTML, shown after the form.
        """
        errors = [FieldError(e.field, say(self.language, e.message)) for e in errors]
        message = say(self.language, message)
        if self.html:
            again = pages.form_page(self.form_kind, self.typed, errors, after_form=more or "",
                                    language=self.language) if self.form_kind else None
            return html_answer(status, again or pages.errors_page(errors, self.back_to, more, self.language))
        return json_answer(status, {
            "message": message,
            "errors": [{"field": e.field, "message": e.message} for e in errors],
            **(extra or {}),
        })

    def problem(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, field: str = "",
        extra: dict[str, Any] | None = None, more: str | None = None,
    ) -> Answer:
        """An error answer; a 400 always lists `errors`, as the contract's 400 says.

        `extra`: more members of the JSON answer; `more`: their HTML for the page.
        """
        message = say(self.language, message)
        if self.html:
            page = pages.problem_page(message, self.back_to, more, kind=self.form_kind,
                                      language=self.language)
            return html_answer(status, page, headers)
        body: dict[str, Any] = {"message": message, **(extra or {})}
        if status == 400:
            body["errors"] = [{"field": field, "message": message}]
        return json_answer(status, body, headers)

    def unavailable(self) -> Answer:
        return self.problem(503, UNAVAILABLE_MESSAGE, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    def failed(self) -> Answer:
        """An error of ours that nothing in the request explains: no detail."""
        return self.problem(500, N_("Something went wrong on our side. Please try again later."))

    def stored(
        self, answer: dict[str, Any], *, replayed: bool, receipt: Callable[[], str],
        returns_to: str | None = None,
    ) -> Answer:
        """A browser goes back to its page's own thanks (`returns_to`, a vote) or on to the
        thank-you page with a signed `receipt`; a script reads the answer (201)."""
        if self.html:
            return Answer(303, "", {"Location": returns_to or thanks_location(receipt(), self.language)})
        return json_answer(201, answer, {"Idempotent-Replayed": "true"} if replayed else {})

    def warranty(self, status: WarrantyStatus) -> Answer:
        if self.html:
            return html_answer(200, pages.warranty_status_page(status, self.back_to, self.language))
        return json_answer(200, status.model_dump(mode="json"))

    def case_progress(self, progress: CaseProgress) -> Answer:
        if self.html:
            return html_answer(200, progress_page.case_progress_page(progress, self.back_to, self.language))
        return json_answer(200, progress.model_dump(mode="json"))


MAX_PREFILLED = 200  # characters a link may put in one field


def prefilled(kind: str, page: str, fields: tuple[str, ...], query: Mapping[str, str]) -> Answer:
    """A form's page with the values a link carries (`?page=/guides/...`), for `fields` only
    (those that hold nothing personal: a link's address is not private); else the plain page.
    `?language=hi` (an email's link in Hindi) shows the page in that language."""
    language = answer_language(query.get(LANGUAGE_FIELD))
    typed = {name: value for name, value in query.items() if name in fields and len(value) <= MAX_PREFILLED}
    shown = pages.form_page(kind, typed, [], posted=False, language=language)
    if shown is None:
        return Answer(303, "", {"Location": pages.in_language(page, language)})
    return html_answer(200, shown)


def thanks_location(receipt: str, language: str = SOURCE_LANGUAGE) -> str:
    """The thank-you page; in another language than English, it says which (nothing personal)."""
    in_language = f"&{LANGUAGE_FIELD}={quote(language)}" if language != SOURCE_LANGUAGE else ""
    return f"{API_BASE}/thanks?receipt={quote(receipt)}{in_language}"
