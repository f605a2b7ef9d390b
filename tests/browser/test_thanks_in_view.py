"""After a form is sent with a file attached, the thank-you is where the customer is looking.

Issue 24, point 1: the form emptied and its thank-you panel sat 1,204 px (1280
wide) or 1,377 px (390 wide) above the viewport, so people thought it failed.
Checked by the panel's box against the viewport, with no screenshot.
"""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.forms import FORMS
from chalicelib.web.screening import MINIMUM_FILL_MILLISECONDS

from tests.attachments import files
from tests.attachments.conftest import AttachmentStack, attachment_stack  # noqa: F401 - a fixture
from tests.browser.conftest import fill_valid

pytestmark = [pytest.mark.browser, pytest.mark.dynamodb_local]

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("screen", WIDTHS.values(), ids=list(WIDTHS))
def test_the_thank_you_after_a_return_with_a_photo_is_in_view_and_focused(
    browser: Any, attachment_stack: AttachmentStack, screen: dict[str, int],  # noqa: F811 - the fixture
) -> None:
    live = attachment_stack.live
    live.clear()
    context = browser.new_context(base_url=live.base_url, viewport=screen)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(live.base_url + FORMS["return_request"].page)
        form = page.locator("form[data-af-form=return_request]")
        fill_valid(page, form)
        form.locator("input[type=file]").set_input_files([
            {"name": "damage.jpg", "mimeType": "image/jpeg", "buffer": files.jpeg_with_gps()},
        ])
        form.locator(".af-file__status:text-is('Uploaded')").wait_for()
        page.wait_for_timeout(MINIMUM_FILL_MILLISECONDS + 200)  # people take a moment to fill a form
        form.locator(".af-submit").click()
        thanks = page.locator("#f-return-request-outcome")
        thanks.locator("text=Your reference is").wait_for()
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.id === 'f-return-request-outcome'"
        )
        box = thanks.bounding_box()
        header = page.locator(".md-header").bounding_box()
        assert box is not None and header is not None
        # Its top is below the sticky header and inside the viewport: the customer reads it.
        assert box["y"] >= header["y"] + header["height"] - 1, (box, header)
        assert box["y"] < screen["height"] / 2, (box, screen)
        assert form.locator(".af-file").count() == 0  # and the form is ready for the next one
    finally:
        context.close()
