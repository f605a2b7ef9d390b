"""Aftercare's public API: routes only. The rules live in chalicelib."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from chalice import Chalice, Response
from chalicelib import notify, openapi, pages, unsubscribe, web
from chalicelib.antispam import TOO_FAST_MESSAGE, Verdict, screen
from chalicelib.catalog import catalog
from chalicelib.crypto import KeyServiceUnavailable, RecipientSeal
from chalicelib.emails import notification_policy
from chalicelib.forms import FORMS, FormKind, InvalidSubmission, WarrantyStatusQuery, validate
from chalicelib.intake import AlreadyClaimed, IdempotencyKeyReused, Intake
from chalicelib.mailer import MailSettings
from chalicelib.policy import data_policy
from chalicelib.references import is_reference
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.storage import StorageUnavailable, WriteConflict
from chalicelib.warranty import NoSuchWarranty, WarrantyLookup

app = Chalice(app_name="aftercare")
app.log.setLevel(logging.INFO)
ANY_CONTENT_TYPE = ["*/*"]  # checked in chalicelib.web, so a wrong type gets our own 415
OUTAGES = (StorageUnavailable, KeyServiceUnavailable, ConfigurationError)
# Chalice needs a stream ARN when the app loads; the deployed template puts the
# table's own stream in its place (infra/resources.yaml, Notifier).
STREAM_ARN = os.environ.get("AFTERCARE_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:000000000000:table/"
                            "aftercare/stream/local")
NO_SUCH_WARRANTY = (
    "We found no warranty for that serial number and email address. "
    "Check both against your registration, or send us an enquiry."
)


@cache
def get_intake() -> Intake:
    settings = Settings.from_environ(os.environ, base_dir=Path(__file__).parent)
    cipher = settings.cipher()
    return Intake(
        table=settings.table(),
        cipher=cipher,
        hasher=settings.subject_hasher(),
        policy=data_policy(),
        recipients=RecipientSeal(cipher),
    )


def get_warranty_lookup() -> WarrantyLookup:
    intake = get_intake()
    return WarrantyLookup(intake.table, intake.hasher, catalog(), intake.clock)


def answer(result: web.Answer) -> Response:
    return Response(body=result.body, status_code=result.status, headers=result.headers)


def decode_post() -> web.FormPost | Response:
    request = app.current_request
    try:
        return web.decode(dict(request.headers), request.raw_body)
    except web.BadRequest as problem:
        from_form = (request.headers.get("content-type") or "").startswith(web.FORM)
        return answer(web.problem_answer(from_form, problem.status, problem.message))


def back_link(post: web.FormPost, page: str) -> str:
    return post.referer_path if post.referer_path != "/" else page


def receive(form: FormKind) -> Response:
    post = decode_post()
    if isinstance(post, Response):
        return post
    back_to = back_link(post, form.page)
    verdict = screen(post)
    if verdict is Verdict.TOO_FAST:
        return answer(web.problem_answer(False, 400, TOO_FAST_MESSAGE))
    try:
        intake = get_intake()
        submission = validate(form.model, post.fields, today=intake.clock().date())
        if verdict is Verdict.DECOY:
            receipt = intake.pretend(form, submission)
        else:
            receipt = intake.receive(form, submission, post.idempotency_key)
    except InvalidSubmission as invalid:
        return answer(web.errors_answer(post.from_browser_form, invalid.errors, back_to))
    except AlreadyClaimed as taken:
        return answer(web.problem_answer(post.from_browser_form, 409, taken.message, back_to))
    except IdempotencyKeyReused:
        return answer(web.problem_answer(
            post.from_browser_form, 422,
            "This Idempotency-Key was already used for a different form. Use a new key.",
            back_to,
        ))
    except OUTAGES as outage:
        app.log.warning("could not store %s: %s: %s", form.kind, type(outage).__name__, outage)
        return answer(web.unavailable_answer(post.from_browser_form, back_to))
    if verdict is Verdict.DECOY:
        app.log.info("screened out a %s (honeypot); nothing stored", form.kind)
    else:
        app.log.info("stored %s %s%s", form.kind, receipt.reference,
                     " (replayed)" if receipt.replayed else "")
    if post.from_browser_form:
        return Response(body="", status_code=303,
                        headers={"Location": web.thanks_location(receipt.reference)})
    replayed = {"Idempotent-Replayed": "true"} if receipt.replayed else {}
    return answer(web.json_answer(201, receipt.answer, replayed))


@app.route("/enquiries", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_enquiry() -> Response:
    return receive(FORMS["enquiry"])


@app.route("/feedback", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_feedback() -> Response:
    return receive(FORMS["feedback"])


@app.route("/page-feedback", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_page_feedback() -> Response:
    return receive(FORMS["page_feedback"])


@app.route("/warranty-registrations", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_warranty_registration() -> Response:
    return receive(FORMS["warranty_registration"])


@app.route("/complaints", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_complaint() -> Response:
    return receive(FORMS["complaint"])


@app.route("/return-requests", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_return_request() -> Response:
    return receive(FORMS["return_request"])


@app.route("/warranty-status", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_warranty_status() -> Response:
    post = decode_post()
    if isinstance(post, Response):
        return post
    back_to = back_link(post, "/warranty/check/")
    try:
        query = validate(WarrantyStatusQuery, post.fields)
        status = get_warranty_lookup().status(query.serial_number, query.email)
    except InvalidSubmission as invalid:
        return answer(web.errors_answer(post.from_browser_form, invalid.errors, back_to))
    except NoSuchWarranty:
        return answer(web.problem_answer(post.from_browser_form, 404, NO_SUCH_WARRANTY, back_to))
    except OUTAGES as outage:
        app.log.warning("could not look up a warranty: %s: %s", type(outage).__name__, outage)
        return answer(web.unavailable_answer(post.from_browser_form, back_to))
    if post.from_browser_form:
        return answer(pages.warranty_status_page(status, back_to))
    return answer(web.json_answer(200, status.model_dump(mode="json")))


@app.route("/openapi.json", methods=["GET"])
def get_openapi() -> Response:
    return answer(web.json_answer(200, openapi.document(datetime.now(UTC).date())))


@app.route("/thanks", methods=["GET"])
def thanks() -> Response:
    reference = (app.current_request.query_params or {}).get("reference", "")
    if not is_reference(reference):
        return answer(web.problem_answer(True, 404, "That is not one of our references."))
    return answer(web.thanks_page(reference))


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


# -- Unsubscribe links (emails carry them; chalicelib.unsubscribe) ---------------

def unsubscribe_token() -> str:
    request = app.current_request
    token = (request.query_params or {}).get("token", "")
    if request.method == "POST" and not token:
        try:
            token = web.decode(dict(request.headers), request.raw_body).fields.get("token", "")
        except web.BadRequest:
            token = ""
    return str(token)


@app.route("/unsubscribe", methods=["GET"], content_types=ANY_CONTENT_TYPE)
def unsubscribe_page() -> Response:
    """The link in an email: a page with one button, so a mail scanner opening links unsubscribes no one."""
    token = unsubscribe_token()
    try:
        unsubscribe.verify(get_intake().hasher, token, get_intake().clock())
    except (unsubscribe.InvalidToken, unsubscribe.ExpiredToken) as problem:
        return answer(pages.unsubscribe_problem_page(isinstance(problem, unsubscribe.ExpiredToken)))
    except OUTAGES:
        return answer(web.unavailable_answer(True))
    return answer(pages.unsubscribe_confirm_page(token))


@app.route("/unsubscribe", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def unsubscribe_now() -> Response:
    """The page's button, and mail programs' one-click unsubscribe (RFC 8058): withdraw consent."""
    token = unsubscribe_token()
    intake = get_intake()
    try:
        now = intake.clock()
        reference = unsubscribe.verify(intake.hasher, token, now)
        intake.table.create_all([unsubscribe.request_item(reference, now, intake.policy)])
    except (unsubscribe.InvalidToken, unsubscribe.ExpiredToken) as problem:
        return answer(pages.unsubscribe_problem_page(isinstance(problem, unsubscribe.ExpiredToken)))
    except WriteConflict:
        pass  # the same click twice in one microsecond: recorded once is enough
    except OUTAGES as outage:
        app.log.warning("could not record an unsubscribe: %s", type(outage).__name__)
        return answer(web.unavailable_answer(True))
    app.log.info("unsubscribe requested for %s", reference)
    return answer(pages.unsubscribed_page())


# -- Emails, off the request path: the table's change stream drives them ----------

@cache
def get_notifier() -> notify.Notifier:
    settings = Settings.from_environ(os.environ, base_dir=Path(__file__).parent)
    mail = MailSettings.from_environ(os.environ)
    return notify.Notifier(
        table=settings.table(),
        recipients=RecipientSeal(settings.cipher()),
        hasher=settings.subject_hasher(),
        transport=mail.transport(),
        letterhead=mail.letterhead,
        policy=notification_policy(),
        data_policy=data_policy(),
        dead_letters=mail.dead_letter_sink(),
    )


@app.on_dynamodb_record(stream_arn=STREAM_ARN, name="notifier", batch_size=25,
                        starting_position="TRIM_HORIZON")
def notifier(event: Any) -> None:
    get_notifier().handle(event.to_dict().get("Records", []))


@app.schedule("cron(0 7 * * ? *)", name="digest")
def digest(event: Any) -> None:
    """Each morning, yesterday's submissions for the staff who asked for one mail a day."""
    notifier = get_notifier()
    notifier.send_digests((notifier.clock() - timedelta(days=1)).date())
