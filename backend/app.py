"""Aftercare's public API: routes only. The rules live in chalicelib."""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

from chalice import Chalice, Response
from chalicelib import web
from chalicelib.crypto import KeyServiceUnavailable
from chalicelib.forms import FORMS, FormKind, InvalidSubmission, validate
from chalicelib.intake import IdempotencyKeyReused, Intake
from chalicelib.policy import data_policy
from chalicelib.references import is_reference
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.storage import StorageUnavailable

app = Chalice(app_name="aftercare")
app.log.setLevel(logging.INFO)
ANY_CONTENT_TYPE = ["*/*"]  # checked in chalicelib.web, so a wrong type gets our own 415


@cache
def get_intake() -> Intake:
    settings = Settings.from_environ(os.environ, base_dir=Path(__file__).parent)
    return Intake(
        table=settings.table(),
        cipher=settings.cipher(),
        hasher=settings.subject_hasher(),
        policy=data_policy(),
    )


def answer(result: web.Answer) -> Response:
    return Response(body=result.body, status_code=result.status, headers=result.headers)


def receive(form: FormKind) -> Response:
    request = app.current_request
    try:
        post = web.decode(dict(request.headers), request.raw_body)
    except web.BadRequest as problem:
        from_form = (request.headers.get("content-type") or "").startswith(web.FORM)
        return answer(web.problem_answer(from_form, problem.status, problem.message))
    try:
        submission = validate(form.model, post.fields)
        receipt = get_intake().receive(form, submission, post.idempotency_key)
    except InvalidSubmission as invalid:
        return answer(web.errors_answer(post.from_browser_form, invalid.errors, post.referer_path))
    except IdempotencyKeyReused:
        return answer(web.problem_answer(
            post.from_browser_form, 422,
            "This Idempotency-Key was already used for a different form. Use a new key.",
            post.referer_path,
        ))
    except (StorageUnavailable, KeyServiceUnavailable, ConfigurationError) as outage:
        app.log.warning("could not store %s: %s: %s", form.kind, type(outage).__name__, outage)
        return answer(web.unavailable_answer(post.from_browser_form, post.referer_path))
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


@app.route("/thanks", methods=["GET"])
def thanks() -> Response:
    reference = (app.current_request.query_params or {}).get("reference", "")
    if not is_reference(reference):
        return answer(web.problem_answer(True, 404, "That is not one of our references."))
    return answer(web.thanks_page(reference))


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}
