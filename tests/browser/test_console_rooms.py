"""The console's other rooms on the local stack, in Chromium without JavaScript (the console has none):
a handler downloads this month's complaints as XLSX from the submissions room; a privacy officer
finds a person, downloads their copy, corrects a serial (the warranty moves with it) and erases
them, and the audit trail shows each step under the officer's email; a handler is refused the
privacy pages."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from chalicelib.forms import FORMS
from chalicelib.intake.receiving import Intake
from chalicelib.rules.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.staff.records import column_labels
from chalicelib.store.items import warranty_key

from tests.samples import payload_for, validated

from .console_stack import HANDLER, ConsoleStack, sign_in
from .console_stack import console_mail as console_mail  # noqa: F401, PLC0414 - the fixture
from .console_stack import console_stack as console_stack  # noqa: F401, PLC0414 - the fixture

pytestmark = pytest.mark.browser

OFFICER = "priya.shah@shop.example"
ADMIN = "ada.admin@shop.example"
WAIT_MS = 120_000  # an export job on a busy machine


@pytest.fixture
def open_browser(browser: Any) -> Iterator[Any]:
    """A new page in a context of its own (its own sign-in), JavaScript off, downloads kept."""
    contexts: list[Any] = []

    def opened() -> Any:
        context = browser.new_context(java_script_enabled=False, accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


def submitted_at(stack: ConsoleStack, kind: str, moment: datetime, **changes: Any) -> str:
    """A submission received at `moment`, through Intake's own write path (the API's is now)."""
    settings = Settings(table_name=stack.stack.table_name, dynamodb_endpoint=stack.stack.endpoint,
                        local_key_dir=stack.stack.key_dir)
    form = FORMS[kind]
    intake = Intake(table=settings.table(), cipher=settings.cipher(), hasher=settings.subject_hasher(),
                    policy=data_policy(), clock=lambda: moment)
    body = payload_for(form, moment.date(), **changes)
    return intake.receive(form, validated(form, body, moment.date())).reference


def test_a_handler_downloads_this_months_complaints_as_a_spreadsheet(
        open_browser: Any, console_stack: ConsoleStack, tmp_path: Any) -> None:
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    stack = console_stack.stack
    these = {stack.post("complaint", name=f"Zoë {number}") for number in range(2)}
    earlier = submitted_at(console_stack, "complaint", datetime.combine(
        first - timedelta(days=3), datetime.min.time(), UTC))
    stack.post("enquiry")
    password = console_stack.staff_add(HANDLER, "handlers")
    page = open_browser()
    sign_in(page, console_stack, "/staff/submissions", password)

    page.get_by_role("link", name="Complaint", exact=True).click()
    page.get_by_role("heading", name="Submissions: Complaint").wait_for()
    page.locator("details.filters summary").click()
    page.get_by_label("Received from").fill(first.isoformat())
    page.get_by_label("Received up to").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"since=" + first.isoformat()))
    assert "@" not in page.url
    shown = set(page.locator("tbody td:first-child").all_inner_texts())
    stored = month_of_complaints(console_stack, first)
    assert these <= stored and earlier not in stored and shown == stored

    page.get_by_label("Excel (XLSX)").check()
    page.get_by_role("button", name="Download", exact=True).click()
    page.get_by_role("heading", name="Your download").wait_for()
    page.get_by_text(re.compile(r"Ready: \d+ rows?")).wait_for(timeout=WAIT_MS)  # the page reloads itself
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the file").click()
    saved = tmp_path / "complaints.xlsx"
    downloading.value.save_as(saved)

    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == ["complaint"]
    rows = list(book["complaint"].iter_rows(values_only=True))
    header = rows[0]
    assert {row[header.index("Reference")] for row in rows[1:]} == stored
    sent = [row[header.index("Sent at (UTC)")] for row in rows[1:]]
    assert all(isinstance(moment, datetime) and moment.date() >= first for moment in sent)  # typed
    (name,) = column_labels(["name"])  # headed as the form asks for it
    names = {row[header.index(name)] for row in rows[1:]}
    assert {"Zoë 0", "Zoë 1"} <= names


def month_of_complaints(stack: ConsoleStack, first: date) -> set[str]:
    """What the filter should find, read from the table itself: this month's live complaints."""
    return {str(item["reference"]) for item in stack.stack.raw_items()
            if item.get("kind") == "complaint" and str(item["pk"]).startswith("SUB#")
            and str(item.get("created_at", ""))[:10] >= first.isoformat()}


def test_a_privacy_officer_finds_copies_corrects_and_erases_a_person(
        open_browser: Any, console_stack: ConsoleStack, tmp_path: Any) -> None:
    stack = console_stack.stack
    person = f"mina.{uuid.uuid4().hex[:6]}@example.com"
    example = payload_for(FORMS["warranty_registration"], date.today())["serial_number"]
    serial, corrected = (f"{example[:-5]}{uuid.uuid4().int % 100_000:05d}" for _ in range(2))
    reference = stack.post("warranty_registration", email=person, serial_number=serial)
    assert stack_has(console_stack, warranty_key(serial))
    password = console_stack.staff_add(OFFICER, "privacy")
    page = open_browser()
    sign_in(page, console_stack, "/staff/people", password, OFFICER)

    page.get_by_label("Their email address").fill(person.upper())
    page.get_by_role("button", name="Find").click()
    page.get_by_role("heading", name="What we hold").wait_for()
    assert reference in page.locator("table").inner_text()
    assert person not in page.url

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the copy (JSON)").click()
    saved = tmp_path / "copy.json"
    downloading.value.save_as(saved)
    copy = json.loads(saved.read_text(encoding="utf-8"))
    assert [item["reference"] for item in copy["submissions"]] == [reference]

    page.get_by_label(re.compile(r"^Field")).fill("serial_number")
    page.get_by_label("Corrected value").fill(corrected)
    page.get_by_role("button", name="Correct it").click()
    page.get_by_text(f"Corrected serial_number of {reference}").wait_for()
    assert stack_has(console_stack, warranty_key(corrected))  # the warranty moved with the serial
    assert not stack_has(console_stack, warranty_key(serial))

    page.get_by_role("button", name=re.compile("Erase everything of this person")).click()
    page.get_by_role("heading", name="Erase a person's data").wait_for()
    assert reference in page.locator("main ul").inner_text()
    page.get_by_label("Type the person's email address again").fill(person)
    page.get_by_role("button", name="Erase for good").click()
    page.get_by_role("heading", name="Erased").wait_for()
    page.goto(console_stack.base_url + "/staff/people")
    page.get_by_label("Their email address").fill(person)
    page.get_by_role("button", name="Find").click()
    page.get_by_text("Nothing is stored for that email address.").wait_for()
    assert not stack_has(console_stack, warranty_key(corrected))

    admin = open_browser()
    sign_in(admin, console_stack, "/staff/audit", console_stack.staff_add(ADMIN, "admins"), ADMIN)
    admin.get_by_label("Only what was done about one person").fill(person)
    admin.get_by_role("button", name="Show").nth(1).click()
    admin.get_by_text("about that person").wait_for()
    steps = [(cells[1], cells[2]) for cells in
             (row.locator("td").all_inner_texts() for row in admin.locator("tbody tr").all())]
    assert [action for _, action in steps if action not in ("subject.find", "consent.list")] == [
        "subject.export", "subject.correct", "subject.erase"]
    assert "subject.find" in {action for _, action in steps}
    assert {actor for actor, _ in steps} == {OFFICER}


def stack_has(stack: ConsoleStack, key: tuple[str, str]) -> bool:
    return any(item["pk"] == key[0] and item["sk"] == key[1] for item in stack.stack.raw_items())


def test_a_handler_is_refused_the_privacy_pages(open_browser: Any, console_stack: ConsoleStack) -> None:
    password = console_stack.staff_add(HANDLER, "handlers")
    page = open_browser()
    sign_in(page, console_stack, "/staff/", password)
    refused = page.goto(console_stack.base_url + "/staff/people")
    assert refused is not None and refused.status == 403
    page.get_by_role("heading", name="Not for your role").wait_for()
    assert page.get_by_role("link", name="A person's data").count() == 0  # not offered either
