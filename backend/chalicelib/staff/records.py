"""What a stored item looks like to staff: its columns, in the order of the kind's model, and its values."""

from __future__ import annotations

import typing
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from chalicelib.cases.follow_up import TOKEN_FIELD
from chalicelib.crypto.keys import SubmissionCipher
from chalicelib.forms import FORMS
from chalicelib.forms.attachments import MAX_FILES
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.staff.attachments import attachments_of
from chalicelib.store.items import (
    CONSENT_KINDS,
    CONSENT_STATUSES,
    HANDLER_ATTRIBUTE,
    RATED_AT_ATTRIBUTE,
    RATING_ATTRIBUTE,
    STATUS_SINCE_ATTRIBUTE,
    WINDOW_ATTRIBUTE,
)
from chalicelib.store.table import SubmissionTable

BASE_COLUMNS = ("reference", "kind", "created_at", "status")
# Marketing consent is not a form: intake.py writes it from a form's tick box.
CONSENT_COLUMNS = (
    "email", "name", "channel", "given_at", "source_form", "source_reference",
    "notice_version", "withdrawn_at",
)
# Kinds with a lifecycle are cases: where each stands (its history: `aftercare case show`).
CASE_COLUMNS = (HANDLER_ATTRIBUTE, STATUS_SINCE_ATTRIBUTE, "updated_at", WINDOW_ATTRIBUTE,
                RATING_ATTRIBUTE, RATED_AT_ATTRIBUTE)
# A submission's files: a list in JSON Lines; in the flat formats (CSV, XLSX) three
# columns per file, its name, its size in bytes (a number) and its check state.
ATTACHMENTS = "attachments"
ATTACHMENT_CELLS = (("", "name"), ("_bytes", "bytes"), ("_check", "check"))
# Stored with a submission but never shown to staff: the signed follow-up link is a
# credential (it rates a case), and the case reference it carries is its own column.
SECRET_FIELDS = frozenset({TOKEN_FIELD})
# The headers of the flat formats (CSV, XLSX) for what is not a form field: a form's
# fields are headed by the title the customer read (JSON Lines keeps every name as its key).
COLUMN_LABELS = {
    "reference": "Reference", "kind": "Form", "created_at": "Sent at (UTC)", "status": "Status",
    HANDLER_ATTRIBUTE: "Handler", STATUS_SINCE_ATTRIBUTE: "In this status since (UTC)",
    "updated_at": "Last changed (UTC)", WINDOW_ATTRIBUTE: "Visit window",
    RATING_ATTRIBUTE: "Customer's rating", RATED_AT_ATTRIBUTE: "Rated at (UTC)",
    "email": "Email address", "name": "Name", "channel": "How we may contact them",
    "given_at": "Consent given at (UTC)", "source_form": "Given on the form",
    "source_reference": "Reference of that form", "notice_version": "Privacy notice version",
    "withdrawn_at": "Withdrawn at (UTC)",
}
ATTACHMENT_LABELS = {"": "File {number}", "_bytes": "File {number} size (bytes)",
                     "_check": "File {number} check"}


def known_statuses() -> list[str]:
    """Every status an item can have: each form's first one, every case status, a consent's two."""
    statuses = dict.fromkeys(form.initial_status for form in FORMS.values())
    for lifecycle in case_policy().lifecycles.values():
        statuses.update(dict.fromkeys(lifecycle.statuses))
    statuses.update(dict.fromkeys(CONSENT_STATUSES))
    return list(statuses)


def exportable_kinds() -> list[str]:
    return [*FORMS, *CONSENT_KINDS]


PRODUCT_FIELD = "product"


def product_ids() -> list[str]:
    """Every product a filter may name: the catalog's ids."""
    return list(catalog().products)


def product_kinds() -> list[str]:
    """The kinds whose form asks which product (a filter by product leaves the others out)."""
    return [kind for kind, form in FORMS.items() if PRODUCT_FIELD in form.model.model_fields]


def columns_for(kind: str) -> tuple[str, ...]:
    """A kind's columns: the shared ones, then the model's fields in the model's order."""
    if kind in CONSENT_KINDS:
        return BASE_COLUMNS + CONSENT_COLUMNS
    form = FORMS[kind]
    columns = BASE_COLUMNS + tuple(name for name in form.model.model_fields if name not in SECRET_FIELDS)
    if kind in case_policy().lifecycles:
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


def flat_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The columns of a flat format: `attachments` becomes each file's name, bytes and check."""
    flat: list[str] = []
    for name in columns:
        if name == ATTACHMENTS:
            flat += [f"attachment_{number}{suffix}" for number in range(1, MAX_FILES + 1)
                     for suffix, _ in ATTACHMENT_CELLS]
        else:
            flat.append(name)
    return tuple(flat)


def field_label(model: Any, name: str) -> str:
    """A form field's title as the form shows it, without the form's "(optional)"."""
    info = model.model_fields[name]
    return (info.title or name.replace("_", " ").capitalize()).removesuffix(" (optional)")


@cache
def _labels() -> dict[str, str]:
    """Every column's header: its own label, else the title of the first form that has it.

    Two names that would read alike keep their name beside the label, so no two
    headers of one file are the same."""
    labels: dict[str, str] = {}
    for form in FORMS.values():
        for name in form.model.model_fields:
            labels.setdefault(name, field_label(form.model, name))
    for name, label in COLUMN_LABELS.items():
        labels.setdefault(name, label)
    for number in range(1, MAX_FILES + 1):
        for suffix, _ in ATTACHMENT_CELLS:
            labels[f"attachment_{number}{suffix}"] = ATTACHMENT_LABELS[suffix].format(number=number)
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {name: f"{label} ({name})" if seen[label] > 1 else label for name, label in labels.items()}


def column_labels(columns: Iterable[str]) -> tuple[str, ...]:
    """The headers of a flat format's columns, in the words of the forms."""
    labels = _labels()
    return tuple(labels.get(name, name) for name in columns)


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for `flat_columns`: each file's cells beside the rest (a refusal says why)."""
    files = row.get(ATTACHMENTS)
    if not isinstance(files, list):
        return row
    flat = dict(row)
    for number, shown in enumerate(files, 1):
        if not isinstance(shown, dict):
            continue
        for suffix, key in ATTACHMENT_CELLS:
            flat[f"attachment_{number}{suffix}"] = shown.get(key)
        if shown.get("refusal"):
            flat[f"attachment_{number}_check"] = f"{shown.get('check')}: {shown['refusal']}"
    return flat


def staff_view(
    item: dict[str, Any], cipher: SubmissionCipher, table: SubmissionTable | None = None,
    now_epoch: int = 0,
) -> dict[str, Any]:
    """One stored item as staff read it: open fields and decrypted personal fields side by side;
    with `table`, its files by name, size and check state instead of their upload ids."""
    kind, reference = item["kind"], item["reference"]
    row: dict[str, Any] = {
        "reference": reference, "kind": kind,
        "created_at": item.get("created_at"), "status": item.get("status"),
    }
    row.update({name: value for name, value in (item.get("fields") or {}).items()
                if name not in SECRET_FIELDS})
    if item.get("personal"):
        row.update(cipher.open(item["personal"], kind=kind, reference=reference))
    if kind in case_policy().lifecycles:
        row.update({name: item.get(name) for name in CASE_COLUMNS})
    if table is not None and row.get(ATTACHMENTS):
        found = attachments_of(table, cipher, item, now_epoch)
        row[ATTACHMENTS] = [attachment.shown() for attachment in found]
    return row
