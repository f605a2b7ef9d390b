"""The console as a Lambda function behind a function URL (CloudFront in front), and its wiring.

The local server builds the same `Console` from the same environment and hands it the same
requests, so sign-in, groups and CSRF are checked by one code path in AWS and on `make run`.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.console.door import Console
from chalicelib.console.exchange import Answer, Request
from chalicelib.console.signin import StaffSignIn, urllib_fetch
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.export_jobs import ExportJobs

# The session key: the keyed hasher's MAC of this label, so the console needs no secret of
# its own to store, and the key is the same in every container of a deployment.
SESSION_KEY_LABEL = b"aftercare:console-session-key:v1"
EXPORT_JOB = "aftercare_export_job"


def console_from(environ: Mapping[str, str], base_dir: Path | None = None,
                 start_export: Callable[[str, str], None] | None = None) -> Console:
    settings = Settings.from_environ(environ, base_dir=base_dir)
    issuer = environ.get("AFTERCARE_STAFF_ISSUER", "")
    client_id = environ.get("AFTERCARE_STAFF_CLIENT_ID", "")
    site_url = environ.get("AFTERCARE_SITE_URL", "").rstrip("/")
    if not (issuer and client_id and site_url):
        raise ConfigurationError(
            "AFTERCARE_STAFF_ISSUER, AFTERCARE_STAFF_CLIENT_ID and AFTERCARE_SITE_URL must be set"
        )
    signin = StaffSignIn(issuer, client_id, site_url + "/staff/callback", urllib_fetch)
    secret = bytes.fromhex(settings.subject_hasher().digest(SESSION_KEY_LABEL))
    return Console(lambda actor: StaffDesk.for_actor(settings, actor), signin, secret, site_url,
                   export_jobs=lambda: ExportJobs(settings.export_bucket()),
                   start_export=start_export or invoke_self)


def invoke_self(job_id: str, actor: str) -> None:
    """In AWS: the console function calls itself without waiting, to run the export off the request."""
    import boto3

    payload = json.dumps({EXPORT_JOB: job_id, "actor": actor}).encode()
    boto3.client("lambda").invoke(FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                                  InvocationType="Event", Payload=payload)


def in_a_thread(console: Callable[[], Console]) -> Callable[[str, str], None]:
    """On the local stack: the export runs beside the server, as the function's second invocation would."""

    def start(job_id: str, actor: str) -> None:
        threading.Thread(target=run_export, args=(console(), job_id, actor), name=f"export-{job_id}",
                         daemon=True).start()

    return start


def run_export(console: Console, job_id: str, actor: str) -> None:
    console.export_jobs().run(console.desk_for(actor), job_id)


@cache
def _console() -> Console:
    return console_from(os.environ, Path(__file__).resolve().parents[2])


def request_of(event: Mapping[str, Any]) -> Request:
    """A function URL's event (payload 2.0) as the door reads it."""
    http = (event.get("requestContext") or {}).get("http") or {}
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    query = {str(name): str(value) for name, value in (event.get("queryStringParameters") or {}).items()}
    return Request(str(http.get("method", "GET")), str(event.get("rawPath", "/")), query, headers, raw)


def result_of(answer: Answer) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": answer.headers,
        "cookies": answer.cookies,
        "body": answer.body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def handle_event(event: Mapping[str, Any]) -> dict[str, Any]:
    if EXPORT_JOB in event:  # the function's own call to itself (invoke_self), never a function URL's
        run_export(_console(), str(event[EXPORT_JOB]), str(event["actor"]))
        return {"export": str(event[EXPORT_JOB])}
    return result_of(_console().handle(request_of(event)))
