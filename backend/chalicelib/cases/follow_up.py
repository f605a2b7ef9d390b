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
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.crypto import links
from chalicelib.crypto.keys import SubjectHasher
from chalicelib.forms import FORMS, FieldError, InvalidSubmission, Submission
from chalicelib.rules.lifecycles import CasePolicy
from chalicelib.store import items

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
    return links.sign(hasher, reference, expires, purpose=LINK_PURPOSE)


def verify(hasher: SubjectHasher, token: str, now: datetime) -> str:
    """The case the token was made for; raises links.InvalidToken or ExpiredToken."""
    return links.verify(hasher, token, now, purpose=LINK_PURPOSE)


def link(site_url: str, hasher: SubjectHasher, reference: str, now: datetime, language: str = "en") -> str:
    """The feedback form, filled in by the API (works without JavaScript): the reference and the
    token only, never an address; in the customer's language when not English."""
    token = sign(hasher, reference, now + timedelta(days=LINK_DAYS))
    in_language = {"language": language} if language != "en" else {}
    query = urlencode({"case_reference": reference, TOKEN_FIELD: token, **in_language})
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
    except links.ExpiredToken:
        raise InvalidSubmission([FieldError(TOKEN_FIELD, EXPIRED_LINK)]) from None
    except links.InvalidToken:
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
    except (links.InvalidToken, links.ExpiredToken):
        return None
    if fields.get("case_reference") != reference:
        return None
    return reference, int(fields["overall"])
