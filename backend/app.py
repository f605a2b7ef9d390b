"""Aftercare's public API: routes only. Each decodes the request, makes one domain call and replies."""

from __future__ import annotations

import gc
import logging
import os
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Response
from chalicelib.cases.tracking import CaseTracker, NoSuchCase
from chalicelib.crypto.exceptions import KeyServiceUnavailable
from chalicelib.crypto.keys import RecipientSeal
from chalicelib.crypto.message_keys import case_message_cipher
from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS, FieldError, FormKind, InvalidSubmission, validate
from chalicelib.forms.attachments import UploadRequest
from chalicelib.forms.products import CLAIM_TOPIC, claim_message
from chalicelib.intake.checker import UploadChecker, landed_keys
from chalicelib.intake.receiving import AlreadyClaimed, IdempotencyKeyReused, Intake
from chalicelib.intake.uploads import UploadDesk
from chalicelib.intake.warranty import NoSuchWarranty
from chalicelib.languages import N_, answer_language, say
from chalicelib.notify import unsubscribe
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.policy import data_policy
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.store.bucket import BucketUnavailable
from chalicelib.store.table import StorageUnavailable
from chalicelib.web import origin, pages
from chalicelib.web import posts as web
from chalicelib.web.receipts import NoReceipt
from chalicelib.web.reception import CrossSite, RateLimited, Reception, TooFast
from chalicelib.web.screening import PLAIN_FORMS_PER_WINDOW, PlainPostLimits

if TYPE_CHECKING:
    from chalicelib.inbound.handler import InboundDesk
    from chalicelib.notify.notifier import Notifier

app = Chalice(app_name="aftercare")
app.log.setLevel(logging.INFO)
app.register_middleware(origin.guard(os.environ), "http")
ANY_CONTENT_TYPE = ["*/*"]  # checked in chalicelib.web.posts, so a wrong type gets our own 415
OUTAGES = (StorageUnavailable, KeyServiceUnavailable, ConfigurationError, BucketUnavailable)
YOUNG_OBJECTS_BEFORE_COLLECTION = 50_000  # see the end of this module
# Chalice needs a stream ARN when the app loads; the deployed template puts the
# table's own stream in its place (infra/resources.yaml, Notifier).
STREAM_ARN = os.environ.get("AFTERCARE_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:000000000000:table/"
                            "aftercare/stream/local")
# Each domain refusal and its answer; None: the exception's own message is written for the customer.
PROBLEMS: dict[type[Exception], tuple[int, str | None]] = {
    TooFast: (400, None),
    CrossSite: (403, None),
    RateLimited: (429, None),
    NoSuchWarranty: (404, N_("We found no warranty for that serial number and email address. "
                             "Check both against your registration, or send us an enquiry.")),
    NoSuchCase: (404, None),
    AlreadyClaimed: (409, None),
    IdempotencyKeyReused: (422, N_("This Idempotency-Key was already used for a different form. "
                                   "Use a new key.")),
}


def connect(clock: Callable[[], datetime]) -> Intake:
    wiring = settings()
    cipher = wiring.cipher()
    return Intake(
        table=wiring.table(),
        cipher=cipher,
        hasher=wiring.subject_hasher(),
        policy=data_policy(),
        clock=clock,
        recipients=RecipientSeal(cipher),
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
    limit = PlainPostLimits.of(int(os.environ.get("AFTERCARE_PLAIN_POST_LIMIT") or PLAIN_FORMS_PER_WINDOW))
    return Reception(connect, connect_tracker=connect_tracker, limit=limit)


def settings() -> Settings:
    return Settings.from_environ(os.environ, base_dir=Path(__file__).parent)


@cache
def get_uploads() -> UploadDesk:
    wiring = settings()
    return UploadDesk(wiring.table(), wiring.attachment_bucket(), clock=lambda: get_reception().clock(),
                      cipher=wiring.cipher())


@cache
def get_checker() -> UploadChecker:
    wiring = settings()
    return UploadChecker(wiring.table(), wiring.attachment_bucket(), clock=lambda: get_reception().clock())


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


# The answer a refusal gets is shaped by how the request came (a form post gets a page, a
# script JSON); `decode` sets it for the request being answered, `guarded` reads it.
_reply: ContextVar[web.Reply | None] = ContextVar("reply", default=None)


def refused(reply: web.Reply, error: Exception, doing: str) -> Response:
    """The one map from a domain exception to its HTTP answer."""
    if isinstance(error, web.BadRequest):
        return respond(reply.problem(error.status, error.message, field=error.field))
    if isinstance(error, NoReceipt):
        return respond(web.html_answer(404, pages.no_thanks_page(reply.language)))
    if isinstance(error, (unsubscribe.InvalidToken, unsubscribe.ExpiredToken)):
        expired = isinstance(error, unsubscribe.ExpiredToken)
        return respond(web.html_answer(400, pages.unsubscribe_problem_page(expired, reply.language)))
    if isinstance(error, InvalidSubmission):
        return respond(reply.invalid(error.errors))
    if isinstance(error, AlreadyClaimed):
        return respond(contest(reply, error))
    if isinstance(error, OUTAGES):
        app.log.warning("could not %s: %s: %s", doing, type(error).__name__, error)
        return respond(reply.unavailable())
    status, message = PROBLEMS[type(error)]
    headers = {"Retry-After": str(RateLimited.retry_after)} if isinstance(error, RateLimited) else None
    return respond(reply.problem(status, message or str(error), headers))


def contest(reply: web.Reply, error: AlreadyClaimed) -> web.Answer:
    """A 409 that is not a dead end: the message beside the field that holds the taken value
    (a serial number), as for any error, and the way to claim it with proof of purchase."""
    taken = [FieldError(error.field_name, error.message)]
    if error.claim is None:
        return reply.invalid(taken, status=409, message=error.message)
    enquiry = FORMS["enquiry"]
    fields = {"topic": CLAIM_TOPIC, "order_reference": error.claim.value}
    message = say(reply.language, claim_message(error.claim.value))
    claim = {"path": enquiry.path, "fields": {**fields, "message": message}}
    more = pages.claim_form(web.API_BASE + enquiry.path, fields, message, web.HONEYPOT_FIELD,
                            typed=reply.typed,
                            language=reply.language)
    return reply.invalid(taken, status=409, message=error.message, extra={"claim": claim}, more=more)


def decode(page: str, form_kind: str | None = None) -> tuple[web.FormPost, web.Reply]:
    """The post, and the reply it will get; a post that cannot be read raises BadRequest."""
    request = app.current_request
    headers = {name.lower(): value for name, value in request.headers.items()}
    post = web.decode(headers, request.raw_body, site_origins())
    reply = web.Reply.to(post, page, form_kind)
    _reply.set(reply)
    return post, reply


Route = Callable[..., Response]


def guarded(doing: str, *, html: bool = False) -> Callable[[Route], Route]:
    """Every route's one answer to what goes wrong: a refusal or outage through `refused`; an
    error nothing in the request explains logged by type and place (never its message, which
    may quote the input) and answered 500 with no detail. `html`: a page a person opened."""

    if not isinstance(doing, str):  # `@guarded` without its words: refused at import, not per request
        raise TypeError('guarded needs what the route does, in words: @guarded("...")')

    def wrap(route: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(route)
        def answer(*args: Any, **kwargs: Any) -> Response:
            _reply.set(None)
            try:
                return route(*args, **kwargs)
            except HANDLED as error:
                reply = _reply.get() or web.Reply(html or _from_form())
                return refused(reply, error, doing)
            except Exception as error:
                return failed(route.__name__, error)

        return answer

    return wrap


def page_reply() -> web.Reply:
    """The reply a page someone opened gets, in the language its link names (`?language=hi`)."""
    query = app.current_request.query_params or {}
    reply = web.Reply(True, language=answer_language(query.get(web.LANGUAGE_FIELD)))
    _reply.set(reply)
    return reply


def _from_form() -> bool:
    return (app.current_request.headers.get("content-type") or "").startswith(web.FORM)


def failed(route_name: str, error: Exception) -> Response:
    where = traceback.extract_tb(error.__traceback__)[-1]
    app.log.error("unexpected %s in %s at %s:%s", type(error).__name__, route_name,
                  Path(where.filename).name, where.lineno)
    return respond(web.Reply(_from_form()).failed())


HANDLED = (InvalidSubmission, web.BadRequest, NoReceipt, unsubscribe.InvalidToken, unsubscribe.ExpiredToken,
           *OUTAGES, *PROBLEMS)


def receive(form: FormKind) -> Response:
    post, reply = decode(form.page, form.kind)
    receipt = get_reception().submit(form, post, client_address())
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
              name=f"post_{form.kind}")(guarded(f"store {form.kind}")(post_form))
    if form.page == "/":
        return  # a form without a page of its own (a page vote) has nothing to show

    def show_form() -> Response:
        """The form's page, filled in from the link (`?page=...` from a guide's feedback link)."""
        query = app.current_request.query_params or {}
        return respond(web.prefilled(form.kind, form.page, form.model.open_fields(), query))

    show = guarded(f"show {form.kind}", html=True)(show_form)
    app.route(form.path, methods=["GET"], name=f"get_{form.kind}")(show)


for each_form in FORMS.values():
    route_form(each_form)


@app.route(WARRANTY_STATUS.path, methods=["POST"], content_types=ANY_CONTENT_TYPE)
@guarded("look up a warranty")
def post_warranty_status() -> Response:
    post, reply = decode(WARRANTY_STATUS.page, WARRANTY_STATUS.kind)
    return respond(reply.warranty(get_reception().warranty_status(post, client_address())))


@app.route(TRACK.path, methods=["POST"], content_types=ANY_CONTENT_TYPE)
@guarded("track a case")
def post_track() -> Response:
    post, reply = decode(TRACK.page, TRACK.kind)
    return respond(reply.case_progress(get_reception().track(post, client_address())))


@app.route(TRACK.path, methods=["GET"])
@guarded("show the track page", html=True)
def get_track() -> Response:
    """The track page with the reference an email's link carries filled in (no script needed)."""
    query = app.current_request.query_params or {}
    return respond(web.prefilled(TRACK.kind, TRACK.page, TRACK.model.open_fields(), query))


@app.route("/uploads", methods=["POST"], content_types=ANY_CONTENT_TYPE)
@guarded("issue an upload")
def post_upload() -> Response:
    post, _ = decode("/")
    get_reception().screen_upload(post)
    request = validate(UploadRequest, post.fields)
    return respond(web.json_answer(201, get_uploads().issue(request)))


# Triggered by the attachments bucket's notification (infra/attachments.yaml): a plain
# Lambda function, as `chalice package` cannot package @app.on_s3_event.
@app.lambda_function(name="check_upload")
def check_upload(event: dict[str, Any], context: Any) -> None:
    for object_key in landed_keys(event):
        verdict = get_checker().check_landed(object_key)
        if verdict is not None:
            app.log.info("upload %s %s%s", verdict.upload_id, verdict.status,
                         f" ({verdict.reason})" if verdict.reason else "")


# Replies to case emails (chalicelib.inbound): SES stores each in the inbound bucket, whose
# notification (infra/inbound.yaml) calls this function with its own role. Loaded on first call.
@cache
def get_inbound() -> InboundDesk:
    from chalicelib.cases.book import CaseBook
    from chalicelib.inbound.handler import InboundDesk
    from chalicelib.notify.emails import notification_policy
    from chalicelib.notify.mailer import MailSettings

    wiring, mail = settings(), MailSettings.from_environ(os.environ)
    if not mail.reply_domain:
        raise ConfigurationError("AFTERCARE_REPLY_DOMAIN is not set")
    def clock() -> datetime:
        return get_reception().clock()

    return InboundDesk(
        book=CaseBook(wiring.table(), wiring.cipher(), case_policy(), clock),
        hasher=wiring.subject_hasher(), bucket=wiring.attachment_bucket(), domain=mail.reply_domain,
        clock=clock, tell=mail.transport().send, alert_sender=mail.letterhead.sender,
        alert_addresses={kind: alert.to for kind, alert in notification_policy().staff_alerts.items()},
        console_url=mail.letterhead.site_url,
    )


@app.lambda_function(name="inbound")
def inbound(event: dict[str, Any], context: Any) -> None:
    from chalicelib.inbound.handler import MAX_MESSAGE_BYTES

    mailbox = settings().inbound_mail_bucket()
    for object_key in landed_keys(event):
        raw, _ = mailbox.read(object_key, limit=MAX_MESSAGE_BYTES)
        get_inbound().receive(raw)
        mailbox.delete([object_key])  # what is kept is on the case; the raw message goes now


# The receipt rule asks this first (a synchronous Lambda action): mail that failed SPF, DKIM or
# DMARC, or carries a virus, is not stored (infra/inbound.yaml). It reads nothing and writes nothing.
@app.lambda_function(name="inbound_gate")
def inbound_gate(event: dict[str, Any], context: Any) -> dict[str, str]:
    from chalicelib.inbound.gate import disposition

    answer = disposition(event)
    app.log.info("inbound gate: %s", answer["disposition"])
    return answer


# The staff console: a function of its own with the staff role (infra/console.yaml), behind a
# function URL that only CloudFront's /staff/* behaviour reaches. Loaded on its first call:
# the public API's cold start never imports the staff desk.
@app.lambda_function(name="console")
def console(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.console.function import handle_event

    return handle_event(event)


# The console's exports: invoked by the console only (asynchronously, one job an invocation),
# with the time and memory a large spreadsheet needs and a role that can only read, decrypt and
# write the file (infra/console.yaml).
@app.lambda_function(name="console_exports")
def console_exports(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.console.function import handle_export_event

    return handle_export_event(event)


@app.route("/openapi.json", methods=["GET"])
@guarded("describe the API")
def get_openapi() -> Response:
    from chalicelib.web import openapi  # its schemas are built for this route only, not for every cold start

    return respond(web.json_answer(200, openapi.document(get_reception().clock().date())))


@app.route("/thanks", methods=["GET"])
@guarded("read a thank-you receipt", html=True)
def thanks() -> Response:
    language = page_reply().language
    receipt = (app.current_request.query_params or {}).get("receipt", "")
    sent = get_reception().thanks(receipt)
    return respond(web.html_answer(200, pages.thanks_page(sent, language)))


@app.route("/health", methods=["GET"])
def health() -> Response:
    return respond(web.json_answer(200, {"status": "ok"}))


# -- Unsubscribe links (emails carry them; chalicelib.notify.unsubscribe) ---------------

def unsubscribe_token() -> tuple[str, str]:
    """The link's token, and the language its pages are in (the link's, or the page's button's)."""
    request = app.current_request
    token = (request.query_params or {}).get("token", "")
    reply = page_reply()
    if request.method == "POST" and not token:
        # A token the body cannot give is an empty one: the page then says the link is not ours.
        readable = (request.headers.get("content-type") or "").startswith(web.FORM)
        if readable:
            post = web.decode(dict(request.headers), request.raw_body)
            token = post.fields.get("token", "")
            reply = web.Reply(True, language=post.language)
            _reply.set(reply)
    return str(token), reply.language


@app.route("/unsubscribe", methods=["GET"], content_types=ANY_CONTENT_TYPE)
@guarded("check an unsubscribe link", html=True)
def unsubscribe_page() -> Response:
    """The link in an email: a page with one button, so a mail scanner opening links unsubscribes no one."""
    token, language = unsubscribe_token()
    reception = get_reception()
    unsubscribe.verify(reception.intake.hasher, token, reception.clock())
    return respond(web.html_answer(200, pages.unsubscribe_confirm_page(token, language)))


@app.route("/unsubscribe", methods=["POST"], content_types=ANY_CONTENT_TYPE)
@guarded("record an unsubscribe", html=True)
def unsubscribe_now() -> Response:
    """The page's button, and mail programs' one-click unsubscribe (RFC 8058): withdraw consent."""
    token, language = unsubscribe_token()
    reception = get_reception()
    now = reception.clock()
    intake = reception.intake
    reference = unsubscribe.verify(intake.hasher, token, now)
    unsubscribe.record_request(intake.table, reference, now, intake.policy)
    app.log.info("unsubscribe requested for %s", reference)
    return respond(web.html_answer(200, pages.unsubscribed_page(language)))


# -- Emails, off the request path: the table's change stream drives them ----------
# The notifier and the digest run as functions of their own: they load the email modules
# on their first call, so a form's or a health check's cold start never pays for them.

@cache
def get_notifier() -> Notifier:
    from chalicelib.notify import notifier as notify
    from chalicelib.notify.emails import notification_policy
    from chalicelib.notify.mailer import MailSettings

    wiring = settings()
    mail = MailSettings.from_environ(os.environ)
    # In AWS the notifier's role may open recipient addresses and customer messages only.
    cipher = wiring.cipher()
    return notify.Notifier(
        table=wiring.table(),
        recipients=RecipientSeal(cipher),
        case_messages=cipher,
        hasher=wiring.subject_hasher(),
        transport=mail.transport(),
        letterhead=mail.letterhead,
        policy=notification_policy(),
        data_policy=data_policy(),
        dead_letters=mail.dead_letter_sink(),
        claim_lease=timedelta(seconds=mail.claim_lease_seconds) if mail.claim_lease_seconds
        else notify.CLAIM_LEASE,
        reply_domain=mail.reply_domain,
    )


@app.on_dynamodb_record(stream_arn=STREAM_ARN, name="notifier", batch_size=25,
                        starting_position="TRIM_HORIZON")
def notifier(event: Any) -> None:
    get_notifier().handle(event.to_dict().get("Records", []))


@app.schedule("cron(0 7 * * ? *)", name="digest")
def digest(event: Any) -> dict[str, str]:
    """Each morning, yesterday's submissions for the staff who asked for one mail a day, and the
    cases overdue today, each at most once a day; and the managers' weekly summary, at most once
    a week; however often this runs."""
    from chalicelib.notify.notifier import ask_again_what_is_due

    notifier = get_notifier()
    today = notifier.clock().date()
    outcomes = notifier.send_digests(today - timedelta(days=1))
    outcomes["overdue"] = notifier.send_overdue_digest(today)
    outcomes["weekly summary"] = notifier.send_weekly_summary(today)  # at most once a week
    # Emails whose sender stopped or whose backoff has passed: asked again, for the notifier to send.
    asked = ask_again_what_is_due(notifier.table, notifier.clock(), notifier.claim_lease)
    outcomes["asked again"] = str(len(asked))
    return outcomes


# -- The garbage collector, for a function that answers one request at a time -------
# What is loaded by now lives as long as the container: frozen, the cyclic
# collector never walks it again. Nearly every object a request makes is freed
# by reference counting once it is answered, so the collector runs when
# 50,000 new objects are pending rather than Python's 700: a short pause every
# few hundred requests instead of one request in six, whose walks over what
# recent requests left (a client's caches) were the slowest one in a hundred.
gc.freeze()
gc.set_threshold(YOUNG_OBJECTS_BEFORE_COLLECTION, 10, 10)
