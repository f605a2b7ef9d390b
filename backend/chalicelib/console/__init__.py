"""The staff console's sign-in: OpenID Connect (Cognito, or the local provider) and its session cookie."""

__all__ = [
    "exceptions",
    "session",
    "signin",
]
