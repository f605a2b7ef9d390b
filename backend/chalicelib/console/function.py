"""The console as a Lambda function behind a function URL (CloudFront in front), and its wiring.

The local server builds the same `Console` from the same environment and hands it the same
requests, so sign-in, groups and CSRF are checked by one code path in AWS and on `make run`.
Exports run in a function of their own (`console_exports`: the same code, a longer timeout, a
role that can only read, decrypt and write the export); locally, in a thread beside the server.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
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
# The exports function's timeout (backend/.chalice/config.json, `console_exports`): a job not
# finished this long after it was made was cut off, and its page says it failed.
EXPORT_SECONDS = 900


class NotForThisFunction(Exception):
    """An event the function does not take: the console serves its function URL only, the exports
    function runs export jobs only."""


def export_jobs_in(settings: Settings) -> ExportJobs:
    return ExportJobs(settings.export_bucket(), cut_off_after=timedelta(seconds=EXPORT_SECONDS))


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
    if start_export is None:
        if not settings.exports_function:
            raise ConfigurationError("AFTERCARE_EXPORTS_FUNCTION is not set")
        start_export = invoke_exports(settings.exports_function)
    signin = StaffSignIn(issuer, client_id, site_url + "/staff/callback", urllib_fetch)
    secret = bytes.fromhex(settings.subject_hasher().digest(SESSION_KEY_LABEL))
    return Console(lambda actor: StaffDesk.for_actor(settings, actor), signin, secret, site_url,
                   export_jobs=lambda: export_jobs_in(settings), start_export=start_export)


def export_event(job_id: str, actor: str) -> dict[str, str]:
    return {EXPORT_JOB: job_id, "actor": actor}


def invoke_exports(function_name: str) -> Callable[[str, str], None]:
    """In AWS: the console calls the exports function without waiting, to run the export off the
    request (and past the console's own short timeout)."""

    def start(job_id: str, actor: str) -> None:
        import boto3

        boto3.client("lambda").invoke(FunctionName=function_name, InvocationType="Event",
                                      Payload=json.dumps(export_event(job_id, actor)).encode())

    return start


def in_a_thread(console: Callable[[], Console]) -> Callable[[str, str], None]:
    """On the local stack: the export runs beside the server, as the exports function would."""

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
    """The console function: its function URL's requests, and nothing else (an export job is
    the exports function's)."""
    if "http" not in (event.get("requestContext") or {}) or EXPORT_JOB in event:
        raise NotForThisFunction("the console serves its function URL's requests only")
    return result_of(_console().handle(request_of(event)))


def export_job_of(event: Mapping[str, Any]) -> tuple[str, str]:
    """The job and who started it, from the console's call (export_event); anything else refused."""
    job_id, actor = event.get(EXPORT_JOB), event.get("actor")
    if set(event) != {EXPORT_JOB, "actor"} or not isinstance(job_id, str) or not isinstance(actor, str) \
            or not job_id.isalnum() or not actor:
        raise NotForThisFunction("the exports function runs the console's export jobs only")
    return job_id, actor


@cache
def _settings() -> Settings:
    return Settings.from_environ(os.environ, Path(__file__).resolve().parents[2])


def handle_export_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The exports function: one export job, as the console asked (invoke_exports)."""
    job_id, actor = export_job_of(event)
    settings = _settings()
    job = export_jobs_in(settings).run(StaffDesk.for_actor(settings, actor), job_id)
    return {"export": job.job_id, "status": job.status}
