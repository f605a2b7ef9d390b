"""What can go wrong in a staff sign-in or session: one family, so the console maps it in one place."""


class SignInError(Exception):
    """A sign-in could not be completed or a session could not be trusted; the message is plain words."""


class ProviderUnavailable(SignInError):
    """The sign-in provider could not be reached, or answered something that is not what it should."""


class SignInRefused(SignInError):
    """The provider refused the sign-in (the person cancelled, or the code was not accepted)."""


class SignInAttemptInvalid(SignInError):
    """The sign-in in progress is missing, expired, tampered with, or its state does not match."""


class IdTokenRejected(SignInError):
    """The ID token failed a check: signature, issuer, audience, expiry, nonce or a missing claim."""


class SessionInvalid(SignInError):
    """The session cookie is missing, tampered with or malformed: sign in again."""


class SessionExpired(SessionInvalid):
    """The session was idle too long or reached its longest life: sign in again."""


class CsrfTokenMismatch(SignInError):
    """A form was posted without the token bound to the session (a cross-site post, or a stale page)."""
