"""The insight page in the console: figures from the counters, a chart and a table for each, bars
that link to the list behind them, plain refusals of a bad period, comments escaped, audited, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from chalicelib.console.door import Console
from chalicelib.insight import tally
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store import items

from tests.staff.conftest import HelpDesk
from tests.staff.test_console import GROUPS, Browser, text

NOW = datetime.now(UTC)
HOSTILE = '<script>alert("x")</script> the reset button'


@pytest.fixture
def counted(help_desk: HelpDesk) -> HelpDesk:
    """A few forms and votes, counted as the stream counts them."""
    yesterday = NOW - timedelta(days=1)
    for score in (5, 4, 2):
        help_desk.submit("feedback", at=yesterday, overall=score)
    page = "/guides/aura-book-14/"
    help_desk.submit("page_feedback", at=yesterday, page=page, helpful=True, comment=None)
    help_desk.submit("page_feedback", at=yesterday, page=page, helpful=False, comment=HOSTILE)
    help_desk.submit("complaint", at=yesterday, category="delivery")
    for item in help_desk.raw_items():
        if items.is_submission(item):
            tally.count(help_desk.table, case_policy(), "INSERT", item, NOW)
    return help_desk


def handler(console: Console) -> Browser:
    return Browser(console, "sam.lee@shop.example", GROUPS["handlers"])


def tables(html: str) -> dict[str, list[list[str]]]:
    found = {}
    for key, body in re.findall(r'<table id="table-([a-z_]+)"[^>]*>(.*?)</table>', html, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        found[key] = [[unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                       for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]
    return found


def test_the_page_shows_the_counted_figures_each_chart_with_its_table(console: Console, counted: HelpDesk):
    answer = handler(console).get("/staff/insight")
    assert answer.status == 200, text(answer)
    html = answer.body.decode()
    shown = tables(html)
    overall = next(row for row in shown["satisfaction"] if row[0] == "Overall")
    assert overall[1:4] == ["3.67", "67%", "3"]
    distribution = {row[0]: row[1] for row in shown["distribution"][1:]}
    assert distribution == {"1 of 5": "0", "2 of 5": "1", "3 of 5": "0", "4 of 5": "1", "5 of 5": "1"}
    assert shown["pages"][1][:5] == ["/guides/aura-book-14/", "1", "1", "50%", "0"]
    # Every chart drawn has its table, and every bar is a link into the console's lists.
    charts = re.findall(r'<section class="figure"[^>]*>(.*?)</section>', html, re.S)
    assert charts and all('<table id="table-' in section for section in charts if "<svg" in section)
    assert "<script" not in html.replace(unescape("&lt;script"), "")
    links = re.findall(r'<a href="([^"]+)" aria-label', html)
    assert links and all(link.startswith(("/staff/submissions?", "/staff/cases?")) for link in links)
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    assert any("kind=feedback" in unescape(link) for link in links)
    assert all(re.search(r"since=\d{4}-\d\d-\d\d&amp;until=\d{4}-\d\d-\d\d", link) for link in links
               if link.startswith("/staff/submissions"))
    assert yesterday


def test_handlers_read_the_latest_comment_escaped_and_it_is_audited(console: Console, counted: HelpDesk):
    html = handler(console).get("/staff/insight").body.decode()
    assert HOSTILE not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; the reset button" in html
    actions = [(r["actor"], r["action"]) for r in counted.audit_records()]
    assert ("sam.lee@shop.example", "insight.show") in actions
    assert ("sam.lee@shop.example", "insight.comments") in actions


@pytest.mark.parametrize(("query", "named"), [
    ({"weeks": "7"}, "weeks"), ({"weeks": "x"}, "weeks"), ({"from": "30/11/2026"}, "from"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "to"), ({"product": "<b>"}, "product"),
    ({"kind": "secrets"}, "kind")])
def test_a_bad_period_or_filter_is_refused_naming_the_field(console: Console, help_desk: HelpDesk,
                                                             query: dict[str, str], named: str):
    for path in ("/staff/insight", "/staff/insight.csv"):
        answer = handler(console).get(path, **query)
        assert answer.status == 400 and named + ":" in text(answer), text(answer)
        assert "<b>" not in answer.body.decode()


def test_a_filter_and_dates_narrow_the_figures(console: Console, counted: HelpDesk):
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    dates = {"from": yesterday, "to": yesterday}
    shown = tables(handler(console).get("/staff/insight", kind="complaint", **dates).body.decode())
    assert next(row for row in shown["satisfaction"] if row[0] == "Overall")[3] == "0"
    reasons = shown["reasons"]
    assert reasons[1] == ["Complaint", "delivery", "No product", "1"]
    before = tables(handler(console).get("/staff/insight", **{"from": "2020-01-01",
                                                              "to": "2020-01-31"}).body.decode())
    assert next(row for row in before["satisfaction"] if row[0] == "Overall")[3] == "0"


def test_the_csv_holds_the_figures_and_no_comment(console: Console, counted: HelpDesk):
    answer = handler(console).get("/staff/insight.csv", weeks="13")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    body = answer.body.decode()
    assert body.startswith("\ufeff") and "reset button" not in body
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    start = rows.index(["Satisfaction by aspect (feedback forms)"])
    assert rows[start + 2][:4] == ["Overall", "3.67", "66.67", "3"]


def test_cases_open_and_overdue_now_link_to_their_queues(console: Console, counted: HelpDesk):
    html = handler(console).get("/staff/insight").body.decode()
    assert tables(html)["open_now"][1:] == [["Complaint", "1", "0"], ["Return request", "0", "0"],
                                            ["Enquiry", "0", "0"], ["Service visit", "0", "0"]]
    assert '<a href="/staff/cases?queue=open&amp;kind=complaint" aria-label="Complaint: 1 (Open)">' in html


def test_the_page_runs_no_script_and_may_not_be_framed(console: Console, counted: HelpDesk):
    for path in ("/staff/insight", "/staff/insight.csv"):
        answer = handler(console).get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "frame-ancestors 'none'" in policy and answer.headers["Cache-Control"] == "no-store"
    html = handler(console).get("/staff/insight").body.decode()
    assert not re.search(r"<script|\son[a-z]+=|javascript:", html)
