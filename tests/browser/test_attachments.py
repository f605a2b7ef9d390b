"""Files on a form, in Chromium: attach, see progress, remove, send; limits refused before upload; no JS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalicelib.forms import FORMS
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack, attachment_stack  # noqa: F401 - a fixture
from tests.browser.conftest import fill_valid

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]
PAGE = FORMS["return_request"].page


@pytest.fixture
def stack(attachment_stack: AttachmentStack) -> AttachmentStack:  # noqa: F811 - the imported fixture
    attachment_stack.live.clear()
    return attachment_stack


def opened(browser: Any, stack: AttachmentStack, javascript: bool = True) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(base_url=stack.live.base_url, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(stack.live.base_url + PAGE)
    yield page, requests
    context.close()


@pytest.fixture
def with_js(browser: Any, stack: AttachmentStack) -> Iterator[tuple[Any, list[str]]]:
    yield from opened(browser, stack)


@pytest.fixture
def without_js(browser: Any, stack: AttachmentStack) -> Iterator[tuple[Any, list[str]]]:
    yield from opened(browser, stack, javascript=False)


def picked(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_attach_two_files_remove_one_and_send(with_js: tuple[Any, list[str]], stack: AttachmentStack) -> None:
    page, _ = with_js
    form = page.locator("form[data-af-form=return_request]")
    fill_valid(page, form)
    assert "at most 10 MB" in form.locator(".af-files .af-hint").inner_text()  # limits said before upload
    form.locator("input[type=file]").set_input_files([
        picked("receipt.pdf", "application/pdf", files.pdf()),
        picked("damage.jpg", "image/jpeg", files.jpeg_with_gps()),
    ])
    rows = form.locator(".af-file")
    rows.nth(0).locator(".af-file__status:text-is('Uploaded')").wait_for()
    rows.nth(1).locator(".af-file__status:text-is('Uploaded')").wait_for()
    assert rows.nth(0).locator("progress").get_attribute("value") == "1"
    rows.nth(0).get_by_role("button", name="Remove receipt.pdf").click()
    assert rows.count() == 1
    page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)
    form.locator(".af-submit").click()
    page.locator(".af-outcome:has-text('Your reference is')").wait_for()
    [stored] = stack.live.submissions("return_request")
    [upload_id] = stored["fields"]["attachments"]
    stack.wait_checked([upload_id])
    records = {i["upload_id"]: i for i in stack.live.raw_items() if i.get("upload_id")}
    assert records[upload_id]["used"] is True and records[upload_id]["content_type"] == "image/jpeg"
    assert form.locator(".af-file").count() == 0  # the form is ready for the next one


def test_an_oversize_file_and_a_program_are_refused_before_upload(with_js: tuple[Any, list[str]]) -> None:
    page, requests = with_js
    form = page.locator("form[data-af-form=return_request]")
    form.locator("input[type=file]").set_input_files([
        picked("huge.jpg", "image/jpeg", b"\xff\xd8\xff" + bytes(10 * 1024 * 1024)),
        picked("tool.exe", "application/x-msdownload", files.WINDOWS_EXECUTABLE),
    ])
    error = form.locator("[data-af-field=attachments] .af-error")
    error.wait_for()
    assert "“huge.jpg” is larger than 10 MB" in error.inner_text()
    assert "“tool.exe” is not a JPEG, PNG, HEIC or PDF file" in error.inner_text()
    assert form.locator(".af-file").count() == 0
    assert not [url for url in requests if "/api/uploads" in url]


def test_without_javascript_the_form_says_files_need_it_and_sends_without(
    without_js: tuple[Any, list[str]], stack: AttachmentStack
) -> None:
    page, _ = without_js
    form = page.locator("form[data-af-form=return_request]")
    assert "Attaching files needs JavaScript" in form.locator("[data-af-files-nojs]").inner_text()
    assert not form.locator("input[type=file]").is_visible()
    fill_valid(page, form)
    form.locator(".af-submit").click()
    page.wait_for_url("**/api/thanks?receipt=*")
    [stored] = stack.live.submissions("return_request")
    assert "attachments" not in stored["fields"]
