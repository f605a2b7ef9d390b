"""The staff desk: every staff operation once, each writing its own audit record.

Doors (the `aftercare` command, the console) build a desk for the person acting and call
one operation; they parse and present, and never talk to DynamoDB, KMS or S3 themselves.
Whatever goes wrong reaches them as a `StaffError` with a message they can show as it is.
References are taken as typed (any case, spaces around): the desk reads them as stored, so
no door has to.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor
from datetime import date
from typing import Any

from chalicelib.cases.book import CaseNotFound, Change
from chalicelib.crypto.exceptions import CryptoError
from chalicelib.insight import report, tally
from chalicelib.rules.lifecycles import IllegalMove, case_policy
from chalicelib.settings import Settings
from chalicelib.staff import attachments, outbox, subjects
from chalicelib.staff.audit import audited
from chalicelib.staff.cases import StaffCases
from chalicelib.staff.context import StaffContext
from chalicelib.staff.exceptions import CaseChanged, ServiceUnavailable, StaffError, SubjectRequestError
from chalicelib.staff.export import (
    Position,
    Progress,
    Window,
    export_kinds,
    filtered_kinds,
    list_page,
    submission_row,
)
from chalicelib.staff.sheets import Sink
from chalicelib.staff.subject_copy import readable_copy
from chalicelib.store.bucket import BucketUnavailable
from chalicelib.store.items import AUDIT_KIND, CONSENT_KIND, epoch
from chalicelib.store.references import as_stored
from chalicelib.store.table import KIND_INDEX, ItemGone, StorageUnavailable, WriteConflict

PAGE_FEEDBACK = "page_feedback"
AUDIT_FIELDS = ("created_at", "actor", "action", "kinds", "item_count", "outcome",
                "about_subject", "detail")


@contextlib.contextmanager
def plainly() -> Iterator[None]:
    """The domain's refusals and outages as the desk's own family, in words a door can show."""
    try:
        yield
    except StaffError:
        raise
    except StorageUnavailable as problem:
        raise ServiceUnavailable("DynamoDB", str(problem) or type(problem).__name__) from None
    except CryptoError as problem:
        raise ServiceUnavailable("KMS", str(problem) or type(problem).__name__) from None
    except BucketUnavailable as problem:
        raise ServiceUnavailable("S3", str(problem) or type(problem).__name__) from None
    except (ItemGone, CaseNotFound, IllegalMove) as problem:
        raise StaffError(str(problem) or type(problem).__name__) from None


class StaffDesk:
    """One staff member's desk: who is acting, and the operations they may call."""

    def __init__(self, context: StaffContext):
        self.context = context
        self.cases = StaffCases(context, case_policy())

    @classmethod
    def for_actor(cls, settings: Settings, actor: str) -> StaffDesk:
        return cls(StaffContext(settings, actor))

    @property
    def actor(self) -> str:
        return self.context.actor

    def _subject(self, email: str) -> str:
        return subjects.subject_of(self.context, email)

    # -- a person's data -----------------------------------------------------------------

    def find_person(self, email: str) -> list[dict[str, Any]]:
        """Summaries of what is stored about the person (record, kind, reference, date, status)."""
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "subject.find", [], subject=hashed) as action:
                found = subjects.find(self.context, hashed)
                summaries = [subjects.summary(item) for item in found]
                action.kinds = sorted({str(line["kind"]) for line in summaries if line["kind"]})
                action.item_count = len(found)
        return summaries

    def person_copy(self, email: str) -> dict[str, Any]:
        """The readable copy of everything stored about the person, to send them."""
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "subject.export", [], subject=hashed) as action:
                found = subjects.find(self.context, hashed)
                document = readable_copy(self.context, found)
                action.kinds = sorted({str(line["kind"]) for line in map(subjects.summary, found)
                                       if line["kind"]})
                action.item_count = len(found)
        return document

    def correct(self, email: str, reference: str, field_name: str, value: str) -> subjects.Correction:
        """Correct one field of one of the person's submissions; derived records follow."""
        reference = as_stored(reference)
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "subject.correct", [], subject=hashed,
                         detail={"reference": reference, "field": field_name}) as action:
                done = subjects.correct(self.context, hashed, reference, field_name, value)
                action.kinds, action.item_count = [done.kind], 1
        return done

    def count_to_erase(self, email: str) -> int:
        """How many items erasing the person would remove (expired ones too); nothing is read out."""
        with plainly():
            return len(subjects.find(self.context, self._subject(email), include_expired=True))

    def erase(self, email: str) -> Counter[str]:
        """Erase every item of the person, and their files; answers what went, by record type."""
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "subject.erase", [], subject=hashed) as action:
                erased = subjects.erase(self.context, hashed)
                action.kinds = sorted(erased)
                action.item_count = sum(erased.values())
        return erased

    def consents(self, email: str) -> list[dict[str, Any]]:
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "consent.list", [CONSENT_KIND], subject=hashed) as action:
                records = subjects.consents(self.context, hashed)
                action.item_count = len(records)
        return records

    def withdraw_consents(self, email: str) -> int:
        with plainly():
            hashed = self._subject(email)
            with audited(self.context, "consent.withdraw", [CONSENT_KIND], subject=hashed) as action:
                action.item_count = subjects.withdraw_consent(self.context, hashed)
        return action.item_count

    # -- cases ---------------------------------------------------------------------------

    def open_cases(self, kinds: list[str], *, status: str | None = None, handler: str | None = None,
                   overdue_only: bool = False) -> list[dict[str, Any]]:
        with plainly(), audited(self.context, "cases.list", kinds,
                                detail={"status": status or "", "overdue": str(overdue_only)}) as action:
            rows = self.cases.listing(kinds=kinds, status=status, handler=handler, overdue_only=overdue_only)
            action.item_count = len(rows)
        return rows

    def closed_cases(self, kinds: list[str], *, since: date, rated_only: bool) -> list[dict[str, Any]]:
        with plainly(), audited(self.context, "cases.closed", kinds,
                                detail={"since": since.isoformat(), "rated": str(rated_only)}) as action:
            rows = self.cases.closed_listing(kinds=kinds, since=since, rated_only=rated_only)
            action.item_count = len(rows)
        return rows

    def case(self, reference: str) -> dict[str, Any]:
        """One case in full, decrypted: fields, status, promise, history, files and emails."""
        reference = as_stored(reference)
        with plainly(), audited(self.context, "case.show", [], detail={"reference": reference}) as action:
            shown = self.cases.show(reference)
            shown["emails"] = outbox.emails_about(self.context, reference)
            action.kinds, action.item_count = [shown["kind"]], 1 + len(shown["history"])
        return shown

    def change_case(self, reference: str, change: Change, *,
                    expected_version: int | None = None) -> dict[str, Any]:
        """Assign, note, tell the customer or move a case; audited as case.assign or case.update.

        With `expected_version`, a case changed since it was read is refused (CaseChanged)."""
        reference = as_stored(reference)
        name = "case.assign" if change.handler and not (change.status or change.message) else "case.update"
        detail = {"reference": reference, "status": change.status or "", "handler": change.handler or ""}
        with plainly(), audited(self.context, name, [], detail=detail) as action:
            try:
                entry = self.cases.change(reference, change, expected_version=expected_version)
            except WriteConflict:
                raise CaseChanged("this case changed while you had it open") from None
            action.kinds, action.item_count = [entry["case_kind"]], 1
        return entry

    # -- files ---------------------------------------------------------------------------

    def files(self, reference: str) -> list[attachments.AttachedFile]:
        """A submission's files: every one listed, the accepted ones with their bytes."""
        reference = as_stored(reference)
        with plainly(), audited(self.context, "attachments.get", ["attachment"],
                                detail={"reference": reference}) as action:
            found = attachments.files(self.context, reference)
            action.item_count = sum(1 for attached in found if attached.content is not None)
        return found

    def file_link(self, reference: str, number: int) -> str:
        """A short-lived link that opens one accepted image or PDF of a submission."""
        reference = as_stored(reference)
        with plainly(), audited(self.context, "attachments.open", ["attachment"],
                                detail={"reference": reference, "file": number}) as action:
            url = attachments.link(self.context, reference, number)
            action.item_count = 1
        return url

    def sweep_files(self) -> Counter[str]:
        with plainly(), audited(self.context, "attachments.sweep", ["attachment"]) as action:
            counts = attachments.sweep(self.context)
            action.item_count = counts["uploads"] + counts["attachments"]
        return counts

    # -- exports -------------------------------------------------------------------------

    def export(self, kinds: list[str], window: Window, status: str | None, sink: Sink, *,
               pool: Executor, in_flight: int, progress: Progress, file_format: str,
               described: dict[str, str] | None = None, product: str | None = None) -> Counter[str]:
        """Write the kinds' live items to the sink, decrypted on the pool; answers rows per kind.

        With a product, only the kinds whose form asks for one, and only that product's items."""
        detail = {"format": file_format, "status": status or "", "product": product or "",
                  **(described or {})}
        with plainly(), audited(self.context, "export", filtered_kinds(kinds, product),
                                detail=detail) as action:
            counts = export_kinds(self.context, kinds, window, status, sink, pool=pool,
                                  in_flight=in_flight, progress=progress, product=product)
            action.item_count = sum(counts.values())
        return counts

    def submissions(self, kinds: list[str], window: Window, status: str | None, product: str | None, *,
                    after: Position | None, rows: int) -> tuple[list[dict[str, Any]], Position | None]:
        """One page of what `export` would write for the same filter: the open columns and the
        name, and where the next page starts. Audited with the filter and the rows shown."""
        detail = {"status": status or "", "product": product or "", "since": window.since or "",
                  "until": window.until or ""}
        with plainly(), audited(self.context, "submissions.list", filtered_kinds(kinds, product),
                                detail=detail) as action:
            shown, following = list_page(self.context, kinds, window, status, product,
                                         after=after, rows=rows)
            action.item_count = len(shown)
        return shown, following

    def submission(self, reference: str) -> dict[str, Any]:
        """One submission as an export row has it (fields decrypted, files by name), for any kind."""
        reference = as_stored(reference)
        with plainly(), audited(self.context, "submission.show", [],
                                detail={"reference": reference}) as action:
            shown = submission_row(self.context, reference)
            action.kinds, action.item_count = [shown["kind"]], 1
        return shown

    # -- the outbox ----------------------------------------------------------------------

    def outbox(self, which: str) -> list[dict[str, Any]]:
        """Emails pending, failed or all, by reference and message; never addresses or content."""
        with plainly():
            if which == "waiting":
                pending = outbox.outbox_rows(self.context, "pending")
                return pending + outbox.outbox_rows(self.context, "failed")
            return outbox.outbox_rows(self.context, which)

    def resend(self, reference: str, message: str) -> str:
        """Ask the notifier to send one message again; answers the status it had."""
        reference = as_stored(reference)
        if not outbox.is_known_message(message):
            raise SubjectRequestError(f"{message} is not a message we send")
        with plainly(), audited(self.context, "outbox.resend", [],
                                detail={"reference": reference, "message": message}) as action:
            was = outbox.ask_resend(self.context, reference, message)
            action.item_count = 1
        return was

    def due_for_retry(self) -> list[dict[str, Any]]:
        with plainly():
            return outbox.due(self.context)

    def retry_due(self) -> tuple[list[dict[str, Any]], int]:
        """Ask again for every message that is due; answers those marked and how many were due."""
        with plainly():
            due = outbox.due(self.context)
            with audited(self.context, "outbox.retry", [], detail={"due": len(due)}) as action:
                marked = outbox.ask_again(self.context, due)
                action.item_count = len(marked)
        return marked, len(due)

    # -- the insight page's counters ------------------------------------------------------

    def rebuild_insight(self, *, check_only: bool = False) -> list[tally.Difference]:
        """Recount the insight page's daily counters from the table and correct the live ones
        (none with `check_only`); answers where they differed. Nothing is decrypted."""
        with plainly(), audited(self.context, "insight.rebuild", [],
                                detail={"check_only": str(check_only)}) as action:
            found = tally.rebuild(self.context.table, case_policy(), self.context.now(), write=not check_only)
            action.item_count = len(found)
        return found

    def insight(self, period: report.Period, filters: report.Filters) -> report.Report:
        """The insight page's figures: the period's daily counters (one Query), and the cases open
        now (the open-cases index, as the queue lists them); nothing decrypted."""
        detail = {"from": period.start.isoformat(), "to": period.end.isoformat(), **vars(filters)}
        kinds = list(case_policy().lifecycles)
        with plainly(), audited(self.context, "insight.show", kinds, detail=detail) as action:
            counted = report.read(self.context.table, period, self.context.now())
            open_cases = self.cases.listing(kinds=kinds)
            built = report.build(counted, period, filters, case_policy(), open_cases)
            action.item_count = len(counted) + len(open_cases)
        return built

    def missing_comments(self, period: report.Period, most: int = 10) -> list[dict[str, str]]:
        """The latest "what was missing" comments on help pages in the period, newest first:
        the page, the day and the reader's words (decrypted, audited)."""
        candidates = most * 3  # a No without words costs a decryption too; look no further than this
        with plainly(), audited(self.context, "insight.comments", [PAGE_FEEDBACK]) as action:
            found: list[dict[str, str]] = []
            votes = self.context.table.query(
                index=KIND_INDEX, key_condition="#kind = :kind AND #created BETWEEN :since AND :until",
                names={"#kind": "kind", "#created": "created_at"},
                values={":kind": PAGE_FEEDBACK, ":since": period.start.isoformat(),
                        ":until": period.end.isoformat() + "~"},
                now_epoch=epoch(self.context.now()), forward=False, page_size=100)
            for item in votes:
                fields = item.get("fields") or {}
                if fields.get("helpful") and not fields.get("follows_vote") or not item.get("personal"):
                    continue
                candidates -= 1
                words = self.context.cipher.open(item["personal"], kind=PAGE_FEEDBACK,
                                                 reference=str(item["reference"])).get("comment")
                if words:
                    found.append({"page": str(fields.get("page", "")), "day": str(item["created_at"])[:10],
                                  "comment": str(words)})
                if len(found) >= most or candidates <= 0:
                    break
            action.item_count = len(found)
        return found

    # -- the audit trail -----------------------------------------------------------------

    def audit_trail(self, window: Window, *, email: str | None = None, action: str | None = None,
                    actor: str | None = None) -> Iterator[dict[str, Any]]:
        """Audit records oldest first, filtered by person (keyed hash), action and staff member."""
        with plainly():
            about = self._subject(email) if email else None
            records = self.context.table.query_kind(AUDIT_KIND, since=window.since, until=window.until,
                                                    now_epoch=epoch(self.context.now()))
            for item in records:
                if about is not None and item.get("about_subject") != about:
                    continue
                name = str(item.get("action", ""))
                if action and name != action and not name.startswith(action + "."):
                    continue
                if actor and actor.lower() not in str(item.get("actor", "")).lower():
                    continue
                row = {field: item.get(field) for field in AUDIT_FIELDS}
                # Records written before kinds were left out for kindless items say "None".
                row["kinds"] = [kind for kind in row["kinds"] or [] if kind and kind != "None"]
                yield row
