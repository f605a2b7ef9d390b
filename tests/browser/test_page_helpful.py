"""'Was this page helpful?' on guide pages: one stored vote, no cookies, no analytics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Visit, guide_pages

pytestmark = pytest.mark.browser


def test_helpful_vote_with_javascript_thanks_in_place_and_stores_one(
    with_js: Visit, live: Any
) -> None:
    guide = guide_pages()[0]
    page = with_js.open(guide)
    with_js.take_time_to_fill()  # reading the page
    page.get_by_role("group", name="Was this page helpful?").get_by_role(
        "button", name="Yes"
    ).click()
    thanks = page.locator(".af-helpful [role=status]")
    thanks.get_by_text("Thank you for your feedback.").wait_for()
    assert page.url.endswith(guide)
    stored = live.submissions()
    assert len(stored) == 1
    assert stored[0]["fields"].get("page") == guide and stored[0]["fields"].get("helpful") is True
    assert page.context.cookies() == []


def test_helpful_vote_without_javascript_posts_plain_html(
    without_js: Visit, live: Any
) -> None:
    guide = guide_pages()[-1]
    page = without_js.open(guide)
    page.get_by_role("button", name="No").click()
    page.wait_for_url(re.compile(r"/api/"))
    assert "Thank you" in page.locator("h1").inner_text()
    stored = live.submissions()
    assert len(stored) == 1 and stored[0]["fields"].get("helpful") is False
