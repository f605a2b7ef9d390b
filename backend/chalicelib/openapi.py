"""The OpenAPI 3.1 document of the public API, generated from the form and answer models."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS, FormKind, Submission
from chalicelib.forms.answers import Problem, ValidationProblem, WarrantyStatus
from chalicelib.forms.attachments import IssuedUpload, UploadRequest
from chalicelib.forms.tracking import CaseProgress
from chalicelib.web import API_BASE, FORM, JSON, MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY, RETRY_AFTER_SECONDS

REF = "#/components/schemas/{model}"
HTML = "text/html"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _problem(description: str, model: type[BaseModel] = Problem, **extra: Any) -> dict[str, Any]:
    """An error answer: JSON for scripts, a plain HTML page for no-JavaScript form posts."""
    return {
        "description": description,
        "content": {JSON: {"schema": _ref(model)}, HTML: {"schema": {"type": "string"}}},
        **extra,
    }


SHARED_RESPONSES: dict[str, Any] = {
    "Invalid": _problem(
        "Some fields need correcting: every failing field is named, with a message for people.",
        ValidationProblem,
    ),
    "TooLarge": _problem(f"The body is larger than {MAX_BODY_BYTES // 1024} KB."),
    "UnsupportedType": _problem(f"The body is neither {JSON} nor {FORM}."),
    "Unavailable": _problem(
        "Nothing was stored; try again after the time given in Retry-After.",
        headers={"Retry-After": {
            "description": "Seconds to wait.",
            "schema": {"type": "integer", "example": RETRY_AFTER_SECONDS},
        }},
    ),
}
SHARED_PARAMETERS: dict[str, Any] = {
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes a retry answer the first reference and store nothing twice. "
                       "A form may send it as the hidden field `idempotency_key` instead.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
    },
    "FormFillMs": {
        "name": "X-Form-Fill-Ms",
        "in": "header",
        "required": False,
        "description": "Sent by the site's script: milliseconds since the form was shown.",
        "schema": {"type": "integer"},
    },
}


def _request_body(model: type[Submission], today: date) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            JSON: {"schema": _ref(model), "example": model.example(today)},
            FORM: {"schema": _ref(model)},
        },
    }


SHARED_STATUS = {"Invalid": "400", "TooLarge": "413", "UnsupportedType": "415", "Unavailable": "503"}


def _shared(*names: str) -> dict[str, Any]:
    return {SHARED_STATUS[name]: {"$ref": f"#/components/responses/{name}"} for name in names}


def _form_operation(form: FormKind, today: date) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "201": {
            "description": "Stored. Quote the reference in any later contact.",
            "headers": {"Idempotent-Replayed": {
                "description": "`true` when this answers a retry with the same Idempotency-Key.",
                "schema": {"type": "string", "enum": ["true"]},
            }},
            "content": {JSON: {"schema": _ref(form.model.answer_model)}},
        },
        "303": {
            "description": "A plain HTML form post was stored: on to the thank-you page.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **_shared("Invalid"),
    }
    if form.model.unique_claims is not Submission.unique_claims:
        responses["409"] = _problem(
            "Already registered by someone; nothing about them is revealed. `errors` names the field.",
            ValidationProblem,
        )
    responses["422"] = _problem("This Idempotency-Key was already used for a different body.")
    responses.update(_shared("TooLarge", "UnsupportedType", "Unavailable"))
    return {
        "operationId": f"post_{form.kind}",
        "summary": f"Send a {form.title.lower()}",
        "description": (form.model.__doc__ or "").strip(),
        "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"},
                       {"$ref": "#/components/parameters/FormFillMs"}],
        "requestBody": _request_body(form.model, today),
        "responses": responses,
    }


def _warranty_status_operation(today: date) -> dict[str, Any]:
    return {
        "operationId": f"post_{WARRANTY_STATUS.kind}",
        "summary": "Look up a registered warranty",
        "description": "The serial number and the owner's email travel in the body, never in the URL. "
                       "An unknown serial and a wrong email get the same 404.",
        "requestBody": _request_body(WARRANTY_STATUS.model, today),
        "responses": {
            "200": {
                "description": "The warranty on that serial number (a plain HTML page for form posts).",
                "content": {JSON: {"schema": _ref(WarrantyStatus)}, HTML: {"schema": {"type": "string"}}},
            },
            **_shared("Invalid"),
            "404": _problem("No warranty matches both that serial number and that email address."),
            **_shared("TooLarge", "UnsupportedType", "Unavailable"),
        },
    }


def _track_operation(today: date) -> dict[str, Any]:
    return {
        "operationId": f"post_{TRACK.kind}",
        "summary": "Where a request stands",
        "description": "The reference and the email given with it travel in the body, never in the URL. "
                       "An unknown reference and a wrong email get the same 404. Only messages meant "
                       "for the customer are shown, never staff's internal notes.",
        "requestBody": _request_body(TRACK.model, today),
        "responses": {
            "200": {
                "description": "The request's status, steps and messages (a plain HTML page for form posts).",
                "content": {JSON: {"schema": _ref(CaseProgress)}, HTML: {"schema": {"type": "string"}}},
            },
            **_shared("Invalid"),
            "404": _problem("No request matches both that reference and that email address."),
            **_shared("TooLarge", "UnsupportedType", "Unavailable"),
        },
    }


def _upload_operation(today: date) -> dict[str, Any]:
    return {
        "operationId": "post_upload",
        "summary": "Ask to send one file with a form",
        "description": "Answers a presigned POST: the browser sends the file straight to storage, "
                       "which refuses another key, type or size. Name the `upload_id` in the form's "
                       "`attachments`. Each file is then checked by its content; one that is not what "
                       "it claims is removed and shown as refused.",
        "requestBody": {"required": True, "content": {JSON: {
            "schema": _ref(UploadRequest), "example": UploadRequest.example(today)}}},
        "responses": {
            "201": {"description": "Send the file with this POST.",
                    "content": {JSON: {"schema": _ref(IssuedUpload)}}},
            **_shared("Invalid", "TooLarge", "UnsupportedType", "Unavailable"),
        },
    }


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def document(today: date) -> dict[str, Any]:
    """The whole document; examples are dated relative to `today`, so they always validate."""
    request_models: list[type[BaseModel]] = [form.model for form in FORMS.values()]
    request_models += [WARRANTY_STATUS.model, TRACK.model, UploadRequest]
    answer_models: list[type[BaseModel]] = [form.model.answer_model for form in FORMS.values()]
    answer_models += [WarrantyStatus, CaseProgress, IssuedUpload, Problem, ValidationProblem]
    _, schemas = models_json_schema(
        [(model, "validation") for model in request_models]
        + [(model, "serialization") for model in dict.fromkeys(answer_models)],
        ref_template=REF,
    )
    paths: dict[str, Any] = {form.path: {"post": _form_operation(form, today)} for form in FORMS.values()}
    for form in FORMS.values():
        if form.page != "/":
            paths[form.path]["get"] = {
                "operationId": f"get_{form.kind}",
                "summary": f"The {form.title.lower()} form's page, filled in from the query "
                           "(only fields that hold nothing personal)",
                "responses": {"200": _page("The form, filled in."),
                              "303": {"description": "To the form's page, when the API has no copy of it."}},
            }
    paths[WARRANTY_STATUS.path] = {"post": _warranty_status_operation(today)}
    paths[TRACK.path] = {"post": _track_operation(today)}
    paths["/uploads"] = {"post": _upload_operation(today)}
    paths["/thanks"] = {"get": {
        "operationId": "get_thanks",
        "summary": "The thank-you page a plain HTML form post is sent on to",
        "parameters": [{
            "name": "receipt", "in": "query", "required": True, "schema": {"type": "string"},
            "description": "The signed, short-lived receipt the form post's redirect carries.",
        }],
        "responses": {
            "200": _page("Shows the reference and what the API worked out from the form."),
            "404": _page("A missing, altered or expired receipt: no reference is shown."),
        },
    }}
    paths["/health"] = {"get": {
        "operationId": "get_health",
        "summary": "Liveness",
        "responses": {"200": {"description": "Up.", "content": {JSON: {"schema": {
            "type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}}}}},
    }}
    token = {"name": "token", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "The signed, expiring token from the link in an email (names no person)."}
    paths["/unsubscribe"] = {
        "get": {
            "operationId": "get_unsubscribe",
            "summary": "The unsubscribe link in an email: a page with one button",
            "parameters": [token],
            "responses": {"200": _page("Asks to confirm."), "400": _page("Not a valid or current link.")},
        },
        "post": {
            "operationId": "post_unsubscribe",
            "summary": "Withdraw marketing consent (the page's button, or RFC 8058 one-click)",
            "parameters": [{**token, "required": False}],
            "description": "The token comes in the query (mail programs' one-click POST, whose "
                           f"{FORM} body is `List-Unsubscribe=One-Click`) or as the form field `token`.",
            "responses": {"200": _page("Consent withdrawn."), "400": _page("Not a valid or current link."),
                          "503": _page("Could not record it now; try again.")},
        },
    }
    paths["/openapi.json"] = {"get": {
        "operationId": "get_openapi",
        "summary": "This document",
        "responses": {"200": {
            "description": "OpenAPI 3.1.", "content": {JSON: {"schema": {"type": "object"}}},
        }},
    }}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Aftercare",
            "version": "1",
            "description": "After-sales forms: enquiries, feedback, warranties, complaints and returns. "
                           f"Every form takes {JSON} (answered with JSON) or {FORM} (answered with a "
                           "redirect to a thank-you page or a plain HTML page listing the errors).",
        },
        "servers": [{"url": API_BASE}],
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "responses": SHARED_RESPONSES,
            "parameters": SHARED_PARAMETERS,
        },
    }
