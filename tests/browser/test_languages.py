"""The site in English and Hindi, in a browser: the switcher, search, forms and missing pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import urlopen

import pytest

from .conftest import Visit, fill_valid

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"\b[A-Z]{2,4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


def switch_to(page: Any, language: str) -> None:
    """Use Material's language selector in the header, as a reader would."""
    page.locator(".md-header .md-select").hover()
    page.locator(f".md-header a.md-select__link[hreflang={language}]").click()


@pytest.mark.parametrize("path", ["/", "/policies/warranty/", "/guides/purewash-8/", "/warranty/register/"])
def test_switching_language_keeps_the_page(with_js: Visit, path: str) -> None:
    page = with_js.open(path)
    assert page.locator("html").get_attribute("lang") == "en"
    switch_to(page, "hi")
    page.wait_for_url(re.compile(re.escape(f"/hi{path}") + "$"))
    assert page.locator("html").get_attribute("lang") == "hi"
    assert re.search("[\u0900-\u097f]", page.locator("h1").inner_text()), "the Hindi page's own heading"
    switch_to(page, "en")
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    assert not page.url.rstrip("/").endswith("/hi")
    assert page.locator("html").get_attribute("lang") == "en"


def test_every_page_names_its_other_language_version_for_search_engines(with_js: Visit) -> None:
    fetched: list[str] = []
    with_js.page.on("response", lambda response: fetched.append(f"{response.status} {response.url}"))
    page = with_js.open("/hi/policies/returns/")
    page.wait_for_load_state("networkidle")
    switcher = {
        link.get_attribute("hreflang"): link.evaluate("a => new URL(a.href).pathname")
        for link in page.locator(".md-header a.md-select__link").all()
    }
    assert switcher == {"en": "/policies/returns/", "hi": "/hi/policies/returns/"}
    sitemap = page.request.get("/sitemap.xml").text()
    entry = sitemap[sitemap.index("/policies/returns/</loc>"):].split("</url>")[0]
    assert 'hreflang="en"' in entry and 'hreflang="hi"' in entry and "/hi/policies/returns/" in entry
    assert not [f for f in fetched if f.startswith("404")], "no request for a sitemap beside the page"


def test_the_language_switcher_works_without_javascript(without_js: Visit) -> None:
    page = without_js.open("/track/")
    link = page.locator(".md-header a.md-select__link[hreflang=hi]")
    assert link.evaluate("a => new URL(a.href).pathname") == "/hi/track/"


def search_hrefs(page: Any) -> list[str]:
    results = page.locator(".md-search-result__item")
    results.first.wait_for()
    return [a.evaluate("a => new URL(a.href).pathname") for a in results.locator("a").all()]


def test_searching_warranty_in_hindi_finds_the_warranty_policy_and_the_guides(with_js: Visit) -> None:
    page = with_js.open("/hi/?q=" + quote("वारंटी"))
    hrefs = search_hrefs(page)
    assert "/hi/policies/warranty/" in hrefs, hrefs
    assert any(h.startswith("/hi/guides/") for h in hrefs), hrefs
    assert all(h.startswith("/hi/") for h in hrefs), "a Hindi reader gets Hindi pages"


@pytest.mark.parametrize(("typed", "page_path"), [
    ("रिफंड", "/hi/policies/returns/"),  # without the nukta the glossary writes
    ("गारंटी", "/hi/policies/warranty/"),  # the word people often mean
])
def test_other_spellings_of_a_glossary_term_find_its_pages(
    with_js: Visit, typed: str, page_path: str
) -> None:
    page = with_js.open("/hi/?q=" + quote(typed))
    assert page_path in search_hrefs(page)


def test_the_english_site_searches_english_pages_only(with_js: Visit) -> None:
    page = with_js.open("/?q=warranty")
    hrefs = search_hrefs(page)
    assert "/policies/warranty/" in hrefs
    assert not any(h.startswith("/hi/") for h in hrefs)


def test_a_hindi_form_posts_without_javascript_to_the_same_route_and_gets_its_answer(
    without_js: Visit, live: Any
) -> None:
    page = without_js.open("/hi/warranty/register/")
    form = page.locator("form[data-af-form=warranty_registration]")
    assert form.get_attribute("action") == "/api/warranty-registrations"
    assert form.locator("input[type=hidden][name=language]").get_attribute("value") == "hi"
    assert page.get_by_label("सीरियल नंबर").count() == 1
    fill_valid(page, form)
    form.locator(".af-submit").click()
    page.wait_for_url(re.compile(r"/api/thanks\?receipt="))
    shown = REFERENCE.search(page.locator("main").inner_text())
    stored = [(s["kind"], s["reference"]) for s in live.submissions()]
    assert shown and stored == [("warranty_registration", shown.group(0))]


def test_a_hindi_form_with_javascript_counts_and_answers_in_hindi(with_js: Visit, live: Any) -> None:
    page = with_js.open("/hi/contact/")
    form = page.locator("form[data-af-form=enquiry]")
    fill_valid(page, form)
    message = form.locator("textarea")
    counter = form.locator(".af-count")
    message.fill("नमस्ते")
    counter.filter(has_text="4,994 अक्षर और लिख सकते हैं").wait_for()
    with_js.take_time_to_fill()
    form.locator(".af-submit").click()
    outcome = page.locator(".af-outcome:has-text('आपका रेफ़रेंस है')")
    outcome.or_(page.locator(".af-error-summary:visible")).first.wait_for()
    shown = REFERENCE.search(outcome.inner_text())
    assert shown and [s["reference"] for s in live.submissions()] == [shown.group(0)]


def test_a_missing_hindi_page_answers_with_the_hindi_not_found_page(with_js: Visit, live: Any) -> None:
    with pytest.raises(HTTPError) as missing:
        urlopen(live.base_url + "/hi/guides/no-such-product/")  # noqa: S310 - our own local server
    assert missing.value.code == 404
    page = with_js.open("/hi/guides/no-such-product/")
    assert page.locator("html").get_attribute("lang") == "hi"
    assert "यह पेज नहीं मिला" in page.locator("h1").inner_text()
    page = with_js.open("/guides/no-such-product/")
    assert page.locator("html").get_attribute("lang") == "en"
