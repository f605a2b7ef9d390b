"""What a stored item looks like to staff: its columns, in the order of the kind's model, and its values."""

from __future__ import annotations

import typing
from collections.abc import Iterable
from datetime import date
from typing import Any

from chalicelib.crypto import SubmissionCipher
from chalicelib.forms import FORMS
from chalicelib.items import CONSENT_KIND, CONSENT_STATUSES, OPEN, RESOLVED

BASE_COLUMNS = ("reference", "kind", "created_at", "status")
# Marketing consent is not a form: intake.py writes it from a form's tick box.
CONSENT_COLUMNS = (
    "email", "name", "channel", "given_at", "source_form", "source_reference",
    "notice_version", "withdrawn_at",
)
# Kinds stored as "open" are cases staff work on; these record how each was closed.
OPEN_STATUS = OPEN
RESOLVED_STATUS = RESOLVED
CASE_COLUMNS = ("resolved_at", "resolved_by", "heard_by", "action_taken")
CASE_PERSONAL = ("heard_by", "action_taken")


def known_statuses() -> list[str]:
    """Every status an item can have: each form's first one, a case's resolved, a consent's two."""
    statuses = dict.fromkeys(form.initial_status for form in FORMS.values())
    statuses.update(dict.fromkeys((RESOLVED_STATUS, *CONSENT_STATUSES)))
    return list(statuses)


def case_kinds() -> list[str]:
    return [kind for kind, form in FORMS.items() if form.initial_status == OPEN_STATUS]


def exportable_kinds() -> list[str]:
    return [*FORMS, CONSENT_KIND]


def columns_for(kind: str) -> tuple[str, ...]:
    """A kind's columns: the shared ones, then the model's fields in the model's order."""
    if kind == CONSENT_KIND:
        return BASE_COLUMNS + CONSENT_COLUMNS
    form = FORMS[kind]
    columns = BASE_COLUMNS + tuple(form.model.model_fields)
    if form.initial_status == OPEN_STATUS:
        columns += CASE_COLUMNS
    return columns


def date_columns(kind: str) -> tuple[str, ...]:
    """The kind's columns that hold a calendar date (the model's date fields, e.g. purchase_date)."""
    form = FORMS.get(kind)
    if form is None:
        return ()
    return tuple(
        name for name, info in form.model.model_fields.items()
        if date in (info.annotation, *typing.get_args(info.annotation))
    )


def union_columns(kinds: Iterable[str]) -> tuple[str, ...]:
    """One header for several kinds (CSV): each kind's columns in turn, each name once."""
    seen: dict[str, None] = {}
    for kind in kinds:
        seen.update(dict.fromkeys(columns_for(kind)))
    return tuple(seen)


def resolution_context(kind: str) -> str:
    """The encryption context's kind for a case's resolution note: it cannot pass as personal fields."""
    return f"{kind}#resolution"


def staff_view(item: dict[str, Any], cipher: SubmissionCipher) -> dict[str, Any]:
    """One stored item as staff read it: open fields and decrypted personal fields side by side."""
    kind, reference = item["kind"], item["reference"]
    row: dict[str, Any] = {
        "reference": reference, "kind": kind,
        "created_at": item.get("created_at"), "status": item.get("status"),
    }
    row.update(item.get("fields") or {})
    if item.get("personal"):
        row.update(cipher.open(item["personal"], kind=kind, reference=reference))
    if item.get("resolution"):
        row.update(cipher.open(item["resolution"], kind=resolution_context(kind), reference=reference))
        row["resolved_at"] = item.get("resolved_at")
        row["resolved_by"] = item.get("resolved_by")
    return row
