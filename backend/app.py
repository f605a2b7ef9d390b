"""Aftercare's public API: routes only. Each decodes the request, makes one domain call and replies."""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from datetime import datetime
from functools import cache, wraps
from pathlib import Path
from typing import Any

from chalice import Chalice, Response
from chalicelib import openapi, origin, pages, web
from chalicelib.antispam import PlainPostLimit
from chalicelib.crypto import KeyServiceUnavailable
from chalicelib.forms import FORMS, WARRANTY_STATUS, FormKind, InvalidSubmission
from chalicelib.forms.products import CLAIM_TOPIC, claim_message
from chalicelib.intake import AlreadyClaimed, IdempotencyKeyReused, Intake
from chalicelib.policy import data_policy
from chalicelib.reception import CrossSite, RateLimited, Reception, TooFast
from chalicelib.references import is_reference
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.storage import StorageUnavailable
from chalicelib.warranty import NoSuchWarranty

app = Chalice(app_name="aftercare")
app.log.setLevel(logging.INFO)
app.register_middleware(origin.guard(os.environ), "http")
ANY_CONTENT_TYPE = ["*/*"]  # checked in chalicelib.web, so a wrong type gets our own 415
OUTAGES = (StorageUnavailable, KeyServiceUnavailable, ConfigurationError)
# Each domain refusal and its answer; None: the exception's own message is written for the customer.
PROBLEMS: dict[type[Exception], tuple[int, str | None]] = {
    TooFast: (400, None),
    CrossSite: (403, None),
    RateLimited: (429, None),
    NoSuchWarranty: (404, "We found no warranty for that serial number and email address. "
                          "Check both against your registration, or send us an enquiry."),
    AlreadyClaimed: (409, None),
    IdempotencyKeyReused: (422, "This Idempotency-Key was already used for a different form. "
                                "Use a new key."),
}


def connect(clock: Callable[[], datetime]) -> Intake:
    settings = Settings.from_environ(os.environ, base_dir=Path(__file__).parent)
    return Intake(
        table=settings.table(),
        cipher=settings.cipher(),
        hasher=settings.subject_hasher(),
        policy=data_policy(),
        clock=clock,
    )


@cache
def get_reception() -> Reception:
    limit = PlainPostLimit(int(os.environ.get("AFTERCARE_PLAIN_POST_LIMIT") or PlainPostLimit.limit))
    return Reception(connect, limit=limit)


@cache
def site_origins() -> tuple[str, ...]:
    """The site's own origins (comma-separated), which a browser's Origin may name behind the CDN."""
    return tuple(o.strip() for o in os.environ.get("AFTERCARE_SITE_ORIGINS", "").split(",") if o.strip())


def client_address() -> str:
    """Who is posting, for the per-address limit: the CDN's viewer address, else the caller's."""
    request = app.current_request
    viewer = (request.headers.get("cloudfront-viewer-address") or "").rsplit(":", 1)[0]
    identity = (request.context or {}).get("identity") or {}
    return viewer or str(identity.get("sourceIp") or "")


def respond(answer: web.Answer) -> Response:
    return Response(body=answer.body, status_code=answer.status, headers=answer.headers)


def refused(reply: web.Reply, error: Exception, doing: str) -> Response:
    """The one map from a domain exception to its HTTP answer."""
    if isinstance(error, InvalidSubmission):
        return respond(reply.invalid(error.errors))
    if isinstance(error, OUTAGES):
        app.log.warning("could not %s: %s: %s", doing, type(error).__name__, error)
        return respond(reply.unavailable())
    if isinstance(error, AlreadyClaimed) and error.claim is not None:
        return respond(contest(reply, error))
    status, message = PROBLEMS[type(error)]
    headers = {"Retry-After": str(RateLimited.retry_after)} if isinstance(error, RateLimited) else None
    return respond(reply.problem(status, message or str(error), headers))


def contest(reply: web.Reply, error: AlreadyClaimed) -> web.Answer:
    """A 409 that is not a dead end: the way to claim the serial with proof of purchase."""
    assert error.claim is not None
    enquiry = FORMS["enquiry"]
    fields = {"topic": CLAIM_TOPIC, "order_reference": error.claim.value}
    claim = {"path": enquiry.path, "fields": {**fields, "message": claim_message(error.claim.value)}}
    more = pages.claim_form(web.API_BASE + enquiry.path, fields, claim_message(error.claim.value),
                            web.HONEYPOT_FIELD)
    return reply.problem(409, error.message, extra={"claim": claim}, more=more)


def decode(page: str) -> tuple[web.FormPost, web.Reply] | Response:
    request = app.current_request
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        post = web.decode(headers, request.raw_body, site_origins())
    except web.BadRequest as problem:
        from_form = (headers.get("content-type") or "").startswith(web.FORM)
        return respond(web.Reply(from_form).problem(problem.status, problem.message, field=problem.field))
    return post, web.Reply.to(post, page)


def guarded(route: Callable[..., Response]) -> Callable[..., Response]:
    """An error nothing in the request explains: logged by type and place (never its message,
    which may quote the input), answered 500 with no detail."""

    @wraps(route)
    def answer(*args: Any, **kwargs: Any) -> Response:
        try:
            return route(*args, **kwargs)
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            app.log.error("unexpected %s in %s at %s:%s", type(error).__name__, route.__name__,
                          Path(where.filename).name, where.lineno)
            from_form = (app.current_request.headers.get("content-type") or "").startswith(web.FORM)
            return respond(web.Reply(from_form).failed())

    return answer


HANDLED = (InvalidSubmission, *OUTAGES, *PROBLEMS)


def receive(form: FormKind) -> Response:
    decoded = decode(form.page)
    if isinstance(decoded, Response):
        return decoded
    post, reply = decoded
    try:
        receipt = get_reception().submit(form, post, client_address())
    except HANDLED as error:
        return refused(reply, error, f"store {form.kind}")
    if receipt.screened_out:
        app.log.info("screened out a %s (honeypot); nothing stored", form.kind)
    else:
        app.log.info("stored %s %s%s", form.kind, receipt.reference,
                     " (replayed)" if receipt.replayed else "")
    return respond(reply.stored(receipt.reference, receipt.answer, replayed=receipt.replayed))


def route_form(form: FormKind) -> None:
    def post_form() -> Response:
        return receive(form)

    app.route(form.path, methods=["POST"], content_types=ANY_CONTENT_TYPE,
              name=f"post_{form.kind}")(guarded(post_form))


for each_form in FORMS.values():
    route_form(each_form)


@app.route(WARRANTY_STATUS.path, methods=["POST"], content_types=ANY_CONTENT_TYPE)
@guarded
def post_warranty_status() -> Response:
    decoded = decode(WARRANTY_STATUS.page)
    if isinstance(decoded, Response):
        return decoded
    post, reply = decoded
    try:
        status = get_reception().warranty_status(post, client_address())
    except HANDLED as error:
        return refused(reply, error, "look up a warranty")
    return respond(reply.warranty(status))


@app.route("/openapi.json", methods=["GET"])
@guarded
def get_openapi() -> Response:
    return respond(web.json_answer(200, openapi.document(get_reception().clock().date())))


@app.route("/thanks", methods=["GET"])
@guarded
def thanks() -> Response:
    reference = (app.current_request.query_params or {}).get("reference", "")
    if not is_reference(reference):
        return respond(web.Reply(html=True).problem(404, "That is not one of our references."))
    return respond(web.html_answer(200, pages.thanks_page(reference)))


@app.route("/health", methods=["GET"])
def health() -> Response:
    return respond(web.json_answer(200, {"status": "ok"}))
