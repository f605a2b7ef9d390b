"""The console's queues and filters: which cases a list shows, read from and written to the URL.

Pure: rows in (as the staff desk lists them), rows out. A filtered list is its URL, so a
bookmark is a saved view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.rules.lifecycles import case_policy

CASE_KINDS = list(case_policy().lifecycles)
PAGE_ROWS = 50
CLOSED_DAYS = 30
QUEUES = {
    "open": "All open",
    "overdue": "Overdue",
    "unassigned": "Unassigned",
    "mine": "Mine",
    "closed": "Recently closed",
}
FILTERS = ("kind", "status", "handler", "product", "since", "until", "overdue")


@dataclass(frozen=True)
class View:
    """One list of cases: a queue, its filters and the page shown."""

    queue: str = "open"
    me: str = ""
    kind: str = ""
    status: str = ""
    handler: str = ""
    product: str = ""
    since: str = ""
    until: str = ""
    overdue: bool = False
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str], *, me: str) -> View:
        queue = query.get("queue", "")
        if queue not in QUEUES:
            queue = "open"
        kind = query.get("kind", "")
        try:
            page = max(1, min(int(query.get("page", "1")), 10_000))
        except ValueError:
            page = 1
        return cls(
            queue=queue,
            me=me,
            kind=kind if kind in CASE_KINDS else "",
            status=query.get("status", "")[:60],
            handler=query.get("handler", "")[:80],
            product=query.get("product", "")[:80],
            since=_day(query.get("since", "")),
            until=_day(query.get("until", "")),
            overdue=query.get("overdue") == "1",
            page=page,
        )

    def closed_since(self, today: date) -> date:
        return date.fromisoformat(self.since) if self.since else today - timedelta(days=CLOSED_DAYS)

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of this queue that pass every filter, overdue first (as the desk sorts them)."""
        return [row for row in rows if in_queue(row, self.queue, self.me) and self._passes(row)]

    def _passes(self, row: Mapping[str, Any]) -> bool:
        received = str(row.get("created_at") or "")[:10]
        return all(
            (
                not self.kind or row.get("kind") == self.kind,
                not self.status or row.get("status") == self.status,
                not self.handler or (row.get("handler") or "").casefold() == self.handler.casefold(),
                not self.product or (row.get("product") or "") == self.product,
                not self.since or self.queue == "closed" or received >= self.since,
                not self.until or received <= self.until,
                not self.overdue or bool(row.get("overdue")),
            )
        )

    def page_of(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = (self.page - 1) * PAGE_ROWS
        return rows[start : start + PAGE_ROWS]

    def pages(self, rows: list[dict[str, Any]]) -> int:
        return max(1, -(-len(rows) // PAGE_ROWS))

    def url(self, **changes: Any) -> str:
        """This view's URL, with some settings changed (a queue tab, the next page)."""
        changed = replace(self, **changes)
        query = {name: getattr(changed, name) for name in ("queue", *FILTERS, "page")}
        query["overdue"] = "1" if changed.overdue else ""
        query["page"] = str(changed.page) if changed.page > 1 else ""
        return "/staff/cases?" + urlencode({name: value for name, value in query.items() if value})


def in_queue(row: Mapping[str, Any], queue: str, me: str) -> bool:
    if queue == "overdue":
        return bool(row.get("overdue"))
    if queue == "unassigned":
        return not row.get("handler")
    if queue == "mine":
        return bool(me) and (row.get("handler") or "").casefold() == me.casefold()
    return True


def counts(open_rows: list[dict[str, Any]], me: str) -> dict[str, int]:
    """Each open queue's size (the closed one is counted when it is shown)."""
    return {
        queue: sum(1 for row in open_rows if in_queue(row, queue, me))
        for queue in QUEUES
        if queue != "closed"
    }


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return ""


def counts_by_kind(open_rows: list[dict[str, Any]]) -> dict[str, int]:
    """Open cases of each kind, in the lifecycles' order."""
    return {kind: sum(1 for row in open_rows if row.get("kind") == kind) for kind in CASE_KINDS}
