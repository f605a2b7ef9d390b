"""The follow-up email, and what the notifier does with a closed case or a rating tied through its link."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.cases.follow_up import (
    FEEDBACK_KIND,
    LINK_DAYS,
    MESSAGE,
    RATING_GUARD,
    closed_case,
    consented,
    link,
    rating_for,
)
from chalicelib.languages import Said, say
from chalicelib.notify import emails
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store import items
from chalicelib.store.table import ItemChange, WriteConflict

if TYPE_CHECKING:
    from chalicelib.crypto.keys import RecipientSeal, SubjectHasher
    from chalicelib.notify.emails import Letterhead, Mail
    from chalicelib.store.table import SubmissionTable


class Notifier(Protocol):
    """What following up needs of the notifier (notifier.Notifier), named here so the two
    modules do not import each other."""

    @property
    def table(self) -> SubmissionTable: ...

    @property
    def recipients(self) -> RecipientSeal: ...

    @property
    def hasher(self) -> SubjectHasher: ...

    @property
    def letterhead(self) -> Letterhead: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    def deliver(self, item: dict[str, Any], message: str) -> str: ...

log = logging.getLogger(__name__)


def mail(case: Mapping[str, Any], recipient: str, letterhead: Letterhead, feedback_url: str) -> Mail:
    """The one email: which request closed, and the link to rate it; nothing the customer wrote."""
    reference = str(case["reference"])
    language = items.language_of(case)
    kind_name = emails.kind_words(str(case["kind"]), language)
    subject = say(language, Said("How did we do with your {kind}? ({reference})", kind=kind_name,
                                 reference=reference))
    context = {
        "subject": subject, "kind_name": kind_name, "reference": reference,
        "feedback_url": feedback_url, "link_days": LINK_DAYS, **emails.frame(letterhead),
    }
    return emails.Mail(sender=letterhead.sender, to=recipient, subject=subject,
                       text=emails.render("follow_up.txt", language, **context),
                       html=emails.render("follow_up.html", language, **context))


# -- What the notifier does -----------------------------------------------------------

def act(notifier: Notifier, event: str, item: dict[str, Any]) -> str | None:
    """A stream record's part in following up: a closed case may call for the email; a feedback
    through the link records its rating on the case."""
    if event != "INSERT":
        return None
    reference = closed_case(item, case_policy())
    if reference is not None:
        return case_closed(notifier, reference)
    if items.is_submission(item) and item.get("kind") == FEEDBACK_KIND:
        return tie_rating(notifier, item)
    return None


def case_closed(notifier: Notifier, reference: str) -> str:
    now = notifier.clock()
    case = notifier.table.get(*items.submission_key(reference), now_epoch=items.epoch(now))
    if case is None:
        return "gone"
    subject = case.get("subject_hash")
    records = notifier.table.query_subject(subject, now_epoch=items.epoch(now)) if subject else []
    if not consented(case, records):
        return "not asked"
    return notifier.deliver(case, MESSAGE)


def compose(notifier: Notifier, case: dict[str, Any]) -> Mail:
    recipient = notifier.recipients.open(
        case[items.RECIPIENT_ATTRIBUTE], kind=case["kind"], reference=case["reference"]
    )
    url = link(notifier.letterhead.site_url, notifier.hasher, case["reference"], notifier.clock(),
               items.language_of(case))
    return mail(case, recipient, notifier.letterhead, url)


def tie_rating(notifier: Notifier, feedback: dict[str, Any]) -> str:
    rated = rating_for(feedback, notifier.hasher)
    if rated is None:
        return "not tied"
    reference, score = rated
    received = items.parsed_timestamp(feedback["created_at"]) or datetime.now(UTC)
    rating = items.rating_changes(rating=score, rated=received, feedback_reference=feedback["reference"])
    # The first rating sent stands, whatever order the stream brings two uses of one link in.
    change = ItemChange(*items.submission_key(reference), rating, RATING_GUARD, exists=True,
                        earliest={items.RATED_AT_ATTRIBUTE: rating[items.RATED_AT_ATTRIBUTE]})
    try:
        notifier.table.change_all([change])
    except WriteConflict:
        # Rated already by an earlier feedback (or by this one: the record again); the case is
        # unchanged and this feedback stays as feedback, naming the case.
        log.info("%s already rated; %s kept as feedback only", reference, feedback["reference"])
        return "kept first"
    log.info("%s rated through %s", reference, feedback["reference"])
    return "rated"
