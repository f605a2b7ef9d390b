"""Asking how we did: one email when a case closes, and the rating it brings back tied to the case.

The customer asks for it with a tick box on the form that opened the case,
recorded as a consent (items.FOLLOW_UP_KIND). When a staff change closes the case
(a new history entry into a `closed` status), the notifier sends one email, at
most once (its "sent" record), while that consent still stands. The email
links to the feedback form with the case's reference and a signed, expiring
token: the token, signed with the local keyed hasher like an unsubscribe
link's, is the only way a rating is tied to a case, so guessing a reference
ties nothing. The intake refuses a forged or expired token (400 naming the
field); the notifier checks it again when the feedback arrives on the stream
and records the rating on the case: the first one sent stands, and a later
one through the same link stays a feedback naming the case, without changing it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalicelib import items, unsubscribe
from chalicelib.crypto import SubjectHasher
from chalicelib.forms import FORMS, FieldError, InvalidSubmission, Submission
from chalicelib.lifecycles import CasePolicy, case_policy
from chalicelib.storage import ItemChange, WriteConflict

if TYPE_CHECKING:
    from chalicelib.emails import Letterhead, Mail
    from chalicelib.notify import Notifier

log = logging.getLogger(__name__)

MESSAGE = "follow-up"  # its "sent" record: SENT#<case reference> / follow-up
TOKEN_FIELD = "follow_up_token"  # noqa: S105 - a form field's name
CONSENT_FIELD = "follow_up_consent"
FEEDBACK_KIND = "feedback"
LINK_PURPOSE = "follow-up"
# Long enough to answer after a holiday; short enough that an old email is no standing key.
LINK_DAYS = 30
RATING_GUARD = "rating"

# Without JavaScript the refused form comes back with the link's token still in it, so each
# message says where to send the ratings instead: the feedback page, which has no token.
WITHOUT_THE_LINK = (f"send your feedback from our feedback page, {FORMS[FEEDBACK_KIND].page}, "
                    "quoting your reference")
INVALID_LINK = ("This link to rate us is not one of ours, or it was cut short when it was copied. "
                f"Open the link in our email again, or {WITHOUT_THE_LINK}.")
EXPIRED_LINK = (f"This link to rate us is more than {LINK_DAYS} days old, so it can no longer be used. "
                f"Please {WITHOUT_THE_LINK}.")
OTHER_CASE = ("This link to rate us was made for another reference. Leave the reference as the link "
              f"filled it in, or {WITHOUT_THE_LINK}.")


# -- The link -------------------------------------------------------------------------

def sign(hasher: SubjectHasher, reference: str, expires: datetime) -> str:
    return unsubscribe.sign(hasher, reference, expires, purpose=LINK_PURPOSE)


def verify(hasher: SubjectHasher, token: str, now: datetime) -> str:
    """The case the token was made for; raises unsubscribe.InvalidToken or ExpiredToken."""
    return unsubscribe.verify(hasher, token, now, purpose=LINK_PURPOSE)


def link(site_url: str, hasher: SubjectHasher, reference: str, now: datetime) -> str:
    """The feedback form, filled in by the API (works without JavaScript): the reference and the
    token only, never an address."""
    token = sign(hasher, reference, now + timedelta(days=LINK_DAYS))
    query = urlencode({"case_reference": reference, TOKEN_FIELD: token})
    return f"{site_url}/api{FORMS[FEEDBACK_KIND].path}?{query}"


def check_link(hasher: SubjectHasher, submission: Submission, now: datetime) -> None:
    """At intake: a feedback that carries a follow-up token must carry a good one, for its case.

    A refusal names the field, as any other error, rather than storing the
    ratings without a tie the customer meant to make.
    """
    token = getattr(submission, TOKEN_FIELD, None)
    if not token:
        return
    try:
        reference = verify(hasher, token, now)
    except unsubscribe.ExpiredToken:
        raise InvalidSubmission([FieldError(TOKEN_FIELD, EXPIRED_LINK)]) from None
    except unsubscribe.InvalidToken:
        raise InvalidSubmission([FieldError(TOKEN_FIELD, INVALID_LINK)]) from None
    if getattr(submission, "case_reference", None) != reference:
        raise InvalidSubmission([FieldError(TOKEN_FIELD, OTHER_CASE)])


# -- Pure rules -----------------------------------------------------------------------

def closed_case(entry: Mapping[str, Any], policy: CasePolicy) -> str | None:
    """The reference of the case a new history entry closed, or None (not a move into a final status)."""
    if not str(entry.get(items.PARTITION_KEY, "")).startswith(items.CASE_PREFIX) or not entry.get("moved"):
        return None
    lifecycle = policy.lifecycles.get(str(entry.get("case_kind")))
    status = lifecycle.statuses.get(str(entry.get("status"))) if lifecycle else None
    return str(entry["reference"]) if status is not None and status.closed else None


def consented(case: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> bool:
    """The customer ticked the box on this case's form and has not withdrawn since (and we have
    an address to write to)."""
    if not (case.get("fields") or {}).get(CONSENT_FIELD) or not case.get(items.RECIPIENT_ATTRIBUTE):
        return False
    return any(
        record.get("kind") == items.FOLLOW_UP_KIND
        and (record.get("fields") or {}).get("source_reference") == case.get("reference")
        and record.get("status") == items.OPTED_IN
        for record in records
    )


def rating_for(feedback: Mapping[str, Any], hasher: SubjectHasher) -> tuple[str, int] | None:
    """The case and overall score a stored feedback ties, or None: no token, or not a good one
    when the feedback was received (the notifier may run later than that)."""
    fields = feedback.get("fields") or {}
    token = fields.get(TOKEN_FIELD)
    received = items.parsed_timestamp(feedback.get("created_at"))
    if not token or received is None or fields.get("overall") is None:
        return None
    try:
        reference = verify(hasher, str(token), received)
    except (unsubscribe.InvalidToken, unsubscribe.ExpiredToken):
        return None
    if fields.get("case_reference") != reference:
        return None
    return reference, int(fields["overall"])


def mail(case: Mapping[str, Any], recipient: str, letterhead: Letterhead, feedback_url: str) -> Mail:
    """The one email: which request closed, and the link to rate it; nothing the customer wrote."""
    from chalicelib import emails  # the intake checks links here too, and never sends mail

    reference = str(case["reference"])
    kind_name = FORMS[str(case["kind"])].title.lower()
    subject = f"How did we do with your {kind_name}? ({reference})"
    context = {
        "subject": subject, "kind_name": kind_name, "reference": reference,
        "feedback_url": feedback_url, "link_days": LINK_DAYS, **emails.frame(letterhead),
    }
    return emails.Mail(sender=letterhead.sender, to=recipient, subject=subject,
                       text=emails.render("follow_up.txt", **context),
                       html=emails.render("follow_up.html", **context))


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
    url = link(notifier.letterhead.site_url, notifier.hasher, case["reference"], notifier.clock())
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
