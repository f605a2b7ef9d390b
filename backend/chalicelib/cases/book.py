"""Cases: moving a submission through its lifecycle, each change kept as a sealed history entry.

Every change is conditional on the case's version and written in one
transaction with its history entry, so two staff changing one case at once
never lose an entry: the second re-reads, re-checks the move and tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.crypto.keys import SubmissionCipher
from chalicelib.rules.lifecycles import CasePolicy, IllegalMove, Lifecycle
from chalicelib.rules.visit_windows import BadWindow, VisitWindow
from chalicelib.store import items
from chalicelib.store.table import StorageUnavailable, SubmissionTable, WriteConflict, from_dynamodb

# Encryption contexts (the `aftercare:kind` value) of what staff write on a case.
# Customer messages have one context for every kind, so a key policy can let the
# track page open them and nothing else.
CASE_MESSAGE_CONTEXT = "case_message"
CHANGE_ATTEMPTS = 25


def note_context(kind: str) -> str:
    """The context of an internal note: it cannot pass as personal fields or as a customer message."""
    return f"{kind}#case_note"


def reply_context(kind: str) -> str:
    """The context of what a customer wrote back (chalicelib.inbound): staff open it, the track
    page and the notifier never do."""
    return f"{kind}#customer_reply"


# Who a customer's reply is entered under in a case's history.
CUSTOMER_ACTOR = "customer (email reply)"


class CaseNotFound(Exception):
    """No case with that reference (or it is not a kind that has a lifecycle)."""


@dataclass(frozen=True)
class Change:
    """What one staff action asks of a case: a new status, a handler, a note, a message, a window."""

    status: str | None = None
    handler: str | None = None
    note: str | None = None
    message: str | None = None
    window: str | None = None
    # A customer's emailed reply (its new text), the upload ids of its checked files, and
    # why it is held for staff rather than taken as theirs (None: it is theirs).
    reply: str | None = None
    files: tuple[str, ...] = ()
    held: str | None = None

    def carries(self) -> set[str]:
        given = {"handler": self.handler, "note": self.note, "message": self.message, "window": self.window}
        return {name for name, value in given.items() if value}


@dataclass
class CaseBook:
    """Reads and changes cases on the table; the clock comes in, like everything domain."""

    table: SubmissionTable
    cipher: SubmissionCipher
    policy: CasePolicy
    clock: Callable[[], datetime]

    def read(self, reference: str) -> dict[str, Any]:
        item = self.table.get(*items.submission_key(reference), now_epoch=items.epoch(self.clock()))
        if item is None:
            raise CaseNotFound(f"there is no case {reference}")
        if item.get("kind") not in self.policy.lifecycles:
            raise CaseNotFound(f"{reference} is a {item.get('kind')}, which is not a case")
        return item

    def history(self, reference: str) -> list[dict[str, Any]]:
        """The case's entries in the order they were made."""
        return self.table.query_partition(
            items.history_partition(reference), now_epoch=items.epoch(self.clock())
        )

    def change(self, reference: str, change: Change, *, actor: str,
               expected_version: int | None = None) -> dict[str, Any]:
        """Apply one change and answer its history entry; IllegalMove if the lifecycle forbids it.

        With `expected_version` (the version the staff member saw), a case changed since then is
        a WriteConflict: they decide again on what it is now. Without it, a change that loses a
        race is judged again on the case as it now stands."""
        if not (change.status or change.handler or change.note or change.message or change.window
                or change.reply):
            raise IllegalMove("say what changes: a status, a handler, a note or a message")
        window = self._window(change.window)
        sealed: dict[str, bytes] = {}
        for _ in range(CHANGE_ATTEMPTS):
            item = self.read(reference)
            kind, current = item["kind"], item["status"]
            lifecycle = self.policy.lifecycle(kind)
            _check_window_fits(lifecycle, window)
            if change.status:
                # A handler already on the case counts: a move that needs one need not name them again.
                held = {"handler"} if item.get(items.HANDLER_ATTRIBUTE) else set()
                target = lifecycle.check_move(current, change.status, change.carries() | held)
            else:
                target = lifecycle.status(current)
                if target.closed:
                    raise IllegalMove(f"this {kind} is {current}, a final status: it cannot change")
            if not sealed:
                sealed = self._seal(kind, reference, change)
            now = self.clock()
            version = int(item.get(items.VERSION_ATTRIBUTE) or 0)
            if expected_version is not None and version != expected_version:
                raise WriteConflict(items.VERSION_ATTRIBUTE)
            entry = items.history_item(
                reference=reference, kind=kind, version=version + 1, moment=now, actor=actor,
                status=target.name, moved=bool(change.status), handler=change.handler, window=window,
                sealed_note=sealed.get("note"), sealed_message=sealed.get("message"),
                subject=item.get("subject_hash"), expires_at=item.get(items.EXPIRY_ATTRIBUTE),
                sealed_reply=sealed.get("reply"), reply_files=change.files, held=change.held,
            )
            sets: dict[str, Any] = {
                "status": target.name,
                "updated_at": items.timestamp(now),
                items.HANDLER_ATTRIBUTE: change.handler,
                items.WINDOW_ATTRIBUTE: window,
            }
            if change.status:
                sets[items.STATUS_SINCE_ATTRIBUTE] = items.timestamp(now)
            try:
                self.table.change_with_entry(
                    items.submission_key(reference), version_attribute=items.VERSION_ATTRIBUTE,
                    expected_version=version, set_attributes=sets,
                    remove_attributes=(items.QUEUE_ATTRIBUTE,) if target.closed else (),
                    entry=entry,
                )
            except WriteConflict:
                if expected_version is not None:
                    raise
                continue  # another change came first: read it, judge the move again
            return entry
        raise StorageUnavailable("the case is changing too fast; try again")

    def _window(self, typed: str | None) -> str | None:
        """The window staff typed, checked and in the one spelling cases keep (see VisitWindow)."""
        if not typed:
            return None
        try:
            return VisitWindow.parse(typed, today=self.clock().date()).spelled()
        except BadWindow as problem:
            raise IllegalMove(str(problem)) from None

    def _seal(self, kind: str, reference: str, change: Change) -> dict[str, bytes]:
        sealed = {}
        if change.note:
            sealed["note"] = self.cipher.seal(
                {"note": change.note}, kind=note_context(kind), reference=reference
            )
        if change.message:
            sealed["message"] = self.cipher.seal(
                {"message": change.message}, kind=CASE_MESSAGE_CONTEXT, reference=reference
            )
        if change.reply:
            sealed["reply"] = self.cipher.seal(
                {"reply": change.reply}, kind=reply_context(kind), reference=reference
            )
        return sealed

    def open_cases(self, kinds: list[str]) -> Iterator[dict[str, Any]]:
        """Each kind's open cases from the open-cases index (never a Scan), still sealed."""
        now_epoch = items.epoch(self.clock())
        for kind in kinds:
            for page in self.table.query_open_cases(kind, now_epoch=now_epoch):
                yield from map(from_dynamodb, page)

    def since(self, item: dict[str, Any]) -> date:
        """The day the case entered its current status."""
        moment = item.get(items.STATUS_SINCE_ATTRIBUTE) or item["created_at"]
        return date.fromisoformat(str(moment)[:10])

    def due_on(self, item: dict[str, Any]) -> date | None:
        """When the promise running in the case's current status falls due (None: no promise runs)."""
        return self.policy.due_on(item["kind"], item["status"], self.since(item),
                                  item.get(items.WINDOW_ATTRIBUTE))


def _check_window_fits(lifecycle: Lifecycle, window: str | None) -> None:
    """A window goes only on a kind that books one (a service visit)."""
    if window and not any("window" in status.needs for status in lifecycle.statuses.values()):
        raise IllegalMove(f"a {lifecycle.kind} has no visit window")


def open_note(cipher: SubmissionCipher, entry: dict[str, Any]) -> str | None:
    if not entry.get("note"):
        return None
    return str(cipher.open(entry["note"], kind=note_context(entry["case_kind"]),
                           reference=entry["reference"])["note"])


def open_message(cipher: SubmissionCipher, entry: dict[str, Any]) -> str | None:
    if not entry.get("customer_message"):
        return None
    return str(cipher.open(entry["customer_message"], kind=CASE_MESSAGE_CONTEXT,
                           reference=entry["reference"])["message"])


def open_reply(cipher: SubmissionCipher, entry: dict[str, Any]) -> str | None:
    """What the customer wrote back, on an entry that carries a reply."""
    if not entry.get(items.REPLY_ATTRIBUTE):
        return None
    return str(cipher.open(bytes(entry[items.REPLY_ATTRIBUTE]), kind=reply_context(entry["case_kind"]),
                           reference=entry["reference"])["reply"])
