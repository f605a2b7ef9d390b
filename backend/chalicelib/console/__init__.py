"""The staff console, the staff desk's web door: sign-in (OpenID Connect: Cognito, or the local
provider), the session cookie, and the pages staff work cases on.

door (every /staff request: session, group, CSRF, one desk operation, a page), rooms (a
person's data, downloads, the outbox, the audit trail), exchange (a request and its answer), pages and
templates (drawn on the server, everything escaped), queues (the lists and their filters, in
the URL), function (the Lambda entry and the wiring), signin, session, exceptions.
"""

__all__ = [
    "door",
    "exceptions",
    "exchange",
    "function",
    "pages",
    "queues",
    "rooms",
    "session",
    "signin",
]
