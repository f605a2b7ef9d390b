"""Staff work on cases: the open list with its promise clock, one case in full, and changes to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from chalicelib.cases.book import CaseBook, Change, open_message, open_note, open_reply
from chalicelib.intake.warranty_link import warranty_of
from chalicelib.languages import language_name
from chalicelib.rules.lifecycles import CasePolicy, case_policy
from chalicelib.staff.attachments import attachments_of, reply_files
from chalicelib.staff.context import StaffContext
from chalicelib.store import items
from chalicelib.store.table import from_dynamodb

# Table columns and headings; JSON lines carry the same keys.
LIST_COLUMNS = {"reference": "reference", "kind": "kind", "status": "status", "handler": "handler",
                "age_days": "age (days)", "due_on": "promised by", "overdue": "overdue",
                "rating": "rating", "created_at": "received (UTC)"}
# How far back `aftercare cases --closed` looks by default, by the day a case was received.
CLOSED_DAYS = 90


def case_kinds() -> list[str]:
    return list(case_policy().lifecycles)


def case_statuses() -> list[str]:
    """Every open status of every kind of case, each once."""
    statuses: dict[str, None] = {}
    for lifecycle in case_policy().lifecycles.values():
        statuses.update(dict.fromkeys(lifecycle.open_statuses))
    return list(statuses)


@dataclass
class StaffCases:
    """The case book as one staff member uses it: their identity and clock on every change."""

    staff: StaffContext
    policy: CasePolicy

    @cached_property
    def book(self) -> CaseBook:
        return CaseBook(self.staff.table, self.staff.cipher, self.policy, self.staff.now)

    def listing(self, *, kinds: list[str], status: str | None = None, handler: str | None = None,
                overdue_only: bool = False) -> list[dict[str, Any]]:
        """Open cases, overdue first (most overdue at the top), then by due date, then oldest."""
        today = self.staff.now().date()
        rows = []
        for item in self.book.open_cases(kinds):
            if status and item.get("status") != status:
                continue
            if handler and (item.get(items.HANDLER_ATTRIBUTE) or "").casefold() != handler.casefold():
                continue
            row = self.row(item, today)
            if overdue_only and not row["overdue"]:
                continue
            rows.append(row)
        rows.sort(key=lambda row: (not row["overdue"], row["due_on"] or "9999", row["created_at"]))
        return rows

    def row(self, item: dict[str, Any], today: date) -> dict[str, Any]:
        due = self.book.due_on(item)
        created = date.fromisoformat(str(item["created_at"])[:10])
        return {
            "reference": item["reference"], "kind": item["kind"], "status": item["status"],
            "handler": item.get(items.HANDLER_ATTRIBUTE), "age_days": (today - created).days,
            "due_on": due.isoformat() if due else None, "overdue": bool(due and due < today),
            "rating": item.get(items.RATING_ATTRIBUTE), "created_at": item["created_at"],
            "product": (item.get("fields") or {}).get("product"),
        }

    def closed_listing(
        self, *, kinds: list[str], since: date, rated_only: bool = False
    ) -> list[dict[str, Any]]:
        """Closed cases received since `since`, newest first, with the customer's rating if they gave
        one: a Query per kind and final status on the by-kind index (closed cases leave the
        open-cases index)."""
        today = self.staff.now().date()
        now_epoch = items.epoch(self.staff.now())
        rows: list[dict[str, Any]] = []
        for kind in kinds:
            lifecycle = self.policy.lifecycle(kind)
            for status in (name for name, each in lifecycle.statuses.items() if each.closed):
                for page in self.staff.table.query_kind_pages(
                    kind, since=f"{since.isoformat()}T00:00:00.000000Z", status=status, now_epoch=now_epoch
                ):
                    rows.extend(self.row(from_dynamodb(raw), today) for raw in page)
        if rated_only:
            rows = [row for row in rows if row["rating"] is not None]
        rows.sort(key=lambda row: row["created_at"], reverse=True)
        return rows

    def show(self, reference: str) -> dict[str, Any]:
        """Everything about one case, decrypted: fields, status, promise, history, warranty, files."""
        item = self.book.read(reference)
        kind = item["kind"]
        personal = (self.staff.cipher.open(item["personal"], kind=kind, reference=reference)
                    if item.get("personal") else {})
        status = self.policy.lifecycle(kind).status(item["status"])
        promise = self.policy.promise_of(kind, item["status"])
        due = self.book.due_on(item)
        entries = self.book.history(reference)
        history = [
            {
                "at": entry["created_at"], "by": entry["actor"], "status": entry["status"],
                "handler": entry.get("handler"), "window": entry.get(items.WINDOW_ATTRIBUTE),
                "note": open_note(self.staff.cipher, entry),
                "told_customer": open_message(self.staff.cipher, entry),
                # A customer's emailed reply (its new text), its files' count, and why it is held.
                "customer_wrote": open_reply(self.staff.cipher, entry),
                "files": len(entry.get(items.REPLY_FILES_ATTRIBUTE) or ()),
                "held": entry.get(items.HELD_ATTRIBUTE),
            }
            for entry in entries
        ]
        shown: dict[str, Any] = {
            "reference": reference, "kind": kind, "created_at": item["created_at"],
            "version": int(item.get(items.VERSION_ATTRIBUTE) or 0),
            "status": item["status"], "status_words": status.words,
            "status_since": item.get(items.STATUS_SINCE_ATTRIBUTE) or item["created_at"],
            "handler": item.get(items.HANDLER_ATTRIBUTE),
            "visit_window": item.get(items.WINDOW_ATTRIBUTE),
            "next_moves": list(status.moves),
            "promise": promise.words if promise else None,
            "due_on": due.isoformat() if due else None,
            "rating": item.get(items.RATING_ATTRIBUTE),
            "rated_at": item.get(items.RATED_AT_ATTRIBUTE),
            # The customer's language (their emails are in it); the staff side stays in English.
            "language": language_name(items.language_of(item)),
            "language_code": items.language_of(item),  # what the saved replies are offered in
            "rating_feedback": item.get(items.RATING_REFERENCE_ATTRIBUTE),
            # Files by name, size and check state; the upload ids they go by stay internal.
            "fields": {name: value for name, value in {**(item.get("fields") or {}), **personal}.items()
                       if name != "attachments"},
            "attachments": [attachment.shown() for attachment in attachments_of(
                self.staff.table, self.staff.cipher, item, items.epoch(self.staff.now()),
                reply_files(entries))],
            "history": history,
        }
        warranty = warranty_of(self.staff.table, item, self.staff.now())
        if warranty is not None:
            shown["warranty"] = warranty
        return shown

    def change(self, reference: str, change: Change, *,
               expected_version: int | None = None) -> dict[str, Any]:
        return self.book.change(reference, change, actor=self.staff.actor, expected_version=expected_version)

