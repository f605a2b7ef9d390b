"""Aftercare's public API: routes only. Each decodes the request, makes one domain call and replies."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from chalice import Chalice, Response
from chalicelib import openapi, origin, pages, web
from chalicelib.bucket import BucketUnavailable
from chalicelib.checker import UploadChecker, landed_keys
from chalicelib.crypto import KeyServiceUnavailable
from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS, FieldError, FormKind, InvalidSubmission, validate
from chalicelib.forms.attachments import UploadRequest
from chalicelib.intake import AlreadyClaimed, IdempotencyKeyReused, Intake
from chalicelib.lifecycles import case_policy
from chalicelib.message_keys import case_message_cipher
from chalicelib.policy import data_policy
from chalicelib.receipts import NoReceipt
from chalicelib.reception import Reception, TooFast
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.storage import StorageUnavailable
from chalicelib.tracking import CaseTracker, NoSuchCase
from chalicelib.uploads import UploadDesk
from chalicelib.warranty import NoSuchWarranty

app = Chalice(app_name="aftercare")
app.log.setLevel(logging.INFO)
app.register_middleware(origin.guard(os.environ), "http")
ANY_CONTENT_TYPE = ["*/*"]  # checked in chalicelib.web, so a wrong type gets our own 415
OUTAGES = (StorageUnavailable, KeyServiceUnavailable, ConfigurationError, BucketUnavailable)
# Each domain refusal and its answer; None: the exception's own message is written for the customer.
PROBLEMS: dict[type[Exception], tuple[int, str | None]] = {
    TooFast: (400, None),
    NoSuchWarranty: (404, "We found no warranty for that serial number and email address. "
                          "Check both against your registration, or send us an enquiry."),
    NoSuchCase: (404, None),
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


def connect_tracker(clock: Callable[[], datetime]) -> CaseTracker:
    settings = Settings.from_environ(os.environ, base_dir=Path(__file__).parent)
    return CaseTracker(
        table=settings.table(),
        hasher=settings.subject_hasher(),
        messages=case_message_cipher(settings, os.environ.get("AFTERCARE_CASE_MESSAGE_ROLE_ARN")),
        policy=case_policy(),
        clock=clock,
    )


@cache
def get_reception() -> Reception:
    return Reception(connect, connect_tracker=connect_tracker)


def settings() -> Settings:
    return Settings.from_environ(os.environ, base_dir=Path(__file__).parent)


@cache
def get_uploads() -> UploadDesk:
    wiring = settings()
    return UploadDesk(wiring.table(), wiring.attachment_bucket(), clock=lambda: get_reception().clock())


@cache
def get_checker() -> UploadChecker:
    wiring = settings()
    return UploadChecker(wiring.table(), wiring.attachment_bucket(), clock=lambda: get_reception().clock())


def respond(answer: web.Answer) -> Response:
    return Response(body=answer.body, status_code=answer.status, headers=answer.headers)


def refused(reply: web.Reply, error: Exception, doing: str) -> Response:
    """The one map from a domain exception to its HTTP answer."""
    if isinstance(error, InvalidSubmission):
        return respond(reply.invalid(error.errors))
    if isinstance(error, AlreadyClaimed):
        # Said beside the field that holds the taken value (a serial number), as for any error.
        claim = [FieldError(error.field_name, error.message)]
        return respond(reply.invalid(claim, status=409, message=error.message))
    if isinstance(error, OUTAGES):
        app.log.warning("could not %s: %s: %s", doing, type(error).__name__, error)
        return respond(reply.unavailable())
    status, message = PROBLEMS[type(error)]
    return respond(reply.problem(status, message or str(error)))


def decode(page: str, form_kind: str | None = None) -> tuple[web.FormPost, web.Reply] | Response:
    request = app.current_request
    try:
        post = web.decode(dict(request.headers), request.raw_body)
    except web.BadRequest as problem:
        from_form = (request.headers.get("content-type") or "").startswith(web.FORM)
        return respond(web.Reply(from_form).problem(problem.status, problem.message))
    return post, web.Reply.to(post, page, form_kind)


HANDLED = (InvalidSubmission, *OUTAGES, *PROBLEMS)


def receive(form: FormKind) -> Response:
    decoded = decode(form.page, form.kind)
    if isinstance(decoded, Response):
        return decoded
    post, reply = decoded
    try:
        receipt = get_reception().submit(form, post)
    except HANDLED as error:
        return refused(reply, error, f"store {form.kind}")
    if receipt.screened_out:
        app.log.info("screened out a %s (honeypot); nothing stored", form.kind)
    else:
        app.log.info("stored %s %s%s", form.kind, receipt.reference,
                     " (replayed)" if receipt.replayed else "")
    return respond(reply.stored(
        receipt.answer, replayed=receipt.replayed,
        receipt=lambda: get_reception().sign_thanks(form.kind, receipt),
        returns_to=receipt.returns_to,
    ))


def route_form(form: FormKind) -> None:
    def post_form() -> Response:
        return receive(form)

    app.route(form.path, methods=["POST"], content_types=ANY_CONTENT_TYPE,
              name=f"post_{form.kind}")(post_form)
    if form.page == "/":
        return  # a form without a page of its own (a page vote) has nothing to show

    def show_form() -> Response:
        """The form's page, filled in from the link (`?page=...` from a guide's feedback link)."""
        query = app.current_request.query_params or {}
        return respond(web.prefilled(form.kind, form.page, form.model.open_fields(), query))

    app.route(form.path, methods=["GET"], name=f"get_{form.kind}")(show_form)


for each_form in FORMS.values():
    route_form(each_form)


def look_up(
    page: str, kind: str, doing: str, ask: Callable[[web.FormPost, web.Reply], web.Answer]
) -> Response:
    """A form that asks rather than stores: decode, ask the domain, answer (or refuse)."""
    decoded = decode(page, kind)
    if isinstance(decoded, Response):
        return decoded
    post, reply = decoded
    try:
        return respond(ask(post, reply))
    except HANDLED as error:
        return refused(reply, error, doing)


@app.route(WARRANTY_STATUS.path, methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_warranty_status() -> Response:
    return look_up(WARRANTY_STATUS.page, WARRANTY_STATUS.kind, "look up a warranty",
                   lambda post, reply: reply.warranty(get_reception().warranty_status(post)))


@app.route(TRACK.path, methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_track() -> Response:
    return look_up(TRACK.page, TRACK.kind, "track a case",
                   lambda post, reply: reply.case_progress(get_reception().track(post)))


@app.route("/uploads", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_upload() -> Response:
    decoded = decode("/")
    if isinstance(decoded, Response):
        return decoded
    post, reply = decoded
    try:
        request = validate(UploadRequest, post.fields)
        issued = get_uploads().issue(request)
    except HANDLED as error:
        return refused(reply, error, "issue an upload")
    return respond(web.json_answer(201, issued))


# Triggered by the attachments bucket's notification (infra/attachments.yaml): a plain
# Lambda function, as `chalice package` cannot package @app.on_s3_event.
@app.lambda_function(name="check_upload")
def check_upload(event: dict[str, Any], context: Any) -> None:
    for object_key in landed_keys(event):
        verdict = get_checker().check_landed(object_key)
        if verdict is not None:
            app.log.info("upload %s %s%s", verdict.upload_id, verdict.status,
                         f" ({verdict.reason})" if verdict.reason else "")


@app.route("/openapi.json", methods=["GET"])
def get_openapi() -> Response:
    return respond(web.json_answer(200, openapi.document(get_reception().clock().date())))


@app.route("/thanks", methods=["GET"])
def thanks() -> Response:
    receipt = (app.current_request.query_params or {}).get("receipt", "")
    try:
        sent = get_reception().thanks(receipt)
    except NoReceipt:
        return respond(web.html_answer(404, pages.no_thanks_page()))
    except OUTAGES as error:
        return refused(web.Reply(html=True), error, "read a thank-you receipt")
    return respond(web.html_answer(200, pages.thanks_page(sent)))


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}
