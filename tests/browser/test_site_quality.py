"""The site as a whole: nothing fetched from anyone but us, and no accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import REPO, Visit
from .site_pages import audited_pages, built_pages

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def test_no_page_requests_anything_from_another_origin(with_js: Visit) -> None:
    origin = urlsplit(with_js.base_url).netloc
    pages = built_pages()
    assert len(pages) > 10
    for path in pages:
        with_js.page.goto(with_js.base_url + path, wait_until="networkidle")
    outside = [
        url for url in with_js.requests
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != origin
    ]
    assert outside == []
    assert len(with_js.requests) > len(pages)


def inject_axe(page: Any) -> None:
    """Run axe-core in the page as the test tool it is: the site's CSP admits no inline script."""
    page.evaluate(Path(AXE).read_text(encoding="utf-8") + "\n;undefined")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", audited_pages())
def test_axe_finds_no_violations(browser: Any, live: Any, path: str, scheme: str) -> None:
    if not Path(AXE).exists():
        pytest.fail("axe-core is missing: `make setup` installs it from package.json")
    context = browser.new_context(base_url=live.base_url, color_scheme=scheme)
    page = context.new_page()
    page.goto(path)
    inject_axe(page)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    context.close()
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5])
        for v in result["violations"]
    ]
    assert violations == []


def test_axe_finds_no_violations_in_a_form_showing_errors(with_js: Visit) -> None:
    page = with_js.open("/contact/")
    page.get_by_label("Email address").fill("not an email")
    with_js.take_time_to_fill()
    page.locator("form[data-af-form=enquiry] .af-submit").click()
    page.locator(".af-error-summary").wait_for()
    # Focusing the summary scrolls, and the theme's back-to-top button fades in: let it settle,
    # or axe measures its contrast halfway through the fade.
    page.locator(".md-top").evaluate("e => Promise.all(e.getAnimations().map(a => a.finished))")
    page.wait_for_timeout(400)
    inject_axe(page)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]] == []
