"""The console's pages, drawn on the server from templates; everything shown is escaped.

Jinja2 escapes every value (autoescape), so whatever a customer typed (a name like
`<script>`, an attribute, a `javascript:` link) is text on the page, never markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2

from chalicelib.console import queues
from chalicelib.console.session import StaffSession
from chalicelib.forms import FORMS
from chalicelib.languages import SOURCE_LANGUAGE, language_name, languages
from chalicelib.notify.attachment_notices import size_words
from chalicelib.rules.lifecycles import IllegalMove, case_policy
from chalicelib.rules.saved_replies import for_status
from chalicelib.rules.visit_windows import window_words
from chalicelib.staff.attachments import OPENS_IN_BROWSER
from chalicelib.staff.subject_copy import answer_words, field_label

HANDLER_GROUPS = frozenset({"handlers", "admins"})


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["visible"] = visible
    environment.globals.update(
        kind_words={kind: form.title for kind, form in FORMS.items()},
        status_words=status_words,
        long_day=long_day,
        long_time=long_time,
        label=label,
        answer=answer,
        window_words=window_words,
        language_name=language_name,
        size_words=lambda size: size_words(size) or "size unknown",
        opens=OPENS_IN_BROWSER,
        queues=queues.QUEUES,
        kinds=queues.CASE_KINDS,
    )
    return environment


def render(template: str, session: StaffSession | None, **context: Any) -> str:
    groups = set(session.identity.groups) if session else set()
    is_handler = bool(groups & HANDLER_GROUPS)
    return (
        _environment()
        .get_template(template)
        .render(
            session=session,
            is_handler=is_handler,
            is_privacy=bool(groups & {"privacy", "admins"}),
            is_admin="admins" in groups,
            **context,
        )
    )


def status_words(kind: str, status: str) -> str:
    try:
        return case_policy().lifecycle(kind).status(status).words
    except (KeyError, ValueError, IllegalMove):  # no case, or not one of its statuses: as stored
        return status


def label(kind: str, name: str) -> str:
    """A field as its form asks for it."""
    model = FORMS[kind].model if kind in FORMS else None
    if model is not None and name in model.model_fields:
        return field_label(model, name)
    return name.replace("_", " ").capitalize()


def answer(kind: str, name: str, value: Any) -> str:
    """A stored answer as the form showed it (a choice by its label, yes or no), bidi controls visible."""
    model = FORMS[kind].model if kind in FORMS else None
    if value is None:
        return "–"
    if model is not None and name in model.model_fields:
        value = answer_words(model, name, value)
    return visible(str(value))


# Characters that turn the text after them around or hide it: shown by name, so a customer's
# text cannot pass for something else on a staff page (a file name ending "gpj.exe").
BIDI_CONTROLS = {
    chr(code): f"[U+{code:04X}]"
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
}
_BIDI = re.compile("[" + "".join(BIDI_CONTROLS) + "]")


def visible(text: Any) -> str:
    return _BIDI.sub(lambda found: BIDI_CONTROLS[found.group()], "" if text is None else str(text))


def long_day(stored: Any) -> str:
    """A stored date or time as staff read it: 7 December 2026."""
    try:
        day = date.fromisoformat(str(stored)[:10])
    except ValueError:
        return str(stored or "–")
    return f"{day.day} {day:%B %Y}"


def long_time(stored: Any) -> str:
    """A stored time as staff read it: 7 December 2026, 14:05 UTC."""
    try:
        moment = datetime.fromisoformat(str(stored).replace("Z", "+00:00"))
    except ValueError:
        return str(stored or "–")
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def message_page(
    title: str, message: str, session: StaffSession | None = None, *, sign_in: bool = False
) -> str:
    return render("message.html", session, title=title, message=message, sign_in=sign_in)


def home_page(session: StaffSession) -> str:
    return render("home.html", session, title="Staff console")


def queue_page(
    session: StaffSession,
    view: queues.View,
    counts: Mapping[str, int],
    rows: list[dict[str, Any]],
    by_kind: Mapping[str, int],
) -> str:
    statuses: dict[str, str] = {}
    for kind in queues.CASE_KINDS:
        for name in case_policy().lifecycle(kind).statuses:
            statuses.setdefault(name, status_words(kind, name))
    filtered = any((view.kind, view.status, view.handler, view.product, view.since, view.until, view.overdue))
    return render(
        "queue.html",
        session,
        title="Cases",
        view=view,
        counts=counts,
        rows=rows,
        shown=view.page_of(rows),
        pages=view.pages(rows),
        statuses=sorted(statuses.items()),
        filtered=filtered,
        by_kind=by_kind,
    )


def search_page(session: StaffSession, search: str, cases: list[dict[str, Any]] | None) -> str:
    return render("search.html", session, title="Find a case", search=search, cases=cases)


def reply_language(case: Mapping[str, Any]) -> str:
    """The language the case's saved replies are offered in: the customer's, when the customer
    side speaks it (else English, and the page says so)."""
    code = str(case.get("language_code") or SOURCE_LANGUAGE)
    return code if code in languages() else SOURCE_LANGUAGE


def started_reply(case: dict[str, Any], saved: str) -> dict[str, str]:
    """The reply box started from saved reply number `saved` (from 1) of the case's status, in the
    customer's language, or empty.

    A link per saved reply (a GET: it changes nothing) fills the box, so it works without JavaScript."""
    replies = for_status(case["kind"], case["status"], reply_language(case))
    if not saved.isdigit() or not 1 <= int(saved) <= len(replies):
        return {}
    return {"message": replies[int(saved) - 1].text}


def case_page(
    session: StaffSession,
    case: dict[str, Any],
    *,
    problem: str | None,
    typed: Mapping[str, str],
    me: str,
    done: bool = False,
) -> str:
    lifecycle = case_policy().lifecycle(case["kind"])
    moves = [lifecycle.status(name) for name in case["next_moves"]]
    try:
        seen_version: int | None = int(typed["version"]) if problem and typed.get("version") else None
    except ValueError:
        seen_version = None
    return render(
        "case.html",
        session,
        title=f"{case['reference']}",
        case=case,
        moves=moves,
        saved=for_status(case["kind"], case["status"], reply_language(case)),
        saved_in=reply_language(case),
        thread=[entry for entry in case["history"]
                if entry.get("told_customer") or entry.get("customer_wrote")],
        problem=problem,
        typed=typed,
        me=me,
        done=done,
        seen_version=seen_version,
    )
