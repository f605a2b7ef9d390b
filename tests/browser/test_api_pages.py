"""Pages the API draws after a post without JavaScript are the site's pages (issue 24, point 7)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalicelib.rules.retailer import retailer

from .conftest import Visit, form_pages
from .test_track import COMPLAINT, acknowledged_complaint, track

pytestmark = pytest.mark.browser

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DAY_IN_WORDS = re.compile(r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|"
                          r"October|November|December) \d{4}\b")


def in_the_site_s_look(page: Any, title: str) -> str:
    """The site's header, navigation and footer with the phone number around one heading; its text."""
    page.locator("header.md-header").wait_for()
    assert page.locator("nav.md-nav--primary").count() == 1
    assert retailer().contact.phone in page.locator("footer.md-footer").inner_text()
    assert page.locator("h1").all_inner_texts() == [title]
    assert page.title() == f"{title} - Aftercare"
    return str(page.locator("article").inner_text())


def test_a_tracked_request_and_a_failed_warranty_check_are_site_pages(without_js: Visit, live: Any) -> None:
    reference = acknowledged_complaint(live)
    page = track(without_js, reference, COMPLAINT["email"])
    page.wait_for_url(re.compile(r"/api/track$"))
    text = in_the_site_s_look(page, "Your complaint")
    assert DAY_IN_WORDS.search(text) and not ISO_DAY.search(text)

    page = without_js.open(form_pages()["warranty_status"])
    form = page.locator("form[data-af-form=warranty_status]")
    form.locator("[name=serial_number]").fill("PW82407K99999")
    form.locator("[name=email]").fill("nobody@example.com")
    form.locator(".af-submit").click()
    page.wait_for_url(re.compile(r"/api/warranty-status$"))
    text = in_the_site_s_look(page, "We could not check your warranty")
    assert "We found no warranty" in text and "We could not take your form" not in text
