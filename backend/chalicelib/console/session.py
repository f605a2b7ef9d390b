"""The staff session and the sign-in in progress: signed cookies, their lifetimes and the CSRF token.

A session cookie holds only what the console needs to know who acts (the ID
token's subject, email and groups), when it began and when it was last used,
and the CSRF token bound to it; never a customer's data. It is signed (HMAC-SHA256
under a secret passed in), not encrypted, and sent HttpOnly, so scripts cannot
read it. The clock comes in as an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.console.exceptions import (
    CsrfTokenMismatch,
    SessionExpired,
    SessionInvalid,
    SignInAttemptInvalid,
)
from chalicelib.console.signin import LOOPBACK_HOSTS, SignInAttempt, StaffIdentity, safe_return_path

SESSION_COOKIE = "aftercare_staff"
ATTEMPT_COOKIE = "aftercare_signin"
COOKIE_PATH = "/staff"
IDLE_SECONDS = 30 * 60
LONGEST_SECONDS = 8 * 3600
# Long enough to type a password and a TOTP code at the provider, short enough to be of no use later.
ATTEMPT_SECONDS = 10 * 60
# A session seen again within this is not sent back: most pages then set no cookie.
REFRESH_AFTER_SECONDS = 60
MINIMUM_SECRET_BYTES = 32
# Each kind of cookie is signed under its own key, so one can never pass for the other.
_SESSION_PURPOSE = b"staff session"
_ATTEMPT_PURPOSE = b"sign-in in progress"


@dataclass(frozen=True)
class StaffSession:
    identity: StaffIdentity
    issued_at: int
    last_seen: int
    csrf_token: str


def start_session(identity: StaffIdentity, now: float,
                  random_token: Callable[[int], str] = secrets.token_urlsafe) -> StaffSession:
    """A new session for someone who just signed in, with its own CSRF token."""
    return StaffSession(identity, int(now), int(now), random_token(32))


def seal_session(session: StaffSession, secret: bytes) -> str:
    """The session as a cookie value: its fields, signed."""
    return _seal(_SESSION_PURPOSE, secret, {
        "sub": session.identity.subject, "email": session.identity.email,
        "groups": list(session.identity.groups),
        "iat": session.issued_at, "seen": session.last_seen, "csrf": session.csrf_token,
    })


def open_session(value: str | None, secret: bytes, now: float) -> StaffSession:
    """The session a cookie value carries, if its signature holds and it is neither idle nor too old."""
    if not value:
        raise SessionInvalid("you are not signed in")
    invalid = SessionInvalid("your session is not valid: sign in again")
    fields = _open(_SESSION_PURPOSE, secret, value, invalid)
    try:
        session = StaffSession(
            StaffIdentity(str(fields["sub"]), str(fields["email"]), tuple(str(g) for g in fields["groups"])),
            int(fields["iat"]), int(fields["seen"]), str(fields["csrf"]),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid from None
    if now - session.issued_at > LONGEST_SECONDS:
        raise SessionExpired("your session reached its 8 hours: sign in again")
    if now - session.last_seen > IDLE_SECONDS:
        raise SessionExpired("your session was idle for more than 30 minutes: sign in again")
    return session


def touch(session: StaffSession, now: float) -> StaffSession:
    """The session seen now (its idle time starts again); its start and its CSRF token stay."""
    return replace(session, last_seen=int(now))


def needs_refresh(session: StaffSession, now: float) -> bool:
    """Whether to send the touched session back as a new cookie on this answer."""
    return now - session.last_seen >= REFRESH_AFTER_SECONDS


def check_csrf(session: StaffSession, submitted: str | None) -> None:
    """A form post must carry the token of the session it was posted in."""
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfTokenMismatch("this form is out of date or came from another site: reload it and try again")


def seal_attempt(attempt: SignInAttempt, secret: bytes) -> str:
    """The sign-in in progress as a cookie value: state, nonce and PKCE verifier, signed."""
    return _seal(_ATTEMPT_PURPOSE, secret, {
        "state": attempt.state, "nonce": attempt.nonce, "verifier": attempt.code_verifier,
        "at": attempt.started_at, "to": attempt.return_to,
    })


def open_attempt(value: str | None, secret: bytes, now: float) -> SignInAttempt:
    """The sign-in this browser started, if its cookie is intact and recent."""
    invalid = SignInAttemptInvalid("this sign-in was not started here or took too long: start again")
    if not value:
        raise invalid
    fields = _open(_ATTEMPT_PURPOSE, secret, value, invalid)
    try:
        attempt = SignInAttempt(str(fields["state"]), str(fields["nonce"]), str(fields["verifier"]),
                                int(fields["at"]), safe_return_path(str(fields["to"])))
    except (KeyError, TypeError, ValueError):
        raise invalid from None
    if not 0 <= now - attempt.started_at <= ATTEMPT_SECONDS:
        raise invalid
    return attempt


# -- Set-Cookie headers ---------------------------------------------------------------

def session_cookie(session: StaffSession, secret: bytes, host: str, now: float) -> str:
    """The Set-Cookie header carrying a session (new or touched); it lasts no longer than the session may."""
    remaining = max(0, session.issued_at + LONGEST_SECONDS - int(now))
    return _set_cookie(SESSION_COOKIE, seal_session(session, secret), host, remaining)


def clear_session_cookie(host: str) -> str:
    """The Set-Cookie header that ends a session in the browser (sign-out)."""
    return _set_cookie(SESSION_COOKIE, "", host, 0)


def attempt_cookie(attempt: SignInAttempt, secret: bytes, host: str) -> str:
    """The Set-Cookie header that carries the sign-in in progress to the callback."""
    return _set_cookie(ATTEMPT_COOKIE, seal_attempt(attempt, secret), host, ATTEMPT_SECONDS)


def clear_attempt_cookie(host: str) -> str:
    """The Set-Cookie header that drops the sign-in in progress (the callback is done with it)."""
    return _set_cookie(ATTEMPT_COOKIE, "", host, 0)


def _set_cookie(name: str, value: str, host: str, max_age: int) -> str:
    # Lax, not Strict: the provider's redirect back to the callback is a top-level GET from another site,
    # and it must carry the sign-in cookie; a cross-site POST carries neither cookie.
    attributes = [f"{name}={value}", f"Path={COOKIE_PATH}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if not is_local_host(host):
        attributes.append("Secure")
    return "; ".join(attributes)


def is_local_host(host: str) -> bool:
    """127.0.0.1 or localhost (any port): `make run` serves plain HTTP there, so cookies cannot be Secure."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.lower() in LOOPBACK_HOSTS


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    """One cookie's value from a request's Cookie header (the first, if the browser sent two)."""
    for part in (cookie_header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


# -- signing --------------------------------------------------------------------------

def _key(purpose: bytes, secret: bytes) -> bytes:
    if len(secret) < MINIMUM_SECRET_BYTES:
        raise ValueError(f"the console's session secret must have at least {MINIMUM_SECRET_BYTES} bytes")
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def _seal(purpose: bytes, secret: bytes, fields: dict[str, Any]) -> str:
    payload = _b64encode(json.dumps(fields, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(_key(purpose, secret), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64encode(signature)}"


def _open(purpose: bytes, secret: bytes, value: str, invalid: Exception) -> dict[str, Any]:
    payload, _, signature = value.partition(".")
    expected = _b64encode(hmac.new(_key(purpose, secret), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise invalid
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        raise invalid from None
    if not isinstance(fields, dict):
        raise invalid
    return fields


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
