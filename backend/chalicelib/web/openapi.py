"""The OpenAPI 3.1 document of the public API, generated from the form and answer models."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS, FormKind, Submission
from chalicelib.forms.answers import ConflictProblem, Problem, ValidationProblem, WarrantyStatus
from chalicelib.forms.attachments import IssuedUpload, UploadRequest
from chalicelib.forms.core import CONTRACT_NOTE
from chalicelib.forms.tracking import CaseProgress
from chalicelib.store.references import SIGNED_LINK_PATTERN
from chalicelib.web.posts import (
    API_BASE,
    FETCH_SITES,
    FORM,
    JSON,
    MAX_BODY_BYTES,
    MAX_FILL_MILLISECONDS,
    MAX_IDEMPOTENCY_KEY,
    RETRY_AFTER_SECONDS,
)
from chalicelib.web.reception import RateLimited
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS

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


def _retry_after(example: int) -> dict[str, Any]:
    return {"Retry-After": {
        "description": "Seconds to wait.", "required": True,
        "schema": {"type": "integer", "minimum": 1, "example": example},
    }}


SHARED_RESPONSES: dict[str, Any] = {
    "Invalid": _problem(
        "The request needs correcting: every failing field is named, with a message for people. "
        "A problem with the body as a whole (not JSON, nested too deeply, sent too fast) names the "
        "field `\"\"`; one with a header names the header.",
        ValidationProblem,
    ),
    "NotFromSite": _problem(
        "Not sent from the site's own pages: Sec-Fetch-Site or Origin names another site, or a "
        "post without X-Form-Fill-Ms says nothing of where it comes from."
    ),
    "TooMany": _problem(
        "Too many posts without X-Form-Fill-Ms from one address just now.",
        headers=_retry_after(RateLimited.retry_after),
    ),
    "TooLarge": _problem(f"The body is larger than {MAX_BODY_BYTES // 1024} KB."),
    "UnsupportedType": _problem(f"The body is neither {JSON} nor {FORM}."),
    "Unavailable": _problem(
        "Storage or the key service did not answer in time. The form may have been stored: send it "
        "again after Retry-After with the same Idempotency-Key (a plain HTML form, resent, is "
        "recognised by its content) and the first reference is answered; without a key, a "
        "script's retry may be stored twice.",
        headers=_retry_after(RETRY_AFTER_SECONDS),
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
        "description": "Sent by the site's script: milliseconds since the form was shown. Under "
                       f"{MINIMUM_FILL_MILLISECONDS} is refused (400). Without it, a post is held to the "
                       "plain-form rules: Sec-Fetch-Site or Origin must name this site, and each "
                       "address may send only a few such posts (429).",
        "schema": {"type": "integer", "minimum": MINIMUM_FILL_MILLISECONDS, "maximum": MAX_FILL_MILLISECONDS},
    },
    "VoteFillMs": {
        "name": "X-Form-Fill-Ms",
        "in": "header",
        "required": False,
        "description": "A vote is a single click, with no filling to time: any fill time is taken and "
                       "counts for nothing. A vote is held to the plain-form rules: Sec-Fetch-Site or "
                       "Origin must name this site, and each address may send only a few (429).",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_FILL_MILLISECONDS},
    },
    "Origin": {
        "name": "Origin",
        "in": "header",
        "required": False,
        "description": "Sent by browsers. Another site's origin is refused (403).",
        "schema": {"type": "string"},
    },
    "SecFetchSite": {
        "name": "Sec-Fetch-Site",
        "in": "header",
        "required": False,
        "description": "Sent by browsers; `cross-site` is refused (403), a value browsers never send (400).",
        "schema": {"type": "string", "enum": list(FETCH_SITES)},
    },
    "AcceptLanguage": {
        "name": "Accept-Language",
        "in": "header",
        "required": False,
        "description": "The language of the answer's words (messages, errors) for a client that is not a "
                       "page of the site (no Sec-Fetch-Site): the first of these the site is written in, "
                       "else English. A page of the site sends its own as the field `language` "
                       "(`hi` from a Hindi page), which is never stored as part of the form. Any value "
                       "is taken: one naming no language of the site is answered in English.",
        "schema": {"type": "string"},
    },
}
# A look-up stores nothing, so it is not refused for its speed: any fill time will do.
SHARED_PARAMETERS["LookupFillMs"] = {
    **SHARED_PARAMETERS["FormFillMs"],
    "description": "Sent by the site's script. Without it, a look-up is held to the plain-form "
                   "rules: Sec-Fetch-Site or Origin must name this site, and each address may "
                   "send only a few such posts (429).",
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_FILL_MILLISECONDS},
}
SCREENING_PARAMETERS = [{"$ref": f"#/components/parameters/{name}"}
                        for name in ("FormFillMs", "Origin", "SecFetchSite", "AcceptLanguage")]
VOTE_SCREENING_PARAMETERS = [{"$ref": f"#/components/parameters/{name}"}
                             for name in ("VoteFillMs", "Origin", "SecFetchSite", "AcceptLanguage")]
LOOKUP_PARAMETERS = [{"$ref": f"#/components/parameters/{name}"}
                     for name in ("LookupFillMs", "Origin", "SecFetchSite", "AcceptLanguage")]
# An upload is asked for by the site's script mid-form: screened by where it comes from only.
UPLOAD_PARAMETERS = [{"$ref": f"#/components/parameters/{name}"} for name in ("Origin", "SecFetchSite")]


FORM_SUFFIX = "Form"


def _request_body(model: type[Submission], today: date) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            JSON: {"schema": _ref(model), "example": model.example(today)},
            FORM: {"schema": {"$ref": REF.format(model=model.__name__ + FORM_SUFFIX)}},
        },
    }


def _form_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's schema as a plain HTML form sends it: a form has no null, so an optional
    field is left out (or sent empty) rather than null."""
    properties = {}
    for name, field in schema.get("properties", {}).items():
        choices = [choice for choice in field.get("anyOf", []) if choice.get("type") != "null"]
        if "anyOf" in field and len(choices) == 1:
            field = {**{k: v for k, v in field.items() if k not in ("anyOf", "default")}, **choices[0]}
        if field.get("type") == "array":
            # A form sends each field once: a list (the attachments' upload ids) as one text.
            field = {
                **{k: v for k, v in field.items() if k not in ("items", "maxItems", "minItems", "type")},
                "type": "string",
                "description": (field.get("description", "") + " Separated by commas.").strip(),
            }
        properties[name] = field
    return {**schema, "title": schema.get("title", "") + " (form post)", "properties": properties}


SHARED_STATUS = {"Invalid": "400", "NotFromSite": "403", "TooLarge": "413", "UnsupportedType": "415",
                 "TooMany": "429", "Unavailable": "503"}


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
        **_shared("Invalid", "NotFromSite"),
    }
    if form.model.unique_claims is not Submission.unique_claims:
        responses["409"] = _problem(
            "Already registered by someone; nothing about them is revealed. `errors` names the field; "
            "`claim` is the way to contest it with proof of purchase (a plain HTML post gets the "
            "form again, with the claim form after it).",
            ConflictProblem,
        )
    responses["422"] = _problem("This Idempotency-Key was already used for a different body.")
    responses.update(_shared("TooLarge", "UnsupportedType", "TooMany", "Unavailable"))
    return {
        "operationId": f"post_{form.kind}",
        "summary": f"Send a {form.title.lower()}",
        "description": (form.model.__doc__ or "").strip(),
        "parameters": [
            {"$ref": "#/components/parameters/IdempotencyKey"},
            *(VOTE_SCREENING_PARAMETERS if form.model.one_click else SCREENING_PARAMETERS),
        ],
        "requestBody": _request_body(form.model, today),
        "responses": responses,
    }


def _warranty_status_operation(today: date) -> dict[str, Any]:
    return {
        "operationId": f"post_{WARRANTY_STATUS.kind}",
        "summary": "Look up a registered warranty",
        "description": "The serial number and the owner's email travel in the body, never in the URL. "
                       "An unknown serial and a wrong email get the same 404.",
        "parameters": LOOKUP_PARAMETERS,
        "requestBody": _request_body(WARRANTY_STATUS.model, today),
        "responses": {
            "200": {
                "description": "The warranty on that serial number (a plain HTML page for form posts).",
                "content": {JSON: {"schema": _ref(WarrantyStatus)}, HTML: {"schema": {"type": "string"}}},
            },
            **_shared("Invalid", "NotFromSite"),
            "404": _problem("No warranty matches both that serial number and that email address."),
            **_shared("TooLarge", "UnsupportedType", "TooMany", "Unavailable"),
        },
    }


def _track_operation(today: date) -> dict[str, Any]:
    return {
        "operationId": f"post_{TRACK.kind}",
        "summary": "Where a request stands",
        "description": "The reference and the email given with it travel in the body, never in the URL. "
                       "An unknown reference and a wrong email get the same 404. Only messages meant "
                       "for the customer are shown, never staff's internal notes.",
        "parameters": LOOKUP_PARAMETERS,
        "requestBody": _request_body(TRACK.model, today),
        "responses": {
            "200": {
                "description": "The request's status, steps and messages (a plain HTML page for form posts).",
                "content": {JSON: {"schema": _ref(CaseProgress)}, HTML: {"schema": {"type": "string"}}},
            },
            **_shared("Invalid", "NotFromSite"),
            "404": _problem("No request matches both that reference and that email address."),
            **_shared("TooLarge", "UnsupportedType", "TooMany", "Unavailable"),
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
        "parameters": UPLOAD_PARAMETERS,
        "requestBody": {"required": True, "content": {JSON: {
            "schema": _ref(UploadRequest), "example": UploadRequest.example(today)}}},
        "responses": {
            "201": {"description": "Send the file with this POST.",
                    "content": {JSON: {"schema": _ref(IssuedUpload)}}},
            **_shared("Invalid", "NotFromSite", "TooLarge", "UnsupportedType", "Unavailable"),
        },
    }


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def document(today: date) -> dict[str, Any]:
    """The whole document; examples are dated relative to `today`, so they always validate."""
    request_models: list[type[BaseModel]] = [form.model for form in FORMS.values()]
    request_models += [WARRANTY_STATUS.model, TRACK.model, UploadRequest]
    answer_models: list[type[BaseModel]] = [form.model.answer_model for form in FORMS.values()]
    answer_models += [WarrantyStatus, CaseProgress, IssuedUpload, Problem, ValidationProblem, ConflictProblem]
    _, schemas = models_json_schema(
        [(model, "validation") for model in request_models]
        + [(model, "serialization") for model in dict.fromkeys(answer_models)],
        ref_template=REF,
    )
    with_contract_notes(schemas)
    for model in request_models:
        schemas["$defs"][model.__name__ + FORM_SUFFIX] = _form_schema(schemas["$defs"][model.__name__])
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
    paths[TRACK.path] = {"post": _track_operation(today), "get": {
        "operationId": "get_track",
        "summary": "The track page with the reference filled in: the link in our emails",
        "parameters": [{"name": "reference", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "A case's reference (never the email address)."}],
        "responses": {"200": _page("The track form, the reference filled in."),
                      "303": {"description": "To the track page, when the API has no copy of it."}},
    }}
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
    token = {"name": "token", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": SIGNED_LINK_PATTERN, "maxLength": 120},
             "description": "The signed, expiring token from the link in an email (names no person): "
                            "a reference, a day number and our signature. One not signed by us, or too old, "
                            "gets the 400 page."}
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


def with_contract_notes(schema: Any) -> None:
    """Each field's contract note (forms.core.CONTRACT_NOTE) joins its description here, the
    document's readers' only; the site's forms show customers the description alone."""
    if isinstance(schema, dict):
        note = schema.pop(CONTRACT_NOTE, None)
        if note:
            schema["description"] = f"{schema.get('description', '')} {note}".strip()
        for value in schema.values():
            with_contract_notes(value)
    elif isinstance(schema, list):
        for value in schema:
            with_contract_notes(value)
