"""One export through the console, as a handler's browser makes it, timed by the export benchmark.

Run as its own process (so its peak memory is its own) on the benchmark's table and a local
S3 engine (`AFTERCARE_EXPORTS_BUCKET`, `AFTERCARE_S3_ENDPOINT`): a signed-in handler posts the
downloads form for every form as CSV, the job runs beside the console as it does on the local
stack (a thread; in AWS the exports function), the page is read until it says the file
is ready, then the short-lived link is followed and the file's rows counted. Prints the rows.

    python -m tests.bench.console_export
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import time
import urllib.request
from urllib.parse import urlencode

from chalicelib.console.door import Console
from chalicelib.console.exchange import Request
from chalicelib.console.function import in_a_thread
from chalicelib.console.session import SESSION_COOKIE, seal_session, start_session
from chalicelib.console.signin import HttpAnswer, StaffIdentity, StaffSignIn
from chalicelib.settings import Settings
from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.export_jobs import ExportJobs

SITE = "http://127.0.0.1:9"
HANDLER = "bench@shop.example"
SECRET = b"b" * 32
POLL_SECONDS = 0.25
WAIT_SECONDS = 1800


def no_provider(url: str, form: bytes | None) -> HttpAnswer:
    """Nobody signs in here: the handler's session is made directly, so the provider is never asked
    for more than its discovery document, which it does not have."""
    return HttpAnswer(404, b"")


def console_on(settings: Settings) -> Console:
    built: list[Console] = []
    console = Console(lambda actor: StaffDesk.for_actor(settings, actor),
                      StaffSignIn(SITE, "bench", SITE + "/staff/callback", no_provider), SECRET, SITE,
                      export_jobs=lambda: ExportJobs(settings.export_bucket()),
                      start_export=in_a_thread(lambda: built[0]))
    built.append(console)
    return console


def export_through_the_console(settings: Settings, file_format: str = "csv") -> str:
    """Make the file a handler downloads for every form, the way the console makes it; answers its link."""
    console = console_on(settings)
    session = start_session(StaffIdentity("sub-bench", HANDLER, ("handlers",)), time.time())
    headers = {"host": "127.0.0.1:9", "cookie": f"{SESSION_COOKIE}={seal_session(session, SECRET)}"}
    form = urlencode({"csrf": session.csrf_token, "kind": "", "format": file_format}).encode()
    started = console.handle(Request("POST", "/staff/exports", {}, {
        **headers, "content-type": "application/x-www-form-urlencoded", "origin": SITE,
        "sec-fetch-site": "same-origin"}, form))
    if started.status != 303:
        raise SystemExit(f"the console did not start the export: {started.status}")
    page = started.headers["Location"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        shown = console.handle(Request("GET", page, {}, headers)).body.decode()
        if "Ready:" in shown:
            break
        if "did not finish" in shown or time.monotonic() > deadline:
            raise SystemExit("the console's export did not finish: "
                             + re.sub(r"<[^>]+>", " ", shown)[-500:])
        time.sleep(POLL_SECONDS)
    return str(console.handle(Request("GET", page + "/file", {}, headers)).headers["Location"])


def main() -> None:
    link = export_through_the_console(Settings.from_environ(os.environ))
    # Read as a browser saves it, a piece at a time, so the figure is the job's memory, not the reader's.
    with urllib.request.urlopen(link, timeout=600) as answer:  # noqa: S310 - the local S3 engine
        rows = sum(1 for _ in csv.reader(io.TextIOWrapper(answer, encoding="utf-8-sig", newline=""))) - 1
    sys.stdout.write(f"{rows}\n")


if __name__ == "__main__":
    main()
