"""The console's other rooms: a person's data (privacy), the outbox (handlers) and the audit trail (admins).

Each view parses the form, calls one staff desk operation and draws a page. An email address is
personal data, so it only ever travels in a form's body, never in a URL: finding a person, their
copy, a correction, an erasure and the audit trail by person are all posts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.console import pages
from chalicelib.console.exchange import Answer, Request, Services
from chalicelib.console.session import StaffSession
from chalicelib.crypto.keys import normalise_email
from chalicelib.forms.fields import Email
from chalicelib.staff.exceptions import ServiceUnavailable, StaffError
from chalicelib.staff.export import Window
from chalicelib.staff.export_jobs import ExportRequest
from chalicelib.staff.sheets import FORMATS
from chalicelib.staff.subject_copy import as_html
from chalicelib.store.items import CONSENT_KINDS

AUDIT_PAGE_ROWS = 100
AUDIT_COLUMNS = ("created_at", "actor", "action", "kinds", "item_count", "outcome", "about_subject", "detail")
OUTBOX_VIEWS = {"waiting": "Pending and failed", "pending": "Pending", "failed": "Failed", "all": "All"}


def _answer(status: int, html: str) -> Answer:
    return Answer(status, html.encode())


def _email(text: str) -> str | None:
    """The address as the forms accept it, or None; the message never repeats it."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return str(TypeAdapter(Email).validate_python(text.strip()))
    except ValidationError:
        return None


def _refused(problem: StaffError, session: StaffSession, title: str = "That did not work") -> Answer:
    answer = _answer(
        503 if isinstance(problem, ServiceUnavailable) else 400,
        pages.message_page(title, str(problem), session),
    )
    if isinstance(problem, ServiceUnavailable):
        answer.headers["Retry-After"] = "30"
    return answer


# -- a person's data ----------------------------------------------------------------------


def people(console: Services, request: Request, session: StaffSession) -> Answer:
    return _answer(
        200,
        pages.render(
            "people.html", session, title="A person's data", found=None, email="", problem=None, done=None
        ),
    )


def people_post(console: Services, request: Request, session: StaffSession) -> Answer:
    """Find, copy, correct, withdraw consents or erase: the form's `action` says which."""
    form = request.form()
    email = _email(form.get("email", ""))
    if email is None:
        return _answer(
            400,
            pages.render(
                "people.html",
                session,
                title="A person's data",
                found=None,
                email="",
                problem="That is not an email address (like ann@example.com).",
                done=None,
            ),
        )
    desk = console.desk_for(session.identity.email)
    action = form.get("action", "find")
    done = None
    try:
        if action == "copy":
            return _copy(desk.person_copy(email), form.get("format", "html"))
        if action == "correct":
            corrected = desk.correct(
                email,
                form.get("reference", "").strip().upper(),
                form.get("field", "").strip(),
                form.get("value", ""),
            )
            moved = " It is now found under the new email address." if corrected.subject_changed else ""
            done = f"Corrected {corrected.field} of {corrected.reference}.{moved}"
            if corrected.subject_changed:
                return _answer(200, pages.message_page("Corrected", done, session))
        elif action == "withdraw":
            done = f"Withdrew {desk.withdraw_consents(email)} consent(s): they leave the mailing list now."
        elif action == "erase":
            return _erase(desk, session, email, form.get("email_again", ""), form.get("confirm") == "yes")
        found = desk.find_person(email)
        consents = desk.consents(email)
    except StaffError as problem:
        return _refused(problem, session)
    return _answer(
        200,
        pages.render(
            "people.html",
            session,
            title="A person's data",
            email=email,
            found=found,
            consents=consents,
            problem=None,
            done=done,
        ),
    )


def _copy(document: dict[str, Any], wanted: str) -> Answer:
    if wanted == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2).encode()
        kind, name = "application/json; charset=utf-8", "personal-data-copy.json"
    else:
        body, kind, name = as_html(document).encode(), "text/html; charset=utf-8", "personal-data-copy.html"
    return Answer(200, body, {"Content-Type": kind, "Content-Disposition": f'attachment; filename="{name}"'})


def _erase(desk: Any, session: StaffSession, email: str, again: str, confirmed: bool) -> Answer:
    """First the list of what will go and a box to type the address again; then, only on a post
    that carries both, the erasure. Nothing is erased on a GET."""
    if not confirmed:
        found = desk.find_person(email)
        return _answer(
            200,
            pages.render(
                "erase.html", session, title="Erase a person's data", email=email, found=found, problem=None
            ),
        )
    if normalise_email(again) != normalise_email(email):
        found = desk.find_person(email)
        return _answer(
            400,
            pages.render(
                "erase.html",
                session,
                title="Erase a person's data",
                email=email,
                found=found,
                problem="The address typed again does not match: nothing was erased.",
            ),
        )
    erased = desk.erase(email)
    words = ", ".join(f"{count} {name.replace('-', ' ')}" for name, count in sorted(erased.items()))
    return _answer(
        200,
        pages.message_page(
            "Erased",
            f"Erased {sum(erased.values())} item(s): {words or 'nothing was stored'}. "
            "Backups age out on their own schedule.",
            session,
        ),
    )


# -- the outbox ---------------------------------------------------------------------------


def outbox(console: Services, request: Request, session: StaffSession) -> Answer:
    which = request.query.get("which", "waiting")
    which = which if which in OUTBOX_VIEWS else "waiting"
    try:
        rows = console.desk_for(session.identity.email).outbox(which)
    except StaffError as problem:
        return _refused(problem, session)
    return _answer(
        200,
        pages.render(
            "outbox.html",
            session,
            title="Outbox",
            rows=rows,
            which=which,
            views=OUTBOX_VIEWS,
            done=request.query.get("done", "")[:200],
        ),
    )


def outbox_post(console: Services, request: Request, session: StaffSession) -> Answer:
    form = request.form()
    desk = console.desk_for(session.identity.email)
    try:
        if form.get("action") == "retry":
            marked, due = desk.retry_due()
            done = f"{len(marked)} of {due} due message(s) will be sent again"
        else:
            was = desk.resend(form.get("reference", "").strip().upper(), form.get("message", "").strip())
            done = "It will be sent again" + (
                " (it was pending, so it may have gone already)" if was == "sending" else ""
            )
    except StaffError as problem:
        return _refused(problem, session)
    from urllib.parse import urlencode

    return Answer(303, b"", {"Location": "/staff/outbox?" + urlencode({"done": done})})


# -- the audit trail ----------------------------------------------------------------------


def _audit_rows(
    console: Services, request: Request, session: StaffSession, email: str | None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    query = request.query
    filters = {name: query.get(name, "")[:80] for name in ("action", "actor", "since", "until")}
    window = Window.of(_moment(filters["since"]), _moment(filters["until"]))
    rows = list(
        console.desk_for(session.identity.email).audit_trail(
            window, email=email, action=filters["action"] or None, actor=filters["actor"] or None
        )
    )
    return rows, filters


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def audit(console: Services, request: Request, session: StaffSession, email: str | None = None) -> Answer:
    try:
        rows, filters = _audit_rows(console, request, session, email)
    except StaffError as problem:
        return _refused(problem, session)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    shown = rows[(page - 1) * AUDIT_PAGE_ROWS : page * AUDIT_PAGE_ROWS]
    return _answer(
        200,
        pages.render(
            "audit.html",
            session,
            title="Audit trail",
            rows=shown,
            total=len(rows),
            filters=filters,
            page=page,
            pages=max(1, -(-len(rows) // AUDIT_PAGE_ROWS)),
            by_person=email is not None,
            columns=AUDIT_COLUMNS,
        ),
    )


def audit_post(console: Services, request: Request, session: StaffSession) -> Answer:
    """The trail about one person: their address in the form's body, matched by its keyed hash."""
    email = _email(request.form().get("email", ""))
    if email is None:
        return _answer(400, pages.message_page("Audit trail", "That is not an email address.", session))
    return audit(console, request, session, email)


def audit_csv(console: Services, request: Request, session: StaffSession) -> Answer:
    try:
        rows, _ = _audit_rows(console, request, session, None)
    except StaffError as problem:
        return _refused(problem, session)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with the mark
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in AUDIT_COLUMNS])
    return Answer(
        200,
        out.getvalue().encode(),
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="audit-trail.csv"',
        },
    )


def _cell(value: Any) -> str:
    from chalicelib.staff.sheets import neutralise

    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise("" if value is None else str(value))


# -- submissions and exports: one filter, read from the URL or a form ---------------------

SUBMISSION_PAGE_ROWS = 50
FILTER_FIELDS = ("kind", "since", "until", "status", "product")


def _listed_kinds() -> list[str]:
    from chalicelib.staff.records import exportable_kinds

    return [kind for kind in exportable_kinds() if kind not in CONSENT_KINDS]


def _export_request(
    values: Mapping[str, str], *, default_format: str = "xlsx"
) -> tuple[ExportRequest, list[str]]:
    """The command's filter (kind, dates, status, product) and a format from a URL's query or a form,
    and what in it is wrong, by field name (nothing wrong is guessed: a bad field is named, not dropped)."""
    from chalicelib.console.queues import CASE_KINDS, _day
    from chalicelib.staff.records import known_statuses, product_ids

    known = _listed_kinds()
    wrong: list[str] = []
    wanted = values.get("kind", "")
    if wanted and wanted != "cases" and wanted not in known:
        wrong.append("kind")
    kinds = [wanted] if wanted in known else (list(CASE_KINDS) if wanted == "cases" else known)
    days = {}
    for name in ("since", "until"):
        days[name] = _day(values.get(name, ""))
        if values.get(name, "").strip() and not days[name]:
            wrong.append(name)
    status = values.get("status", "").strip()
    if status and status not in known_statuses():
        wrong.append("status")
    product = values.get("product", "").strip()
    if product and product not in product_ids():
        wrong.append("product")
    file_format = values.get("format", "") or default_format
    if file_format not in FORMATS:
        wrong.append("format")
    if days["since"] and days["until"] and days["since"] > days["until"]:
        wrong.append("until")
    request = ExportRequest(kinds=kinds, since=days["since"], until=days["until"],
                            status=status if "status" not in wrong else "",
                            product=product if "product" not in wrong else "",
                            file_format=file_format if file_format in FORMATS else default_format)
    return request, wrong


def _wrong_filter(session: StaffSession, wrong: list[str]) -> Answer:
    words = {
        "kind": "the kind is not one of our forms",
        "since": "“from” is not a date",
        "until": "“to” is not a date on or after “from”",
        "status": "the status is not one we use",
        "product": "the product is not one we sell",
        "format": "the format is not XLSX, CSV or JSON Lines",
    }
    return _answer(400, pages.message_page(
        "Check the filter", "; ".join(f"{name}: {words[name]}" for name in wrong) + ". Nothing was read.",
        session))


def _filter_choices() -> dict[str, Any]:
    """What the filter's lists offer: every form, status and product, in words."""
    from chalicelib.rules.catalog import catalog
    from chalicelib.staff.records import known_statuses

    statuses: dict[str, str] = {}
    for kind in _listed_kinds():
        for status in known_statuses():
            words = pages.status_words(kind, status)
            if words != status:
                statuses.setdefault(status, words)
    return {
        "export_kinds": _listed_kinds(),
        "statuses": [(status, statuses.get(status, status.replace("_", " ")))
                     for status in known_statuses() if status not in ("opted_in", "withdrawn")],
        "products": catalog().product_names(),
        "formats": FORMATS,
    }


def submissions(console: Services, request: Request, session: StaffSession) -> Answer:
    """The export's rows for the filter in the URL, a page at a time: the open columns and the name.

    The next page starts after the last row shown (its kind, time and reference: nothing personal
    in the URL), so each page reads only its own rows with the export's own query."""
    from chalicelib.console.queues import CASE_KINDS
    from chalicelib.staff.export import Position

    wanted, wrong = _export_request(request.query)
    if wrong:
        return _wrong_filter(session, wrong)
    after = Position.parse(request.query.get("after", ""), wanted.kinds)
    try:
        rows, following = console.desk_for(session.identity.email).submissions(
            wanted.kinds, wanted.window(), wanted.status or None, wanted.product or None,
            after=after, rows=SUBMISSION_PAGE_ROWS)
    except StaffError as problem:
        return _refused(problem, session)
    chosen = {name: request.query.get(name, "") for name in FILTER_FIELDS}
    chosen.update(since=wanted.since, until=wanted.until, status=wanted.status, product=wanted.product)
    return _answer(200, pages.render(
        "submissions.html", session, title="Submissions", wanted=wanted, chosen=chosen, rows=rows,
        following=following.token if following else "", first_page=after is None,
        case_kinds=CASE_KINDS, **_filter_choices()))


def submission_page(console: Services, request: Request, session: StaffSession, reference: str) -> Answer:
    """One submission of a kind that is no case (an enquiry, feedback, a registration), as exported."""
    from chalicelib.console.queues import CASE_KINDS

    try:
        shown = console.desk_for(session.identity.email).submission(reference)
    except StaffError as problem:
        answer = _refused(problem, session, "No such submission")
        answer.status = 503 if answer.status == 503 else 404
        return answer
    if shown["kind"] in CASE_KINDS:
        return Answer(303, b"", {"Location": f"/staff/cases/{shown['reference']}"})
    return _answer(200, pages.render("submission.html", session, title=shown["reference"], row=shown))


def exports(console: Services, request: Request, session: StaffSession) -> Answer:
    wanted, _ = _export_request(request.query)
    return _answer(
        200,
        pages.render(
            "exports.html",
            session,
            title="Download submissions",
            wanted=wanted,
            chosen={name: request.query.get(name, "") for name in FILTER_FIELDS},
            **_filter_choices(),
        ),
    )


def exports_post(console: Services, request: Request, session: StaffSession) -> Answer:
    """Start the export job for a filter (the downloads page's form, or a list of submissions')."""
    wanted, wrong = _export_request(request.form())
    if wrong:
        return _wrong_filter(session, wrong)
    try:
        job = console.export_jobs().create(session.identity.email, wanted)
    except StaffError as problem:
        return _refused(problem, session)
    console.start_export(job.job_id, session.identity.email)
    return Answer(303, b"", {"Location": f"/staff/exports/{job.job_id}"})


def export_page(console: Services, request: Request, session: StaffSession, job_id: str) -> Answer:
    try:
        job = console.export_jobs().load(job_id, session.identity.email)
    except StaffError as problem:
        return _refused(problem, session, "No such export")
    answer = _answer(200, pages.render("export.html", session, title="Your download", job=job))
    if not job.finished:
        # Without a script, the page reloads itself until the file is ready.
        answer.headers["Refresh"] = "2"
    return answer


def export_file(console: Services, request: Request, session: StaffSession, job_id: str) -> Answer:
    try:
        jobs = console.export_jobs()
        url = jobs.link(jobs.load(job_id, session.identity.email))
    except StaffError as problem:
        return _refused(problem, session, "No such export")
    return Answer(303, b"", {"Location": url})


VIEWS: dict[str, Callable[..., Answer]] = {
    "submissions": submissions,
    "submission_page": submission_page,
    "exports": exports,
    "exports_post": exports_post,
    "export_page": export_page,
    "export_file": export_file,
    "people": people,
    "people_post": people_post,
    "outbox": outbox,
    "outbox_post": outbox_post,
    "audit": audit,
    "audit_post": audit_post,
    "audit_csv": audit_csv,
}
