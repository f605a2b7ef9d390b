"""Addresses on the site's own origin that we send customers to, from emails and pages."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib.forms import TRACK

API_BASE = "/api"  # where the site's origin sends the API (CloudFront and the local server)


def track_path(reference: str) -> str:
    """The Track a request form with the reference filled in; never the email address.

    The API draws the site's own track page around the value (GET /api/track),
    so the reference is there without JavaScript: the site is static, and only
    a script could read a query on its own page.
    """
    return f"{API_BASE}{TRACK.path}?reference={quote(reference)}"
