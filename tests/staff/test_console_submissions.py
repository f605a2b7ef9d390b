"""The console's submissions room on a real staff desk (moto): the export's filter in the URL, a page
at a time from the export's own query, names escaped, the download of the same filter, and the
product filter through both doors (the console's job and `aftercare export`) giving the same file."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from chalicelib.console import rooms
from chalicelib.console.door import Console
from chalicelib.console.function import run_export
from chalicelib.store.table import SubmissionTable

from tests.staff.conftest import NOW, HelpDesk
from tests.staff.test_console import Browser, text
from tests.staff.test_console import console as console  # noqa: F401, PLC0414 - the fixture
from tests.staff.test_console import exports_console as exports_console  # noqa: F401, PLC0414 - the fixture
from tests.staff.test_console import help_desk as help_desk  # noqa: F401, PLC0414 - the fixture

HANDLER = "sam.lee@shop.example"
WASHER, BLENDER = "purewash-8", "chefmate-blend"


def visit_for(help_desk: HelpDesk, product: str, name: str) -> str:
    """A service visit for a product (its serial is optional, so any product's will do)."""
    return help_desk.submit("service_visit", product=product, serial_number=None, name=name)


def links(answer: Any, label: str) -> list[str]:
    html = answer.body.decode()
    return [found.replace("&amp;", "&") for found in re.findall(rf'<a href="([^"]+)">{label}</a>', html)]


def references(answer: Any) -> list[str]:
    return re.findall(r'<td><a href="/staff/(?:cases|submissions)/([A-Z0-9-]+)">', answer.body.decode())


def walk(browser: Browser, **query: str) -> tuple[list[str], list[str]]:
    """Every page of a list, by its Next links: the references in order, and each page's URL."""
    seen: list[str] = []
    urls: list[str] = []
    page = browser.get("/staff/submissions", **query)
    for _ in range(20):
        assert page.status == 200, text(page)
        seen += references(page)
        following = links(page, "Next page")
        if not following:
            return seen, urls
        urls.append(following[0])
        parts = urlsplit(following[0])
        page = browser.get(parts.path, **{name: values[0] for name, values in parse_qs(parts.query).items()})
    raise AssertionError(f"the pages never end: {urls[-3:]}")


def test_the_list_pages_through_the_exports_rows_with_nothing_personal_in_its_urls(
        console: Console, help_desk: HelpDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooms, "SUBMISSION_PAGE_ROWS", 2)
    complaints = [help_desk.submit("complaint", name=f"Zoë {number}", email=f"z{number}@example.com",
                                   at=NOW - timedelta(minutes=10 - number)) for number in range(5)]
    enquiries = [help_desk.submit("enquiry", name="Ravi Kumar") for _ in range(2)]
    handler = Browser(console, HANDLER, ("handlers",))

    seen, urls = walk(handler, kind="complaint")
    complaint_position = parse_qs(urlsplit(urls[0]).query)["after"][0]
    assert seen == complaints  # oldest first, each once, over three pages
    assert len(urls) == 2
    every, urls = walk(handler)  # every form: kind by kind, across the kinds' boundary
    assert sorted(every) == sorted(complaints + enquiries) and len(every) == len(set(every))
    assert len(urls) == 3
    for url in urls:
        assert "@" not in url and "Zo" not in url and "Ravi" not in url
    read: list[int] = []
    pages_of = SubmissionTable._pages

    def counted(table: SubmissionTable, request: dict[str, Any]) -> Any:
        for found in pages_of(table, request):
            read.append(len(found))
            yield found

    monkeypatch.setattr(SubmissionTable, "_pages", counted)
    elsewhere = handler.get("/staff/submissions", kind="complaint", since="2020-01-01", until="2020-01-31",
                            after=complaint_position)
    assert elsewhere.status == 200 and references(elsewhere) == []  # another filter's position: the top
    read.clear()
    page = handler.get("/staff/submissions", kind="complaint")
    assert sum(read) <= 3  # a page of two of five reads three rows at most (the third: more follow)
    assert "Zoë 0" in text(page) and "Zoë 1" in text(page)  # the name, decrypted through the desk
    assert f'href="/staff/cases/{complaints[0]}"' in page.body.decode()  # a case opens its case page
    command = help_desk.ok("submissions", "--kind", "complaint", "--rows", "2", "--format", "jsonl")
    assert [json.loads(line)["reference"] for line in command.stdout.splitlines()] == complaints[:2]
    position = command.stderr.rsplit("--after ", 1)[1].strip()
    following = help_desk.ok("submissions", "--kind", "complaint", "--rows", "2", "--after", position,
                             "--format", "jsonl")
    assert [json.loads(line)["reference"] for line in following.stdout.splitlines()] == complaints[2:4]
    listed = [record for record in help_desk.audit_records() if record["action"] == "submissions.list"]
    assert HANDLER in {record["actor"] for record in listed}  # the console's, under the signed-in handler
    assert listed[-1]["kinds"] == ["complaint"] and listed[-1]["item_count"] == 2


def test_a_submission_that_is_no_case_opens_as_exported(console: Console, help_desk: HelpDesk) -> None:
    registration = help_desk.submit("warranty_registration", name="Ravi Kumar")
    complaint = help_desk.submit("complaint")
    handler = Browser(console, HANDLER, ("handlers",))
    listed = handler.get("/staff/submissions", kind="warranty_registration")
    assert f'href="/staff/submissions/{registration}"' in listed.body.decode()
    shown = handler.get(f"/staff/submissions/{registration.lower()}")
    assert shown.status == 200 and "Ravi Kumar" in text(shown)
    moved = handler.get(f"/staff/submissions/{complaint}")
    assert moved.status == 303 and moved.headers["Location"] == f"/staff/cases/{complaint}"
    assert handler.get("/staff/submissions/WR-0000-0000").status == 404
    assert Browser(console, "priya@shop.example", ("privacy",)).get(
        f"/staff/submissions/{registration}").status == 403


def test_a_hostile_name_is_text_on_the_list(console: Console, help_desk: HelpDesk) -> None:
    help_desk.submit("complaint", name="<script>alert(1)</script> \u202eAnn")
    page = Browser(console, HANDLER, ("handlers",)).get("/staff/submissions", kind="complaint")
    html = page.body.decode()
    assert page.status == 200
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html and "[U+202E]Ann" in html


@pytest.mark.parametrize(("query", "named"), [
    ({"product": "toaster-9000"}, "product"), ({"since": "yesterday"}, "since"),
    ({"kind": "gossip"}, "kind"), ({"status": "lost"}, "status"),
    ({"since": "2026-12-07", "until": "2026-12-01"}, "until"),
])
def test_a_filter_that_cannot_be_read_is_named_not_guessed(
        console: Console, query: dict[str, str], named: str) -> None:
    page = Browser(console, HANDLER, ("handlers",)).get("/staff/submissions", **query)
    assert page.status == 400 and f"{named}:" in text(page)


def test_the_product_filter_shows_that_products_submissions_only(
        console: Console, help_desk: HelpDesk) -> None:
    washer = visit_for(help_desk, WASHER, "Ann Lee")
    visit_for(help_desk, BLENDER, "Bo Chen")
    help_desk.submit("complaint")  # a complaint names no product: a product filter leaves it out
    page = Browser(console, HANDLER, ("handlers",)).get("/staff/submissions", product=WASHER)
    assert references(page) == [washer]
    assert 'name="product" value="purewash-8"' in page.body.decode()  # the download keeps the filter


def test_the_lists_download_and_the_command_write_the_same_file_for_a_product(
        exports_console: tuple[Console, list[tuple[str, str]]], help_desk: HelpDesk) -> None:  # noqa: F811
    console, started = exports_console
    washers = {visit_for(help_desk, WASHER, f"Ann {number}") for number in range(2)}
    visit_for(help_desk, BLENDER, "Bo Chen")
    help_desk.submit("complaint")
    handler = Browser(console, HANDLER, ("handlers",))
    listed = handler.get("/staff/submissions", product=WASHER).body.decode()
    download = re.search(r'<form method="post" action="/staff/exports".*?</form>', listed, re.S)
    assert download is not None
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', download.group()))
    assert form.pop("csrf") == handler.csrf and form["product"] == WASHER
    made = handler.post("/staff/exports", {**form, "format": "jsonl"})
    assert made.status == 303
    run_export(console, *started[0])
    assert "Ready: 2 rows" in text(handler.get(made.headers["Location"]))
    body = boto3.client("s3", region_name="eu-west-1").get_object(
        Bucket="exports-test", Key=f"exports/{started[0][0]}.jsonl")["Body"].read().decode()
    assert {json.loads(line)["reference"] for line in body.splitlines()} == washers

    command = help_desk.ok("export", "--product", WASHER, "--format", "jsonl")
    assert command.stdout == body  # one code path: the same rows, columns and order
    assert help_desk.run("export", "--product", "toaster-9000").exit_code == 2  # refused, named
    exports = [record for record in help_desk.audit_records() if record["action"] == "export"]
    assert [record["detail"]["product"] for record in exports] == [WASHER, WASHER]
    assert [record["item_count"] for record in exports] == [2, 2]
    assert "service_visit" in exports[0]["kinds"] and "complaint" not in exports[0]["kinds"]
