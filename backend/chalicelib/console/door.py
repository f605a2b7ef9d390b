"""The staff console's door: every `/staff/...` request, signed in, group-checked and CSRF-checked.

It parses a request, calls one staff desk operation and renders a page; it never talks to
DynamoDB, KMS or S3 itself, and the desk audits each operation under the signed-in person's
email from their ID token. Every page works without JavaScript.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.cases.book import Change
from chalicelib.console import insight_room, pages, queues, rooms
from chalicelib.console.exceptions import CsrfTokenMismatch, SessionInvalid, SignInError
from chalicelib.console.exchange import Answer, Request
from chalicelib.console.session import (
    ATTEMPT_COOKIE,
    SESSION_COOKIE,
    StaffSession,
    attempt_cookie,
    check_csrf,
    clear_attempt_cookie,
    clear_session_cookie,
    cookie_value,
    needs_refresh,
    open_attempt,
    open_session,
    session_cookie,
    start_session,
    touch,
)
from chalicelib.console.signin import HOME_PATH, StaffSignIn, safe_return_path
from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.exceptions import CaseChanged, ServiceUnavailable, StaffError
from chalicelib.staff.export_jobs import ExportJobs
from chalicelib.store.references import is_reference

log = logging.getLogger(__name__)

HANDLERS = frozenset({"handlers", "admins"})
PRIVACY = frozenset({"privacy", "admins"})
ANY_STAFF = frozenset({"handlers", "privacy", "admins"})
ADMINS = frozenset({"admins"})
MOST_BODY_BYTES = 64 * 1024
# The console draws every page itself: no script at all, styles and images from our own origin
# only, forms posted only here (and sign-out's redirect to the provider), never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'{provider}; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STYLESHEET = Path(__file__).with_name("console.css")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    groups: frozenset[str] | None  # None: open to anyone (sign-in, the stylesheet)
    view: str


def _route(method: str, pattern: str, groups: frozenset[str] | None, view: str) -> Route:
    return Route(method, re.compile(pattern + r"\Z"), groups, view)


REFERENCE = r"(?P<reference>[A-Za-z0-9-]{1,40})"
ROUTES = (
    _route("GET", r"/staff/console\.css", None, "stylesheet"),
    _route("GET", r"/staff/signin", None, "sign_in"),
    _route("GET", r"/staff/callback", None, "callback"),
    _route("GET", r"/staff/signed-out", None, "signed_out"),
    _route("POST", r"/staff/signout", ANY_STAFF, "sign_out"),
    _route("GET", r"/staff/?", ANY_STAFF, "home"),
    _route("GET", r"/staff/cases", HANDLERS, "case_list"),
    _route("GET", r"/staff/cases/" + REFERENCE, HANDLERS, "case_page"),
    _route("POST", r"/staff/cases/" + REFERENCE, HANDLERS, "case_action"),
    _route("GET", r"/staff/cases/" + REFERENCE + r"/files/(?P<number>[0-9]{1,3})", HANDLERS, "case_file"),
    _route("GET", r"/staff/submissions", HANDLERS, "submissions"),
    _route("GET", r"/staff/submissions/" + REFERENCE, HANDLERS, "submission_page"),
    _route("GET", r"/staff/exports", HANDLERS, "exports"),
    _route("POST", r"/staff/exports", HANDLERS, "exports_post"),
    _route("GET", r"/staff/exports/(?P<job_id>[0-9a-f]{1,40})", HANDLERS, "export_page"),
    _route("GET", r"/staff/exports/(?P<job_id>[0-9a-f]{1,40})/file", HANDLERS, "export_file"),
    _route("GET", r"/staff/people", PRIVACY, "people"),
    _route("POST", r"/staff/people", PRIVACY, "people_post"),
    _route("GET", r"/staff/outbox", HANDLERS, "outbox"),
    _route("POST", r"/staff/outbox", HANDLERS, "outbox_post"),
    _route("GET", r"/staff/insight", HANDLERS, "insight"),
    _route("GET", r"/staff/insight\.csv", HANDLERS, "insight_csv"),
    _route("GET", r"/staff/audit", ADMINS, "audit"),
    _route("POST", r"/staff/audit", ADMINS, "audit_post"),
    _route("GET", r"/staff/audit\.csv", ADMINS, "audit_csv"),
)


def display_name(email: str) -> str:
    """How a handler is named on a case (customers see the first word): sam.lee@shop -> Sam Lee."""
    local = email.partition("@")[0]
    return " ".join(part.capitalize() for part in re.split(r"[._+-]+", local) if part) or email


def _no_exports() -> ExportJobs:
    raise ServiceUnavailable("S3", "no bucket for exports is set")


@dataclass
class Console:
    """The console for one deployment: its provider, its session key and the staff desk's wiring."""

    desk_for: Callable[[str], StaffDesk]
    signin: StaffSignIn
    secret: bytes
    site_url: str
    # Exports run off the request: the jobs' bucket, and how to start one (a thread locally,
    # the exports function in AWS).
    export_jobs: Callable[[], ExportJobs] = _no_exports
    start_export: Callable[[str, str], None] = lambda job_id, actor: None
    clock: Callable[[], float] = time.time

    def handle(self, request: Request) -> Answer:
        answer = self._answer(request)
        provider = "".join(f" {origin}" for origin in self._provider_origins())
        answer.headers.setdefault("Content-Type", "text/html; charset=utf-8")
        answer.headers.update(
            {
                "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(provider=provider),
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin",
                "Cache-Control": "no-store",
            }
        )
        return answer

    def _provider_origins(self) -> list[str]:
        """Where sign-out's form post is redirected to (the provider's end-session page, which for
        Cognito is on its managed-login domain, not the issuer's): the CSP's form-action allows them."""
        urls = [self.signin.issuer]
        try:
            metadata = self.signin.metadata()
            urls += [metadata.authorization_endpoint, metadata.end_session_endpoint or ""]
        except SignInError:
            pass
        origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in urls if url}
        return sorted(origins)

    def _answer(self, request: Request) -> Answer:
        path = request.path.split("?")[0]
        matched = [(route, found) for route in ROUTES if (found := route.pattern.match(path))]
        if not matched:
            return self._page(404, pages.message_page("Not found", "There is no such page in the console."))
        method = "GET" if request.method == "HEAD" else request.method
        allowed = [(route, found) for route, found in matched if route.method == method]
        if not allowed:
            answer = self._page(405, pages.message_page("Not allowed", "That page cannot be used that way."))
            answer.headers["Allow"] = ", ".join(sorted({route.method for route, _ in matched}))
            return answer
        route, found = allowed[0]
        if len(request.body) > MOST_BODY_BYTES:
            return self._page(413, pages.message_page("Too long", "What you sent is too long for one form."))
        try:
            if route.groups is None:
                opened: Answer = getattr(self, route.view)(request, **found.groupdict())
                return opened
            return self._signed_in(request, route, found.groupdict())
        except SignInError as problem:
            return self._page(400, pages.message_page("Sign-in did not work", str(problem), sign_in=True))
        except Exception as error:  # a page must never show a traceback
            where = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "unexpected %s in %s at %s:%s",
                type(error).__name__,
                route.view,
                Path(where.filename).name,
                where.lineno,
            )
            return self._page(
                500,
                pages.message_page(
                    "Something went wrong on our side", "Nothing was changed. Try again in a minute."
                ),
            )

    def _signed_in(self, request: Request, route: Route, arguments: dict[str, str]) -> Answer:
        now = self.clock()
        try:
            session = open_session(
                cookie_value(request.headers.get("cookie"), SESSION_COOKIE), self.secret, now
            )
        except SessionInvalid:
            if request.method != "GET":
                return self._page(
                    403,
                    pages.message_page(
                        "Please sign in again",
                        "Your session has ended, so nothing was changed.",
                        sign_in=True,
                    ),
                )
            target = request.path + ("?" + urlencode(request.query) if request.query else "")
            return _redirect(
                "/staff/signin?" + urlencode({"to": target}), clear=[clear_session_cookie(request.host)]
            )
        assert route.groups is not None
        if not set(session.identity.groups) & route.groups:
            return self._page(
                403,
                pages.message_page(
                    "Not for your role",
                    "Your staff group does not open this page. Ask an administrator if you need it.",
                ),
                session,
            )
        if request.method == "POST":
            if _cross_site(request, self.site_url):
                return self._page(
                    403, pages.message_page("Refused", "That form came from another site."), session
                )
            try:
                check_csrf(session, request.form().get("csrf"))
            except CsrfTokenMismatch as problem:
                return self._page(403, pages.message_page("Refused", str(problem)), session)
        refreshed = needs_refresh(session, now)
        if refreshed:
            session = touch(session, now)
        room = rooms.VIEWS.get(route.view) or insight_room.VIEWS.get(route.view)
        if room is not None:
            answer: Answer = room(self, request, session, **arguments)
        else:
            answer = getattr(self, route.view)(request, session, **arguments)
        if refreshed and not any(cookie.startswith(SESSION_COOKIE + "=;") for cookie in answer.cookies):
            answer.cookies.append(session_cookie(session, self.secret, request.host, now))
        return answer

    def _page(self, status: int, html: str, session: StaffSession | None = None) -> Answer:
        return Answer(status, html.encode())

    def _desk(self, session: StaffSession) -> StaffDesk:
        return self.desk_for(session.identity.email)

    # -- open pages ----------------------------------------------------------------------

    def stylesheet(self, request: Request) -> Answer:
        return Answer(
            200,
            STYLESHEET.read_bytes(),
            {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=3600"},
        )

    def sign_in(self, request: Request) -> Answer:
        attempt, url = self.signin.begin(self.clock(), safe_return_path(request.query.get("to", HOME_PATH)))
        return _redirect(url, clear=[attempt_cookie(attempt, self.secret, request.host)])

    def callback(self, request: Request) -> Answer:
        now = self.clock()
        attempt = open_attempt(cookie_value(request.headers.get("cookie"), ATTEMPT_COOKIE), self.secret, now)
        identity = self.signin.complete(dict(request.query), attempt, now)
        if not set(identity.groups) & ANY_STAFF:
            return self._page(
                403,
                pages.message_page(
                    "No staff group",
                    "You signed in, but your account is in no staff group. Ask an administrator.",
                    sign_in=False,
                ),
            )
        session = start_session(identity, now)
        return _redirect(
            attempt.return_to,
            clear=[
                clear_attempt_cookie(request.host),
                session_cookie(session, self.secret, request.host, now),
            ],
        )

    def signed_out(self, request: Request) -> Answer:
        return self._page(200, pages.message_page("You are signed out", "Thank you.", sign_in=True))

    # -- signed in -----------------------------------------------------------------------

    def sign_out(self, request: Request, session: StaffSession) -> Answer:
        url = self.signin.sign_out_url(self.site_url + "/staff/signed-out") or "/staff/signed-out"
        return _redirect(url, clear=[clear_session_cookie(request.host)])

    def home(self, request: Request, session: StaffSession) -> Answer:
        if set(session.identity.groups) & HANDLERS:
            return self.case_list(request, session)
        return self._page(200, pages.home_page(session))

    def case_list(self, request: Request, session: StaffSession) -> Answer:
        desk = self._desk(session)
        search = (request.query.get("q") or "").strip()
        if search:
            return self._search(desk, session, search)
        view = queues.View.from_query(request.query, me=display_name(session.identity.email))
        try:
            rows = desk.open_cases(queues.CASE_KINDS) if view.queue != "closed" else []
            closed = (
                desk.closed_cases(
                    queues.CASE_KINDS, since=view.closed_since(_today(self.clock())), rated_only=False
                )
                if view.queue == "closed"
                else []
            )
        except StaffError as problem:
            return self._problem(problem, session)
        counts = queues.counts(rows, view.me)
        shown = view.apply(closed if view.queue == "closed" else rows)
        return self._page(200, pages.queue_page(session, view, counts, shown, queues.counts_by_kind(rows)))

    def _search(self, desk: StaffDesk, session: StaffSession, search: str) -> Answer:
        if is_reference(search.upper()):
            return _redirect(f"/staff/cases/{search.upper()}")
        if "@" in search:
            try:
                found = desk.find_person(search)
            except StaffError as problem:
                return self._problem(problem, session)
            cases = [
                line for line in found if line.get("kind") in queues.CASE_KINDS and line.get("reference")
            ]
            return self._page(200, pages.search_page(session, search, cases))
        return self._page(200, pages.search_page(session, search, None))

    def case_page(
        self,
        request: Request,
        session: StaffSession,
        reference: str,
        problem: str | None = None,
        typed: Mapping[str, str] | None = None,
        status: int = 200,
    ) -> Answer:
        try:
            shown = self._desk(session).case(reference.upper())
        except StaffError as refused:
            return self._problem(refused, session, status=404)
        return self._page(
            status,
            pages.case_page(
                session,
                shown,
                problem=problem,
                typed=typed or pages.started_reply(shown, request.query.get("saved", "")),
                me=display_name(session.identity.email),
                done=request.query.get("done") == "1" and not problem,
            ),
        )

    def case_action(self, request: Request, session: StaffSession, reference: str) -> Answer:
        form = request.form()
        reference = reference.upper()
        action = form.get("action", "")
        me = display_name(session.identity.email)
        if action == "take":
            change = Change(handler=me)
        elif action == "change":
            change = Change(
                status=form.get("status") or None,
                handler=form.get("handler", "").strip() or None,
                note=form.get("note", "").strip() or None,
                message=form.get("message", "").strip() or None,
                window=form.get("window", "").strip() or None,
            )
        else:
            return self._page(
                400, pages.message_page("Refused", "That is not something the case page offers."), session
            )
        try:
            version = int(form.get("version", ""))
        except ValueError:
            version = None
        try:
            self._desk(session).change_case(reference, change, expected_version=version)
        except CaseChanged as conflict:
            return self.case_page(
                request,
                session,
                reference,
                problem=f"{conflict}: it is shown as it is now. "
                "What you typed is below; check it and send it again.",
                typed=form,
                status=409,
            )
        except ServiceUnavailable as outage:
            return self.case_page(request, session, reference, problem=str(outage), typed=form, status=503)
        except StaffError as refused:
            return self.case_page(request, session, reference, problem=str(refused), typed=form, status=400)
        return _redirect(f"/staff/cases/{reference}?done=1")

    def case_file(self, request: Request, session: StaffSession, reference: str, number: str) -> Answer:
        try:
            url = self._desk(session).file_link(reference.upper(), int(number))
        except StaffError as refused:
            return self._problem(refused, session, status=404)
        return _redirect(url)

    def _problem(self, problem: StaffError, session: StaffSession, status: int = 400) -> Answer:
        if isinstance(problem, ServiceUnavailable):
            status = 503
        answer = self._page(status, pages.message_page("That did not work", str(problem)), session)
        if status == 503:
            answer.headers["Retry-After"] = "30"
        return answer


def _cross_site(request: Request, site_url: str) -> bool:
    """A post a page of another site made: the browser says so (Sec-Fetch-Site, Origin). The CSRF
    token refuses it anyway; this refuses it before the token is even looked at."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/") != site_url.rstrip("/")


def _redirect(location: str, *, clear: list[str] | None = None) -> Answer:
    return Answer(303, b"", {"Location": location}, list(clear or []))


def _today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def as_text(value: Any) -> str:
    return "" if value is None else str(value)
