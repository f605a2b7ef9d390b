"""'Was this page helpful?' on guides and policies: a vote is one click, the reader stays on the page,
and after a No the page asks what was missing. No cookies, no analytics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import Visit, guide_pages

pytestmark = pytest.mark.browser
POLICY = "/policies/returns/"


def vote(page: Any, answer: str) -> None:
    page.get_by_role("group", name="Was this page helpful?").get_by_role("button", name=answer).click()
    # Without JavaScript the vote reloads the page: what is shown or hidden is the stylesheet's
    # say, so judge it once the page (its stylesheet with it) has loaded.
    page.wait_for_load_state("load")


def test_a_vote_straight_after_the_page_opens_is_thanked_in_place_and_stored(
    with_js: Visit, live: Any
) -> None:
    guide = guide_pages()[0]
    page = with_js.open(guide)
    vote(page, "Yes")  # at once: a vote is a single click, never "too fast"
    page.locator("#af-helpful-yes").get_by_text("Thank you for your feedback.").wait_for()
    assert page.evaluate("document.activeElement.id") == "af-helpful-yes"
    assert page.url.endswith(guide)
    stored = live.submissions()
    assert len(stored) == 1
    assert stored[0]["fields"].get("page") == guide and stored[0]["fields"].get("helpful") is True
    assert page.context.cookies() == []


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_after_a_no_the_page_asks_what_was_missing_and_stays_put(
    live: Any, javascript: bool, request: Any
) -> None:
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    page = visit.open(POLICY)
    assert page.get_by_label("What was missing? (optional)").is_hidden(), "asked only after a No"
    vote(page, "No")
    missing = page.get_by_label("What was missing? (optional)")
    missing.wait_for()
    assert re.search(re.escape(POLICY) + r"(#af-helpful-no)?$", page.url), page.url
    assert "Thank you for telling us." in page.locator("#af-helpful-no").inner_text()
    assert page.get_by_role("group", name="Was this page helpful?").is_hidden(), "one vote per visit"

    missing.fill("Where to find the returns address.")
    page.locator("#af-helpful-no").get_by_role("button", name="Send").click()
    page.wait_for_load_state("load")
    page.locator("#af-helpful-sent").wait_for()
    assert missing.is_hidden()
    assert re.search(re.escape(POLICY) + r"(#af-helpful-sent)?$", page.url), page.url
    stored = sorted(live.submissions(), key=lambda item: item["fields"]["follows_vote"])
    assert [(s["fields"]["helpful"], s["fields"]["follows_vote"]) for s in stored] == [
        (False, False), (False, True)
    ], "one vote, and one comment on it"


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_guide_s_feedback_link_fills_in_the_page(live: Any, javascript: bool, request: Any) -> None:
    visit: Visit = request.getfixturevalue("with_js" if javascript else "without_js")
    guide = guide_pages()[0]
    page = visit.open(guide)
    page.locator(".af-helpful").get_by_role("link", name="feedback form").click()
    form = page.locator("form[data-af-form=feedback]")
    form.wait_for()
    field = form.get_by_label("Page (optional)")
    assert field.input_value() == guide
    form.locator("input[name=overall][value='4']").check()
    visit.take_time_to_fill()
    form.locator(".af-submit").click()
    if javascript:
        page.locator(".af-outcome:has-text('Your reference is')").wait_for()
    else:
        page.wait_for_url(re.compile(r"/api/thanks\?receipt="))
    [stored] = live.submissions()
    assert stored["fields"]["page"] == guide


def test_a_pasted_address_of_our_own_page_is_taken_and_another_site_s_is_refused(
    with_js: Visit, live: Any
) -> None:
    page = with_js.open("/feedback/")
    form = page.locator("form[data-af-form=feedback]")
    form.locator("input[name=overall][value='4']").check()
    field = form.get_by_label("Page (optional)")
    field.fill("https://elsewhere.example/guides/")
    with_js.take_time_to_fill()
    form.locator(".af-submit").click()
    message = page.locator("#f-feedback-page-error")
    message.wait_for()
    assert "not on this site" in message.inner_text()
    field.fill(live.base_url + POLICY)
    form.locator(".af-submit").click()
    page.locator(".af-outcome:has-text('Your reference is')").wait_for()
    [stored] = live.submissions()
    assert stored["fields"]["page"] == POLICY
