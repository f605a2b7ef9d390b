"""Addresses on the site's own origin that we send customers to, from emails and pages."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib.forms import TRACK
from chalicelib.languages import SOURCE_LANGUAGE

API_BASE = "/api"  # where the site's origin sends the API (CloudFront and the local server)


def track_path(reference: str, language: str = SOURCE_LANGUAGE) -> str:
    """The Track a request form with the reference filled in, in the customer's language (the
    page's `language` in another than English); never the email address.

    The API draws the site's own track page around the value (GET /api/track),
    so the reference is there without JavaScript: the site is static, and only
    a script could read a query on its own page.
    """
    in_language = f"&language={quote(language)}" if language != SOURCE_LANGUAGE else ""
    return f"{API_BASE}{TRACK.path}?reference={quote(reference)}{in_language}"
