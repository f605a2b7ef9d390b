"""The insight page in Chromium on the local stack: it renders with JavaScript off, every chart
has its table, a bar's link opens the matching filtered list, and the charts follow light and dark."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalicelib.insight import tally
from chalicelib.rules.lifecycles import case_policy

from tests.browser.console_stack import HANDLER, ConsoleStack, console_mail, console_stack, sign_in  # noqa: F401 - the console on the local stack

pytestmark = pytest.mark.browser


def counted(stack: Any, timeout: float = 90) -> None:
    """Wait until the stream reader has counted what the stack holds."""
    deadline = time.monotonic() + timeout
    while tally.rebuild(stack.table(), case_policy(), datetime.now(UTC), write=False):
        assert time.monotonic() < deadline, "the stream reader did not catch up"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def seeded(console_stack: ConsoleStack) -> dict[str, Any]:  # noqa: F811
    stack = console_stack.stack
    complaints = [stack.post("complaint", category="delivery") for _ in range(2)]
    enquiry = stack.post("enquiry")
    for score in (5, 3):
        stack.post("feedback", overall=score, comment=None, case_reference=None)
    with stack.reader():
        counted(stack)
    password = console_stack.staff_add(HANDLER, "handlers")
    return {"complaints": complaints, "enquiry": enquiry, "password": password}


def test_without_javascript_every_chart_has_its_table_and_a_bar_opens_its_list(
        browser: Any, console_stack: ConsoleStack, seeded: dict[str, Any]) -> None:  # noqa: F811
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda sent: requests.append(sent.url))
    try:
        sign_in(page, console_stack, "/staff/insight", seeded["password"])
        page.get_by_role("heading", name="Insight", exact=True).wait_for()
        figures = page.locator("section.figure")
        assert figures.count() >= 10
        for index in range(figures.count()):
            section = figures.nth(index)
            if section.locator("svg").count():
                assert section.locator("table").count() == 1, section.locator("h2").inner_text()
        overall = page.locator("#table-satisfaction tbody tr").filter(has_text="Overall")
        assert overall.locator("td").nth(0).inner_text() == "4.00"
        # Drill-down: the bar of complaints open now opens the case list filtered to them.
        bar = page.locator('#open_now svg a[aria-label^="Complaint:"]')
        assert bar.get_attribute("aria-label") == "Complaint: 2 (Open)"
        bar.click()
        page.wait_for_url(re.compile(r"/staff/cases\?queue=open&kind=complaint$"))
        listed = page.locator("main").inner_text()
        assert all(reference in listed for reference in seeded["complaints"])
        assert seeded["enquiry"] not in listed
        # Bars about forms open the console's list of submissions with the same filters.
        page.go_back()
        reasons = page.locator('#reasons svg a[aria-label^="Complaint:"]').first
        query = parse_qs(urlsplit(reasons.get_attribute("href")).query)
        assert urlsplit(reasons.get_attribute("href")).path == "/staff/submissions"
        assert query["kind"] == ["complaint"] and set(query) == {"kind", "since", "until"}
        reasons.click()
        page.wait_for_url(re.compile(r"/staff/submissions\?"))
        listed = page.locator("main table").inner_text()
        assert all(reference in listed for reference in seeded["complaints"])
        assert seeded["enquiry"] not in listed
        ours = (console_stack.base_url, console_stack.provider.issuer)
        assert all(url.startswith(ours) for url in requests)
    finally:
        context.close()


def test_the_charts_follow_light_and_dark(browser: Any, console_stack: ConsoleStack,  # noqa: F811
                                          seeded: dict[str, Any]) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, console_stack, "/staff/insight", seeded["password"])
        bar = page.locator("#open_now svg rect.bar").first
        colours = {}
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            colours[scheme] = (bar.evaluate("rect => getComputedStyle(rect).fill"),
                               page.evaluate("getComputedStyle(document.body).backgroundColor"))
        assert colours["light"][0] != colours["dark"][0]
        assert all(fill != background for fill, background in colours.values())
    finally:
        context.close()
