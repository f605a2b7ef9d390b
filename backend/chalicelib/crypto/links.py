"""Signed, expiring link tokens that name a reference, never a person (unsubscribe, follow-up).

A token is `REFERENCE.EXPIRY.MAC`: the reference the link was made for, when it stops working
(epoch seconds), and a keyed MAC over both under the subject-hash key, prefixed per purpose.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from chalicelib.crypto.keys import SubjectHasher
from chalicelib.store.references import SIGNED_LINK_PATTERN, is_reference

TOKEN_PATTERN = re.compile(SIGNED_LINK_PATTERN)


class LinkRefused(Exception):
    """A link's token that cannot be used; the customer is told which way."""


class InvalidToken(LinkRefused):
    """Not one of our links: mistyped, cut short or forged."""


class ExpiredToken(LinkRefused):
    """One of our links, but too old to use."""


def _mac(hasher: SubjectHasher, payload: str, purpose: str) -> str:
    # Its own prefix per purpose: a token MAC can never equal a subject hash, and
    # an unsubscribe token can never pass as another link's (cases.follow_up).
    return hasher.digest(f"{purpose}:{payload}".encode())


def sign(hasher: SubjectHasher, reference: str, expires: datetime, *, purpose: str = "unsubscribe") -> str:
    payload = f"{reference}.{int(expires.timestamp())}"
    return f"{payload}.{_mac(hasher, payload, purpose)}"


def verify(hasher: SubjectHasher, token: str, now: datetime, *, purpose: str = "unsubscribe") -> str:
    """The reference the token was made for; raises InvalidToken or ExpiredToken."""
    if not TOKEN_PATTERN.match(token or ""):
        raise InvalidToken()
    reference, expires, mac = token.split(".")
    if not is_reference(reference):
        raise InvalidToken()
    if not hmac.compare_digest(_mac(hasher, f"{reference}.{expires}", purpose), mac):
        raise InvalidToken()
    if int(expires) <= now.timestamp():
        raise ExpiredToken()
    return reference
