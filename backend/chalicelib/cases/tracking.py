"""The customer's view of a case: reference + email in, status in plain words out.

The public function never decrypts a submission. It reads only the case's
open attributes (the table read names them; IAM allows no others), compares
the keyed hash of the email with the stored one, and opens nothing but the
messages staff wrote for the customer, under their own encryption context.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.cases.book import open_message
from chalicelib.crypto.keys import SubjectHasher, SubmissionCipher, subject_hash
from chalicelib.forms import FORMS
from chalicelib.forms.tracking import CaseProgress, CustomerMessage, Step
from chalicelib.languages import FORMS_DOMAIN, N_, SOURCE_LANGUAGE, Said, say
from chalicelib.rules.lifecycles import CasePolicy, case_policy
from chalicelib.rules.visit_windows import window_words
from chalicelib.store import items
from chalicelib.store.table import SubmissionTable

# What the track function may read of a case and of its history: never the
# sealed personal fields, never an internal note (also enforced by IAM).
CASE_ATTRIBUTES = (
    "reference", "kind", "status", "created_at", "subject_hash", items.STATUS_SINCE_ATTRIBUTE,
    items.HANDLER_ATTRIBUTE, items.WINDOW_ATTRIBUTE,
)
HISTORY_ATTRIBUTES = ("case_kind", "version", "created_at", "status", "moved", "customer_message")
NOT_FOUND = N_("We found no request with that reference and email address. Check both against "
             "your confirmation email, or send us an enquiry.")


class NoSuchCase(Exception):
    """No case matches that reference and email. Deliberately the same for either mistake."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND)


def first_name(handler: str | None) -> str | None:
    """Staff are named to customers by first name only."""
    return handler.split()[0] if handler and handler.split() else None


@dataclass
class CaseTracker:
    table: SubmissionTable
    hasher: SubjectHasher
    messages: SubmissionCipher  # may open customer messages only (its key policy says so in AWS)
    policy: CasePolicy
    clock: Callable[[], datetime]

    def progress(self, reference: str, email: str, language: str = SOURCE_LANGUAGE) -> CaseProgress:
        """Where the case stands, its words in `language` (the lifecycles' words in it)."""
        now = self.clock()
        # Hash before reading, so an unknown reference and a wrong email cost the same.
        owner = subject_hash(self.hasher, email)
        case = self.table.get(*items.submission_key(reference), now_epoch=items.epoch(now),
                              attributes=CASE_ATTRIBUTES)
        if case is None or not hmac.compare_digest(str(case.get("subject_hash") or ""), owner):
            raise NoSuchCase()
        kind = str(case.get("kind"))
        if kind not in self.policy.lifecycles:
            raise NoSuchCase()
        history = self.table.query_partition(
            items.history_partition(reference), now_epoch=items.epoch(now), attributes=HISTORY_ATTRIBUTES
        )
        return self._progress(case, history, language)

    def _progress(
        self, case: dict[str, Any], history: list[dict[str, Any]], language: str = SOURCE_LANGUAGE,
    ) -> CaseProgress:
        kind, current = case["kind"], case["status"]
        # The rules are this tracker's; the words, the lifecycles' in the customer's language.
        lifecycle = (self.policy if language == SOURCE_LANGUAGE else case_policy(language)).lifecycle(kind)
        status = lifecycle.status(current)
        received = _day(case["created_at"])
        steps = [Step(on=received, words=lifecycle.status(lifecycle.start).words)]
        messages = []
        for entry in history:
            on = _day(entry["created_at"])
            if entry.get("moved"):
                steps.append(Step(on=on, words=lifecycle.status(entry["status"]).words))
            message = open_message(self.messages, {**entry, "reference": case["reference"]})
            if message:
                messages.append(CustomerMessage(on=on, message=message))
        since = _day(case.get(items.STATUS_SINCE_ATTRIBUTE) or case["created_at"])
        return CaseProgress(
            reference=case["reference"], kind=kind,
            title=say(language, Said(FORMS[kind].title, FORMS_DOMAIN)) if kind in FORMS else kind,
            status=current, status_words=status.words, received_on=received,
            updated_on=_day(history[-1]["created_at"]) if history else received,
            handler=first_name(case.get(items.HANDLER_ATTRIBUTE)),
            visit_window=window_words(case.get(items.WINDOW_ATTRIBUTE), language),
            next_step=status.next_step,
            next_step_due_on=self.policy.due_on(kind, current, since, case.get(items.WINDOW_ATTRIBUTE)),
            closed=status.closed, steps=steps, messages=messages,
        )


def _day(moment: Any) -> date:
    return date.fromisoformat(str(moment)[:10])
