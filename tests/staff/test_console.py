"""The staff console's door on a real staff desk (moto): every route's group check, CSRF, escaping of
what customers typed, the two-staff conflict, and the audit trail under the signed-in person."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from chalicelib.console.door import ROUTES, Console, display_name
from chalicelib.console.exchange import Request
from chalicelib.console.session import SESSION_COOKIE, seal_session, start_session
from chalicelib.console.signin import HttpAnswer, StaffIdentity, StaffSignIn
from chalicelib.staff.desk import StaffDesk

from tests.staff.conftest import HelpDesk, _desk_on_moto

ISSUER = "http://127.0.0.1:9"
SIGN_OUT_HOST = "http://127.0.0.1:10"  # as Cognito's managed-login domain beside its issuer
SITE = "http://127.0.0.1:8000"
SECRET = b"s" * 32
GROUPS = {"nobody": None, "handlers": ("handlers",), "privacy": ("privacy",), "admins": ("admins",)}


def provider(url: str, form: bytes | None) -> HttpAnswer:
    """The provider's discovery document; nothing else is asked of it by these routes."""
    assert url == ISSUER + "/.well-known/openid-configuration" and form is None
    return HttpAnswer(200, json.dumps({
        "issuer": ISSUER, "authorization_endpoint": ISSUER + "/auth", "token_endpoint": ISSUER + "/token",
        "jwks_uri": ISSUER + "/jwks", "end_session_endpoint": SIGN_OUT_HOST + "/logout",
        "code_challenge_methods_supported": ["S256"],
    }).encode())


@pytest.fixture
def help_desk(request: pytest.FixtureRequest) -> HelpDesk:
    return _desk_on_moto(request)


@pytest.fixture
def console(help_desk: HelpDesk) -> Console:
    signin = StaffSignIn(ISSUER, "console", SITE + "/staff/callback", provider)
    return Console(lambda actor: StaffDesk.for_actor(help_desk.settings, actor), signin, SECRET, SITE)


class Browser:
    """One person's browser on the console: their session cookie, and what a page's form holds."""

    def __init__(self, console: Console, email: str | None, groups: tuple[str, ...] | None):
        self.console = console
        self.cookie = ""
        self.csrf = ""
        if groups is not None and email is not None:
            session = start_session(StaffIdentity("sub-" + email, email, groups), console.clock())
            self.cookie = f"{SESSION_COOKIE}={seal_session(session, SECRET)}"
            self.csrf = session.csrf_token

    def get(self, path: str, **query: str) -> Any:
        return self.console.handle(Request("GET", path, query, self._headers()))

    def post(self, path: str, form: dict[str, str], *, csrf: bool = True, **headers: str) -> Any:
        body = urlencode({**({"csrf": self.csrf} if csrf else {}), **form}).encode()
        sent = {**self._headers(), "content-type": "application/x-www-form-urlencoded", "origin": SITE,
                "sec-fetch-site": "same-origin", **headers}
        return self.console.handle(Request("POST", path, {}, sent, body))

    def _headers(self) -> dict[str, str]:
        return {"host": "127.0.0.1:8000", **({"cookie": self.cookie} if self.cookie else {})}


def text(answer: Any) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", answer.body.decode()))


def route_path(pattern: str, reference: str) -> str:
    path = pattern.replace(r"\.", ".").replace("/?", "/")
    path = path.replace("(?P<reference>[A-Za-z0-9-]{1,40})", reference).replace("(?P<number>[0-9]{1,3})", "1")
    return path.replace("(?P<job_id>[0-9a-f]{1,40})", "abc")


# What each group gets on each signed-in route: a page (200), a redirect (303) or a refusal (403);
# nobody signed in is sent to sign in (GET) or refused (POST).
EXPECTED = {
    ("GET", "/staff/"): {"handlers": 200, "privacy": 200, "admins": 200},
    ("GET", "/staff/cases"): {"handlers": 200, "privacy": 403, "admins": 200},
    ("GET", "/staff/cases/REF"): {"handlers": 200, "privacy": 403, "admins": 200},
    ("POST", "/staff/cases/REF"): {"handlers": 303, "privacy": 403, "admins": 303},
    ("GET", "/staff/cases/REF/files/1"): {"handlers": 404, "privacy": 403, "admins": 404},
    ("POST", "/staff/signout"): {"handlers": 303, "privacy": 303, "admins": 303},
    ("GET", "/staff/submissions"): {"handlers": 200, "privacy": 403, "admins": 200},
    ("GET", "/staff/submissions/REF"): {"handlers": 303, "privacy": 403, "admins": 303},  # a case: its page
    ("GET", "/staff/exports"): {"handlers": 200, "privacy": 403, "admins": 200},
    # This console has no bucket for exports: a plain 503, never a traceback.
    ("POST", "/staff/exports"): {"handlers": 503, "privacy": 403, "admins": 503},
    ("GET", "/staff/exports/abc"): {"handlers": 503, "privacy": 403, "admins": 503},
    ("GET", "/staff/exports/abc/file"): {"handlers": 503, "privacy": 403, "admins": 503},
    ("GET", "/staff/people"): {"handlers": 403, "privacy": 200, "admins": 200},
    ("POST", "/staff/people"): {"handlers": 403, "privacy": 400, "admins": 400},  # no address given
    ("GET", "/staff/outbox"): {"handlers": 200, "privacy": 403, "admins": 200},
    ("POST", "/staff/outbox"): {"handlers": 400, "privacy": 403, "admins": 400},  # no message named
    ("GET", "/staff/audit"): {"handlers": 403, "privacy": 403, "admins": 200},
    ("POST", "/staff/audit"): {"handlers": 403, "privacy": 403, "admins": 400},  # no address given
    ("GET", "/staff/audit.csv"): {"handlers": 403, "privacy": 403, "admins": 200},
    ("GET", "/staff/insight"): {"handlers": 200, "privacy": 403, "admins": 200},
    ("GET", "/staff/insight.csv"): {"handlers": 200, "privacy": 403, "admins": 200},
}


def test_every_signed_in_route_is_in_the_table() -> None:
    signed_in = {(route.method, route_path(route.pattern.pattern.removesuffix(r"\Z"), "REF"))
                 for route in ROUTES if route.groups is not None}
    assert signed_in == set(EXPECTED)


@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize(("method", "path"), list(EXPECTED))
def test_every_route_checks_the_group(console: Console, help_desk: HelpDesk, group: str,
                                      method: str, path: str) -> None:
    reference = help_desk.submit("complaint")
    browser = Browser(console, f"{group}@shop.example", GROUPS[group])
    path = path.replace("REF", reference)
    answer = browser.get(path) if method == "GET" else browser.post(path, {"action": "take", "version": "0"})
    if group == "nobody":
        if method == "GET":
            assert answer.status == 303 and answer.headers["Location"].startswith("/staff/signin?to=")
        else:
            assert answer.status == 403 and "sign in" in text(answer).lower()
        return
    assert answer.status == EXPECTED[(method, path.replace(reference, "REF"))][group], text(answer)
    if answer.status == 403:
        assert "Not for your role" in text(answer)


def test_open_routes_need_no_session(console: Console) -> None:
    nobody = Browser(console, None, None)
    assert nobody.get("/staff/console.css").status == 200
    begun = nobody.get("/staff/signin", to="/staff/cases")
    assert begun.status == 303 and begun.headers["Location"].startswith(ISSUER + "/auth?")
    assert "code_challenge_method=S256" in begun.headers["Location"]
    assert nobody.get("/staff/signed-out").status == 200
    assert nobody.get("/staff/callback", code="x", state="y").status == 400  # no sign-in was started here


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
        console: Console, help_desk: HelpDesk) -> None:
    reference = help_desk.submit("complaint")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    forged = handler.post(f"/staff/cases/{reference}", {"action": "take"}, csrf=False)
    assert forged.status == 403
    other = Browser(console, "eve@shop.example", ("handlers",))  # another session's token
    stolen = handler.post(f"/staff/cases/{reference}", {"action": "take", "csrf": other.csrf}, csrf=False)
    assert stolen.status == 403
    cross_site = handler.post(f"/staff/cases/{reference}", {"action": "take"},
                              origin="https://evil.example", **{"sec-fetch-site": "cross-site"})
    assert cross_site.status == 403 and "another site" in text(cross_site)
    shown = handler.get(f"/staff/cases/{reference}")
    assert "nobody yet" in text(shown)
    assert handler.post(f"/staff/cases/{reference}", {"action": "take"}).status == 303
    assert "Sam Lee" in text(handler.get(f"/staff/cases/{reference}"))


HOSTILE = {
    "name": "<script>alert(1)</script> Ann",
    "description": 'Broke "><img src=x onerror=alert(2)> \u202egpj.exe',
    "desired_outcome": "javascript:alert(3)",
}


def test_what_a_customer_typed_is_shown_as_text(console: Console, help_desk: HelpDesk) -> None:
    reference = help_desk.submit("complaint", **HOSTILE)
    page = Browser(console, "sam.lee@shop.example", ("handlers",)).get(f"/staff/cases/{reference}")
    html = page.body.decode()
    assert page.status == 200
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert 'href="javascript:' not in html and "javascript:alert(3)" in html
    assert "\u202e" not in html and "[U+202E]gpj.exe" in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_the_case_page_names_the_customer_s_language_in_english(
    console: Console, help_desk: HelpDesk,
) -> None:
    staff = Browser(console, "sam.lee@shop.example", ("handlers",))
    hindi = staff.get(f"/staff/cases/{help_desk.submit('complaint', language='hi')}").body.decode()
    english = staff.get(f"/staff/cases/{help_desk.submit('complaint')}").body.decode()
    assert "<dt>Language</dt><dd>Hindi (hi)</dd>" in hindi
    assert "<dt>Language</dt><dd>English</dd>" in english


def test_two_staff_changing_one_case_the_second_is_told_and_keeps_what_they_typed(
        console: Console, help_desk: HelpDesk) -> None:
    reference = help_desk.submit("complaint")
    first = Browser(console, "sam.lee@shop.example", ("handlers",))
    second = Browser(console, "ravi.kumar@shop.example", ("handlers",))
    version = re.search(r'name="version" value="(\d+)"', first.get(f"/staff/cases/{reference}").body.decode())
    assert version is not None
    seen = version.group(1)
    assert first.post(f"/staff/cases/{reference}", {"action": "change", "version": seen, "handler": "Sam Lee",
                                                   "note": "calling the customer"}).status == 303
    typed = {"action": "change", "version": seen, "message": "We will collect it on Monday.",
             "note": "second thoughts"}
    refused = second.post(f"/staff/cases/{reference}", typed)
    page = text(refused)
    assert refused.status == 409
    assert "this case changed while you had it open" in page
    assert "We will collect it on Monday." in refused.body.decode()  # the form comes back filled
    assert "changed while you had the case open" in page and "calling the customer" in page
    shown = help_desk.ok("case", "show", reference)
    assert "We will collect it on Monday." not in shown.stdout


def test_every_view_and_change_is_audited_under_the_signed_in_person(
        console: Console, help_desk: HelpDesk) -> None:
    reference = help_desk.submit("complaint")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    handler.get(f"/staff/cases/{reference}")
    handler.post(f"/staff/cases/{reference}", {"action": "take"})
    actions = [(record["action"], record["actor"]) for record in help_desk.audit_records()
               if (record.get("detail") or {}).get("reference") == reference]
    assert actions == [("case.show", "sam.lee@shop.example"), ("case.assign", "sam.lee@shop.example")]


def test_queues_count_and_filter_in_the_url(console: Console, help_desk: HelpDesk) -> None:
    mine = help_desk.submit("complaint")
    help_desk.submit("return_request")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    handler.post(f"/staff/cases/{mine}", {"action": "take"})
    queue = text(handler.get("/staff/cases"))
    assert re.search(r"All open\s+2", queue) and re.search(r"Unassigned\s+1", queue)
    assert re.search(r"Mine\s+1", queue)
    only_mine = text(handler.get("/staff/cases", queue="mine"))
    assert mine in only_mine and "1 case." in only_mine
    complaints = text(handler.get("/staff/cases", kind="complaint"))
    assert mine in complaints and "1 case." in complaints


def test_a_reference_search_opens_the_case_in_any_case(console: Console, help_desk: HelpDesk) -> None:
    reference = help_desk.submit("complaint")
    found = Browser(console, "sam.lee@shop.example", ("handlers",)).get("/staff/cases", q=reference.lower())
    assert found.status == 303 and found.headers["Location"] == f"/staff/cases/{reference}"


def test_handlers_are_named_from_their_email() -> None:
    assert display_name("sam.lee@shop.example") == "Sam Lee"



def test_sign_out_may_be_redirected_to_the_providers_end_session_host(console: Console) -> None:
    # Cognito's end-session page is on its managed-login domain, not the issuer's host: a form's
    # redirect there must be allowed by form-action, or the browser stops sign-out half-way.
    csp = Browser(console, None, None).get("/staff/signed-out").headers["Content-Security-Policy"]
    form_action = next(part for part in csp.split(";") if part.strip().startswith("form-action"))
    assert set(form_action.split()[1:]) == {"'self'", ISSUER, SIGN_OUT_HOST}


ANN = "ann@example.com"


def test_a_privacy_officer_finds_copies_corrects_and_erases_a_person(
        console: Console, help_desk: HelpDesk) -> None:
    bought = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    reference = help_desk.submit("warranty_registration", email=ANN, serial_number="V55240012345",
                                 purchase_date=bought, marketing_consent=True)
    officer = Browser(console, "priya@shop.example", ("privacy",))

    found = officer.post("/staff/people", {"email": ANN.upper(), "action": "find"})
    assert found.status == 200 and reference in text(found)
    assert ANN not in found.headers.get("Location", "")
    copy = officer.post("/staff/people", {"email": ANN, "action": "copy", "format": "json"})
    assert copy.status == 200 and "attachment" in copy.headers["Content-Disposition"]
    assert json.loads(copy.body)["submissions"][0]["reference"] == reference
    corrected = officer.post("/staff/people", {"email": ANN, "action": "correct", "reference": reference,
                                               "field": "serial_number", "value": "V55240099999"})
    assert corrected.status == 200 and f"Corrected serial_number of {reference}" in text(corrected)
    refused = officer.post("/staff/people", {"email": ANN, "action": "correct", "reference": reference,
                                             "field": "serial_number", "value": "nonsense"})
    assert refused.status == 400 and "Traceback" not in text(refused)

    asked = officer.post("/staff/people", {"email": ANN, "action": "erase"})
    assert asked.status == 200 and "Type the person's email address again" in text(asked)
    assert help_desk.items(f"SUB#{reference}"), "asking erases nothing"
    mistyped = officer.post("/staff/people", {"email": ANN, "action": "erase", "confirm": "yes",
                                              "email_again": "someone@example.com"})
    assert mistyped.status == 400 and help_desk.items(f"SUB#{reference}")
    erased = officer.post("/staff/people", {"email": ANN, "action": "erase", "confirm": "yes",
                                            "email_again": ANN})
    assert erased.status == 200 and "Erased" in text(erased)
    again = officer.post("/staff/people", {"email": ANN, "action": "find"})
    assert "Nothing is stored for that email address." in text(again)
    steps = [(record["action"], record["outcome"], record["actor"]) for record in help_desk.audit_records()
             if record["action"].startswith("subject.")]
    assert [(action, outcome) for action, outcome, _ in steps if action != "subject.find"] == [
        ("subject.export", "done"), ("subject.correct", "done"), ("subject.correct", "failed"),
        ("subject.erase", "done")]
    assert {actor for _, _, actor in steps} == {"priya@shop.example"}


def test_the_outbox_resends_and_the_audit_trail_downloads(console: Console, help_desk: HelpDesk) -> None:
    help_desk.submit("complaint")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    assert handler.get("/staff/outbox").status == 200
    retried = handler.post("/staff/outbox", {"action": "retry"})
    assert retried.status == 303 and retried.headers["Location"].startswith("/staff/outbox?done=")
    admin = Browser(console, "ada@shop.example", ("admins",))
    trail = admin.get("/staff/audit.csv", action="outbox")
    lines = trail.body.decode("utf-8").splitlines()
    assert trail.body.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the mark
    assert lines[0].lstrip("\ufeff").startswith("created_at,actor")
    assert any("outbox.retry" in line and "sam.lee@shop.example" in line for line in lines[1:])


@pytest.fixture
def exports_console(help_desk: HelpDesk) -> tuple[Console, list[tuple[str, str]]]:
    """A console with a bucket for exports (moto's S3, whatever engine another test pointed the
    environment at), and the jobs it was asked to start, for the test to run."""
    import os

    import boto3
    from chalicelib.settings import Settings
    from chalicelib.staff.export_jobs import ExportJobs

    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="exports-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    settings = Settings.from_environ({**os.environ, "AFTERCARE_EXPORTS_BUCKET": "exports-test",
                                      "AFTERCARE_S3_ENDPOINT": ""})
    started: list[tuple[str, str]] = []
    signin = StaffSignIn(ISSUER, "console", SITE + "/staff/callback", provider)
    console = Console(lambda actor: StaffDesk.for_actor(settings, actor), signin, SECRET, SITE,
                      export_jobs=lambda: ExportJobs(settings.export_bucket()),
                      start_export=lambda job_id, actor: started.append((job_id, actor)))
    return console, started


def test_a_handler_downloads_the_filtered_submissions_as_a_spreadsheet(
        exports_console: tuple[Console, list[tuple[str, str]]], help_desk: HelpDesk) -> None:
    import io

    import boto3
    import openpyxl
    from chalicelib.console.function import run_export

    console, started = exports_console
    complaints = {help_desk.submit("complaint", name=f"Zoë {number}") for number in range(3)}
    help_desk.submit("enquiry")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))

    made = handler.post("/staff/exports", {"kind": "complaint", "format": "xlsx"})
    job_id = made.headers["Location"].rsplit("/", 1)[1]
    assert made.status == 303 and started == [(job_id, "sam.lee@shop.example")]
    page = made.headers["Location"]
    waiting = handler.get(page)
    assert "Working" in text(waiting) and waiting.headers["Refresh"] == "2"  # reloads itself, no script
    run_export(console, *started[0])
    ready = handler.get(page)
    assert "Ready: 3 rows" in text(ready) and "Refresh" not in ready.headers
    assert Browser(console, "eve@shop.example", ("handlers",)).get(page).status == 400  # only its maker's
    link = handler.get(page + "/file")
    assert link.status == 303 and "X-Amz-Expires=60" in link.headers["Location"]
    key = f"exports/{started[0][0]}.xlsx"
    s3 = boto3.client("s3", region_name="eu-west-1")
    body = s3.get_object(Bucket="exports-test", Key=key)["Body"].read()
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    references = {row[header.index("Reference")] for row in rows[1:]}  # the export's own labels
    assert references == complaints
    assert isinstance(rows[1][header.index("Sent at (UTC)")], datetime)  # typed cells, not text
    (audit,) = [record for record in help_desk.audit_records() if record["action"] == "export"]
    assert audit["actor"] == "sam.lee@shop.example" and audit["item_count"] == 3
    assert audit["kinds"] == ["complaint"] and audit["detail"]["format"] == "xlsx"


def test_the_exports_function_runs_the_job_the_console_started(
        exports_console: tuple[Console, list[tuple[str, str]]], help_desk: HelpDesk,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In AWS the console's call (export_event) reaches the exports function, which builds the job's
    desk from its own settings alone (no sign-in, no session key) and writes the file."""
    import os

    from chalicelib.console import function
    from chalicelib.settings import Settings

    console, started = exports_console
    help_desk.submit("complaint")
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    page = handler.post("/staff/exports", {"kind": "complaint", "format": "csv"}).headers["Location"]
    settings = Settings.from_environ({**os.environ, "AFTERCARE_EXPORTS_BUCKET": "exports-test",
                                      "AFTERCARE_S3_ENDPOINT": ""})
    monkeypatch.setattr(function, "_settings", lambda: settings)
    (job_id, actor), = started
    answer = function.handle_export_event(function.export_event(job_id, actor))
    assert answer == {"export": job_id, "status": "done"}
    assert "Ready: 1 row" in text(handler.get(page))
    # Invoked again (a retry), it does not write the file twice: the job has started already.
    assert function.handle_export_event(function.export_event(job_id, actor))["status"] == "done"
    assert len([r for r in help_desk.audit_records() if r["action"] == "export"]) == 1


def test_a_job_left_unfinished_past_the_functions_timeout_shows_as_failed(
        exports_console: tuple[Console, list[tuple[str, str]]]) -> None:
    """A job cut off by its function's timeout never writes "failed" itself: its page, by the clock,
    says it did not finish once it is older than that timeout; a finished job stays as it was."""
    from chalicelib.staff.export_jobs import ExportJobs, ExportRequest

    console, _ = exports_console
    made = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    now = [made]
    jobs = ExportJobs(console.export_jobs().bucket, clock=lambda: now[0],
                      cut_off_after=timedelta(seconds=900))
    job = jobs.create("sam.lee@shop.example", ExportRequest(["complaint"], file_format="csv"))
    job.status = "running"
    jobs.save(job)
    console.export_jobs = lambda: jobs
    handler = Browser(console, "sam.lee@shop.example", ("handlers",))
    page = f"/staff/exports/{job.job_id}"

    now[0] = made + timedelta(seconds=900)
    waiting = handler.get(page)
    assert "Working" in text(waiting) and waiting.headers["Refresh"] == "2"
    now[0] = made + timedelta(seconds=901)
    failed = handler.get(page)
    assert "did not finish" in text(failed) and "start it again" in text(failed)
    assert "Refresh" not in failed.headers
    assert handler.get(page + "/file").status == 400  # no link to a file that was never written

    done = jobs.create("sam.lee@shop.example", ExportRequest(["complaint"], file_format="csv"))
    done.status = "done"
    jobs.save(done)
    now[0] += timedelta(days=1)
    assert jobs.load(done.job_id, "sam.lee@shop.example").status == "done"
