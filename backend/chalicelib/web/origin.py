"""Only CloudFront reaches the API: it adds a secret header that every request must carry.

CloudFront sets `X-Aftercare-Origin` on each request it sends to API Gateway
(replacing any value a visitor sent under that name); the value is a secret
generated at deploy time (infra/resources.yaml, OriginSecret). A request that
arrives straight at the execute-api URL lacks it and is refused before any
route runs, so it never skips the WAF's per-IP limit. The local server adds the
header just as CloudFront does (backend/aftercare_local/server.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Response

from chalicelib.web import posts as web

ORIGIN_HEADER = "X-Aftercare-Origin"
SECRET_VARIABLE = "AFTERCARE_ORIGIN_SECRET"  # noqa: S105 - the variable's name, not a secret
# Set by the Lambda runtime: in AWS a missing secret is a broken deploy, and
# the API then refuses everything rather than being open to direct calls.
LAMBDA_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"
NOT_THROUGH_FRONT_DOOR = "This API is only served through the Aftercare site."


def expected_secret(environ: Mapping[str, str]) -> str | None:
    """The secret to demand; None when no check applies (in-process tests without one)."""
    secret = environ.get(SECRET_VARIABLE) or None
    if secret is None and environ.get(LAMBDA_VARIABLE):
        # Compared against nothing any request can carry: everything is refused.
        return ""
    return secret


def came_through_front_door(headers: Mapping[str, str], secret: str | None) -> bool:
    """Whether the request carries the secret; compared in constant time."""
    if secret is None:
        return True
    sent = headers.get(ORIGIN_HEADER.lower()) or headers.get(ORIGIN_HEADER) or ""
    return bool(secret) and hmac.compare_digest(sent.encode(), secret.encode())


def refusal() -> Response:
    answer = web.Reply(html=False).problem(403, NOT_THROUGH_FRONT_DOOR)
    return Response(body=answer.body, status_code=answer.status, headers=dict(answer.headers))


def guard(environ: Mapping[str, str]) -> Callable[[Any, Callable[[Any], Response]], Response]:
    """A Chalice HTTP middleware that refuses requests without the origin secret."""

    def only_through_cloudfront(request: Any, get_response: Callable[[Any], Response]) -> Response:
        headers = request.headers if request is not None else {}
        if not came_through_front_door(headers, expected_secret(environ)):
            return refusal()
        return get_response(request)

    return only_through_cloudfront
