"""The copy of their data a person receives: a readable document, in JSON and in HTML.

One section per submission, in the words of the form they filled in, with
dates as dates; the records derived from a submission (a registered
warranty, a marketing consent) are told beside it or in their own section.
Bookkeeping that says nothing about the person (keys, hashes, retry records,
epoch numbers) stays out, and so do staff's internal notes: the copy is written
for the customer, so it says what we did in the words the track page uses and
what we told them, files by the names they gave them, never an upload id.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.cases.book import open_message, open_reply
from chalicelib.forms import FORMS
from chalicelib.notify.attachment_notices import upload_ids_of
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.staff.attachments import attachments_of, reply_files
from chalicelib.staff.context import StaffContext
from chalicelib.staff.records import SECRET_FIELDS, field_label
from chalicelib.store.items import (
    HELD_ATTRIBUTE,
    OPTED_IN,
    RECEIVED,
    REPLY_ATTRIBUTE,
    REPLY_FILES_ATTRIBUTE,
    WITHDRAWN,
    epoch,
    is_consent,
    parsed_timestamp,
    record_type,
)

__all__ = ["answer_words", "as_html", "field_label", "readable_copy", "status_words"]

TITLE = "Your data held by Aftercare"
ABOUT = ("Everything we store about the person who uses this email address, as on the day "
         "this copy was made: what you sent us on each form, what we did about it, your "
         "choices about our emails, and how long we keep each of them.")
CONSENT_LABELS = {
    "agreed_to": "What you agreed to",
    "email": "Email address", "name": "Name", "channel": "How we may contact you",
    "given_on": "Given on", "source_form": "On the form", "notice_version": "Privacy notice version",
    "withdrawn_on": "Withdrawn on",
}
# Statuses outside any case lifecycle (forms that are not cases, and consents), in words.
STATUS_WORDS = {RECEIVED: "We have received it.", OPTED_IN: "You agreed to these emails.",
                WITHDRAWN: "You withdrew this agreement."}


def readable_copy(staff: StaffContext, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The person's items as a document: submissions, consents, and when each will be deleted."""
    warranties = {item.get("reference"): item for item in items if record_type(item) == "warranty"}
    histories: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted((item for item in items if record_type(item) == "case_history"),
                        key=lambda item: str(item.get("sk"))):
        histories.setdefault(str(entry["reference"]), []).append(entry)
    submissions = sorted(
        (item for item in items if record_type(item) == "submission" and item.get("kind") in FORMS),
        key=lambda item: str(item.get("created_at")),
    )
    consents = sorted(
        (item for item in items if is_consent(item)),
        key=lambda item: str(item.get("created_at")),
    )
    return {
        "title": TITLE,
        "prepared_on": staff.now().date().isoformat(),
        "about": ABOUT,
        "submissions": [
            _submission(staff, item, warranties.get(item["reference"]), histories.get(item["reference"], []))
            for item in submissions
        ],
        "marketing_consents": [_consent(staff, item) for item in consents],
    }


def _submission(staff: StaffContext, item: dict[str, Any], warranty: dict[str, Any] | None,
                history: list[dict[str, Any]]) -> dict[str, Any]:
    form = FORMS[item["kind"]]
    kind, reference = form.kind, item["reference"]
    values = {**(item.get("fields") or {})}
    if item.get("personal"):
        values.update(staff.cipher.open(item["personal"], kind=kind, reference=reference))
    if upload_ids_of(item):
        # The files by the names the customer's device gave them (the upload ids stay internal).
        values["attachments"] = ", ".join(
            attachment.name for attachment in
            attachments_of(staff.table, staff.cipher, item, epoch(staff.now())))
    section: dict[str, Any] = {
        "heading": f"{form.title} {reference}",
        "form": form.title,
        "reference": reference,
        "sent_on": _day(item.get("created_at")),
        "status": status_words(kind, item.get("status")),
        "what_you_told_us": [
            {"question": field_label(form.model, name),
             "answer": answer_words(form.model, name, values[name])}
            for name in form.model.model_fields
            if values.get(name) not in (None, "") and name not in SECRET_FIELDS
        ],
    }
    if item.get("corrected_at"):
        section["corrected_on"] = _day(item["corrected_at"])
    # What we did about it: each move of the case in the track page's words, with what we
    # told them. Staff's internal notes are not written for the customer and never appear.
    did = [
        {"question": f"{_day(entry.get('created_at'))}: {status_words(kind, entry.get('status'))}",
         "answer": open_message(staff.cipher, entry) or "-"}
        for entry in history
        if entry.get("moved", True) or entry.get("customer_message")
    ]
    if did:
        section["what_we_did"] = did
    # What they wrote back by email (chalicelib.inbound), with the files they sent; a reply held
    # because it came from another address is not theirs to be told of.
    wrote = _replies(staff, item, history)
    if wrote:
        section["what_you_wrote_to_us"] = wrote
    if warranty is not None:
        section["warranty"] = {
            "registered_on": warranty.get("registered_on"),
            "covered_until": warranty.get("expires_on"),
        }
    section["kept_until"] = _epoch_day(item.get("expires_at"))
    return section


def _replies(staff: StaffContext, item: dict[str, Any],
             history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    theirs = [entry for entry in history if entry.get(REPLY_ATTRIBUTE) and not entry.get(HELD_ATTRIBUTE)]
    if not theirs:
        return []
    named = attachments_of(staff.table, staff.cipher, {**item, "fields": {}}, epoch(staff.now()),
                           reply_files(theirs))
    names = iter(attachment.name for attachment in named)
    wrote = []
    for entry in theirs:
        files = [next(names) for _ in entry.get(REPLY_FILES_ATTRIBUTE) or ()]
        answer = open_reply(staff.cipher, entry) or "-"
        wrote.append({"question": _day(entry.get("created_at")),
                      "answer": answer + (f" (files: {', '.join(files)})" if files else "")})
    return wrote


def _consent(staff: StaffContext, item: dict[str, Any]) -> dict[str, Any]:
    fields = item.get("fields") or {}
    contact = staff.cipher.open(item["personal"], kind=item["kind"], reference=item["reference"]) \
        if item.get("personal") else {}
    source = FORMS.get(str(fields.get("source_form")))
    notice = staff.policy.notices.get(str(item.get("kind")))
    return {
        "reference": item["reference"],
        "status": status_words(str(item.get("kind")), item.get("status")),
        "agreed_to": notice.title if notice else item.get("kind"),
        "email": contact.get("email"),
        "name": contact.get("name"),
        "channel": fields.get("channel"),
        "given_on": _day(fields.get("given_at")),
        "source_form": source.title if source else fields.get("source_form"),
        "notice_version": fields.get("notice_version"),
        "withdrawn_on": _day(fields.get("withdrawn_at")),
        "kept_until": _epoch_day(item.get("expires_at")),
    }


def status_words(kind: str, status: Any) -> str | None:
    """A status as the customer reads it on the track page (the lifecycle's words)."""
    if status is None:
        return None
    lifecycle = case_policy().lifecycles.get(kind)
    if lifecycle is not None and status in lifecycle.statuses:
        return lifecycle.statuses[status].words
    return STATUS_WORDS.get(str(status), str(status).replace("_", " ").capitalize())


def answer_words(model: Any, name: str, value: Any) -> Any:
    """A value as the form showed it: a choice by its label, a product by its name, yes or no."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    extra = model.model_fields[name].json_schema_extra
    labels = extra.get("x-labels") if isinstance(extra, dict) else None
    if isinstance(labels, dict) and value in labels:
        return labels[value]
    if name == "product" and value in catalog().products:
        return catalog().products[value].name
    return value


def _day(stored: Any) -> str | None:
    """The stored UTC time as its date (YYYY-MM-DD)."""
    moment = parsed_timestamp(stored)
    return moment.astimezone(UTC).date().isoformat() if moment else None


def _epoch_day(expires_at: Any) -> str | None:
    if expires_at is None:
        return None
    return datetime.fromtimestamp(int(expires_at), UTC).date().isoformat()


# -- HTML ------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
dl { display: grid; grid-template-columns: 14rem 1fr; gap: .3rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; white-space: pre-wrap; }
"""


def as_html(document: dict[str, Any]) -> str:
    """The same document as a page to read or print: no script, no outside requests."""
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_e(document['title'])}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<h1>{_e(document['title'])}</h1>",
        f"<p>{_e(document['about'])}</p>",
        f"<p>Prepared on {_e(_long(document['prepared_on']))}.</p>",
    ]
    if not document["submissions"] and not document["marketing_consents"]:
        parts.append("<p>We hold nothing about this email address.</p>")
    for section in document["submissions"]:
        parts.append(f"<section><h2>{_e(section['heading'])}</h2>")
        parts.append(_list([
            ("Sent on", _long(section["sent_on"])), ("Status", section["status"]),
            ("Corrected on", _long(section.get("corrected_on"))),
        ]))
        parts.append("<h3>What you told us</h3>")
        parts.append(_list([(pair["question"], pair["answer"]) for pair in section["what_you_told_us"]]))
        if section.get("what_we_did"):
            parts.append("<h3>What we did</h3>")
            parts.append(_list([(pair["question"], pair["answer"]) for pair in section["what_we_did"]]))
        if section.get("what_you_wrote_to_us"):
            parts.append("<h3>What you wrote to us</h3>")
            parts.append(_list([(pair["question"], pair["answer"])
                                for pair in section["what_you_wrote_to_us"]]))
        if section.get("warranty"):
            parts.append("<h3>Your warranty</h3>")
            parts.append(_list([("Registered on", _long(section["warranty"]["registered_on"])),
                                ("Covered until", _long(section["warranty"]["covered_until"]))]))
        parts.append(f"<p>We delete this on {_e(_long(section['kept_until']))}.</p></section>")
    if document["marketing_consents"]:
        parts.append("<section><h2>Your choices about our emails</h2>")
        for consent in document["marketing_consents"]:
            parts.append(_list([
                (label, _long(consent.get(name)) if name.endswith("_on") else consent.get(name))
                for name, label in CONSENT_LABELS.items()
            ] + [("Status", consent["status"]), ("Kept until", _long(consent.get("kept_until")))]))
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _list(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<dt>{_e(term)}</dt><dd>{_e(value)}</dd>" for term, value in pairs
                   if value not in (None, ""))
    return f"<dl>{rows}</dl>"


def _long(day: Any) -> str | None:
    """2026-04-01 as 1 April 2026."""
    if not day:
        return None
    try:
        parsed = date.fromisoformat(str(day))
    except ValueError:
        return str(day)
    return f"{parsed.day} {parsed:%B %Y}"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))
