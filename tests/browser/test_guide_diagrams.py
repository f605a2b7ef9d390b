"""The guides' diagrams follow the reader's colour scheme (issue 24, point 3), in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

COLOURS = """figure => {
  const art = figure.querySelector("svg");
  const mark = figure.querySelector(".af-mark");
  const link = document.querySelector(".md-typeset a:not(.md-button, .headerlink)");
  return {
    lines: getComputedStyle(art).color,
    text: getComputedStyle(document.querySelector(".md-typeset")).color,
    mark: getComputedStyle(mark).stroke,
    link: getComputedStyle(link).color,
  };
}"""


def colours(browser: Any, live: Any, scheme: str) -> dict[str, str]:
    context = browser.new_context(base_url=live.base_url, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(live.base_url + "/guides/purewash-8/")
        figure = page.locator("#diagram-purewash-8-serial-label")
        assert figure.get_by_role("img").count() == 1  # named by its title, for screen readers
        return dict(figure.evaluate(COLOURS))
    finally:
        context.close()


def test_a_diagram_is_drawn_in_the_text_and_link_colours_of_each_scheme(browser: Any, live: Any) -> None:
    light, dark = colours(browser, live, "light"), colours(browser, live, "dark")
    for shown in (light, dark):
        assert shown["lines"] == shown["text"], shown
        assert shown["mark"] == shown["link"], shown
    assert light["lines"] != dark["lines"] and light["mark"] != dark["mark"], (light, dark)


def test_with_javascript_the_serial_hint_names_the_chosen_product_s_label_only(with_js: Any) -> None:
    from chalicelib.rules.catalog import catalog

    from .conftest import form_pages

    page = with_js.open(form_pages()["warranty_registration"])
    form = page.locator("form[data-af-form=warranty_registration]")
    hint = form.locator("#f-warranty-registration-serial-number-hint")
    washer, laptop = catalog().product("purewash-8"), catalog().product("aura-book-14")
    assert washer.serial_location in hint.inner_text() and laptop.serial_location in hint.inner_text()
    form.locator("input[name=product][value=purewash-8]").check()
    assert washer.serial_location in hint.inner_text()
    assert laptop.serial_location not in hint.inner_text()
