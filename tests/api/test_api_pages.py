"""The pages the API draws after a no-JavaScript post are the site's own pages (issue 24, point 7):
its header, navigation and footer with the phone number, dates in words, titles for what was done."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from chalicelib.rules.retailer import retailer
from chalicelib.web.pages import PROBLEM_TITLE, page_shell, site_page

from tests.api.posting import post_form
from tests.api.test_track import COMPLAINT, MESSAGE_ROLE
from tests.api.test_warranty import REGISTER, REGISTRATION, STATUS_QUERY, register
from tests.api.test_warranty import today as today  # a fixture

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(autouse=True)
def built_site() -> None:
    assert site_page("shell") is not None, "build the site first (make site): the API draws its pages in it"


def in_the_site_s_look(page: str, title: str) -> None:
    assert f"<title>{title} - Aftercare</title>" in page
    assert 'class="md-header' in page and 'class="md-nav md-nav--primary"' in page
    assert 'class="md-footer' in page and retailer().contact.phone in page
    assert page.count("<h1") == 1 and f"<h1>{title}</h1>" in page
    assert '<meta name="robots" content="noindex">' in page


def test_a_warranty_s_status_is_a_site_page_with_its_dates_in_words(api: Any, today: date) -> None:
    register(api)
    page = post_form(api, "/warranty-status", STATUS_QUERY, referer="/warranty/check/").body.decode()
    in_the_site_s_look(page, "Your warranty")
    assert "<dd>22 November 2026</dd>" in page and "<dd>1 November 2028</dd>" in page
    main = page[page.index("<article"):page.index("</article>")]
    assert not ISO_DAY.search(main)


def test_a_failed_warranty_look_up_is_titled_for_a_look_up(api: Any, today: date) -> None:
    missing = post_form(api, "/warranty-status", {**STATUS_QUERY, "email": "x@example.com"},
                        referer="/warranty/check/")
    page = missing.body.decode()
    assert missing.status_code == 404
    in_the_site_s_look(page, "We could not check your warranty")
    assert PROBLEM_TITLE not in page and "We found no warranty" in page


def test_the_thank_you_and_track_answers_are_site_pages(
    api: Any, today: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_CASE_MESSAGE_ROLE_ARN", MESSAGE_ROLE)
    sent = post_form(api, REGISTER, REGISTRATION)
    thanks = api.http.get(sent.headers["Location"].removeprefix("/api")).body.decode()
    in_the_site_s_look(thanks, "Thank you")
    assert "1 November 2028" in thanks
    complaint = post_form(api, "/complaints", COMPLAINT)
    reference = re.search(r"CMP-[A-Z0-9]{4}-[A-Z0-9]{4}", api.http.get(
        complaint.headers["Location"].removeprefix("/api")).body.decode()).group(0)  # type: ignore[union-attr]
    tracked = post_form(api, "/track", {"reference": reference, "email": COMPLAINT["email"]}).body.decode()
    in_the_site_s_look(tracked, "Your complaint")
    lost = post_form(api, "/track", {"reference": reference, "email": "x@example.com"}).body.decode()
    in_the_site_s_look(lost, "We could not look up your request")


def test_an_unsubscribe_page_is_a_site_page(api: Any) -> None:
    page = api.http.get("/unsubscribe?token=not-a-token").body.decode()
    in_the_site_s_look(page, "We could not unsubscribe you with this link")


def test_the_shell_is_the_built_page_with_only_its_title_and_content_left_open() -> None:
    built = ('<html><head><title>Aftercare</title></head><body><header>H</header>'
             '<article class="md-content__inner md-typeset"><h1>Not found</h1></article>'
             '<footer>Phone</footer></body></html>')
    shell = page_shell(built)
    assert "Not found" not in shell and "<header>H</header>" in shell and "<footer>Phone</footer>" in shell
    with pytest.raises(ValueError):
        page_shell("<html><body>no article</body></html>")
