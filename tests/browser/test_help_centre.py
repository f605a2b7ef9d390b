"""The help centre in a browser: home page, 404 page, search synonyms, votes on policy pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from chalicelib.rules.catalog import catalog
from chalicelib.rules.retailer import retailer

from .conftest import Visit
from .test_site_quality import inject_axe

pytestmark = pytest.mark.browser

MAIN_TASKS = {
    "Register a warranty": "/warranty/register/",
    "Ask for a return": "/returns/request/",
    "Make a complaint": "/complaints/new/",
    "Track a request": "/track/",
    "Book a visit": "/visits/book/",
    "Contact us": "/contact/",
}


def search_results(page: Any) -> Any:
    results = page.locator(".md-search-result__item")
    results.first.wait_for()
    return results


def test_home_page_shows_the_search_box_before_anything_else_and_a_card_per_main_task(
    with_js: Visit,
) -> None:
    page = with_js.open("/")
    content = page.locator("article.md-content__inner")
    first_controls = content.locator("h2, input, a").first
    assert first_controls.get_attribute("id") == "af-search-query"
    assert page.get_by_role("search", name="Search the help centre").is_visible()
    cards = content.locator(".grid.cards").first
    for title, path in MAIN_TASKS.items():
        link = cards.get_by_role("link", name=title)
        assert link.is_visible()
        assert link.evaluate("a => new URL(a.href).pathname") == path
    assert cards.get_by_role("link", name="check my warranty").count() == 1
    assert retailer().contact.phone in content.inner_text()


def test_the_warranty_card_quotes_the_catalog_s_registration_window(with_js: Visit) -> None:
    """Issue 24, point 10: the card said "within days of buying" while the policy allows 90."""
    page = with_js.open("/")
    card = page.locator(".af-tasks li").filter(has=page.get_by_role("link", name="Register a warranty"))
    days = catalog().policy.registration_window_days
    assert f"within {days} days of buying" in card.inner_text()


def test_home_page_search_box_opens_material_search_with_the_query(with_js: Visit) -> None:
    page = with_js.open("/")
    page.get_by_label("Search guides and policies").fill("transit bolts")
    page.get_by_role("button", name="Search", exact=True).click()
    results = search_results(page)
    hrefs = [a.get_attribute("href") or "" for a in results.locator("a").all()]
    assert any("guides/purewash-8/" in href for href in hrefs)


def test_without_javascript_the_home_page_hides_the_search_box_and_its_cards_still_lead_to_tasks(
    without_js: Visit,
) -> None:
    page = without_js.open("/")
    assert not page.get_by_role("search", name="Search the help centre").is_visible()
    page.get_by_role("link", name="Ask for a return").first.click()
    page.wait_for_url(re.compile(r"/returns/request/$"))
    assert page.locator("form[data-af-form]").count() == 1


def test_searching_wifi_finds_the_guides_that_say_wi_fi(with_js: Visit) -> None:
    page = with_js.open("/?q=wifi")
    results = search_results(page)
    hrefs = [a.get_attribute("href") or "" for a in results.locator("a").all()]
    assert any("/guides/" in href for href in hrefs), hrefs
    assert "Wi-Fi" in results.first.inner_text()


@pytest.mark.parametrize("query", ["telly", "notebook", "guarantee"])
def test_searching_another_word_for_a_product_finds_it(with_js: Visit, query: str) -> None:
    page = with_js.open(f"/?q={query}")
    assert search_results(page).count() >= 1


def test_missing_page_has_the_site_look_search_and_the_main_tasks(
    with_js: Visit, live: Any
) -> None:
    with pytest.raises(HTTPError) as missing:
        urlopen(live.base_url + "/guides/no-such-product/")  # noqa: S310 - our own local server
    assert missing.value.code == 404
    page = with_js.open("/guides/no-such-product/")
    assert page.locator(".md-header").is_visible()
    assert "We cannot find that page" in page.locator("h1").inner_text()
    assert page.get_by_role("search", name="Search the help centre").is_visible()
    for title, path in MAIN_TASKS.items():
        link = page.locator("article").get_by_role("link", name=title)
        assert link.evaluate("a => new URL(a.href).pathname") == path
    page.get_by_label("Search guides and policies").fill("wifi")
    page.get_by_role("button", name="Search", exact=True).click()
    assert search_results(page).count() >= 1


def test_missing_page_without_javascript_still_leads_to_a_task(without_js: Visit) -> None:
    page = without_js.open("/no/such/page/")
    page.locator("article").get_by_role("link", name="Make a complaint").click()
    page.wait_for_url(re.compile(r"/complaints/new/$"))
    assert page.locator("form[data-af-form]").count() == 1


def test_contact_page_and_footer_give_a_phone_number_hours_and_an_address(
    without_js: Visit,
) -> None:
    shop = retailer()
    page = without_js.open("/contact/")
    article = page.locator("article").inner_text()
    footer = page.locator("footer").inner_text()
    for text in (article, footer):
        assert shop.contact.phone in text
        assert shop.contact.hours[0] in text
        assert shop.contact.address[0] in text
    phone_link = page.locator("article").get_by_role("link", name=shop.contact.phone)
    assert phone_link.get_attribute("href") == shop.contact.phone_link


@pytest.mark.parametrize("policy_page", ["/policies/returns/", "/privacy/"])
def test_policy_pages_offer_was_this_page_helpful(
    without_js: Visit, live: Any, policy_page: str
) -> None:
    page = without_js.open(policy_page)
    page.get_by_role("group", name="Was this page helpful?").get_by_role("button", name="Yes").click()
    page.wait_for_url(re.compile(re.escape(policy_page) + "#af-helpful-yes$"))
    assert page.locator("#af-helpful-yes").is_visible(), "thanked on the page itself"
    stored = live.submissions()
    assert len(stored) == 1
    assert stored[0]["fields"].get("page") == policy_page
    assert stored[0]["fields"].get("helpful") is True


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_the_missing_page(browser: Any, live: Any, scheme: str) -> None:
    context = browser.new_context(base_url=live.base_url, color_scheme=scheme)
    page = context.new_page()
    page.goto("/no-such-page/")
    inject_axe(page)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    context.close()
    assert [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]] == []


# -- Issue 24, point 9: search without JavaScript, and the guide section first ----------


@pytest.mark.parametrize("path", ["/", "/no-such-page/"])
def test_without_javascript_a_plain_way_in_takes_the_search_box_s_place(without_js: Visit, path: str) -> None:
    page = without_js.page
    page.goto(without_js.base_url + path)
    note = page.locator(".af-search-nojs")
    assert note.is_visible()
    assert "needs JavaScript" in note.inner_text()
    note.get_by_role("link", name="product guides").click()
    page.wait_for_url(re.compile(r"/guides/$"))
    assert page.locator("h1").inner_text().startswith("Product guides")


@pytest.mark.parametrize("query, guide", [("wifi", None), ("transit bolts", "purewash-8")])
def test_the_top_search_hit_is_a_guide_s_section_not_the_guides_index(
    with_js: Visit, query: str, guide: str | None
) -> None:
    page = with_js.open(f"/?q={query}")
    top = search_results(page).first  # Material groups hits by page: the page, then its sections
    hrefs_of_top = [a.evaluate("a => new URL(a.href).pathname + new URL(a.href).hash")
                    for a in top.locator("a").all()]
    page_href, section_href = hrefs_of_top[0], hrefs_of_top[1]
    assert re.fullmatch(rf"/guides/{guide or '[a-z0-9-]+'}/", page_href), hrefs_of_top
    assert re.fullmatch(rf"{page_href}#[a-z0-9-]+", section_href), hrefs_of_top
    every_hit = page.locator(".md-search-result__item a").all()
    hrefs = [a.evaluate("a => new URL(a.href).pathname") for a in every_hit]
    assert "/guides/" not in hrefs, hrefs
