"""The staff console on the local stack, as a handler uses it in Chromium: sign in through the local
OpenID provider, work a complaint to its next status with a message, see the customer get it on the
track page and by email (MailDev), sign out; with JavaScript and without it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import mail, oidc
from aftercare_local.paths import REPO
from chalicelib.crypto.keys import ensure_local_keys

from tests.conftest import free_port, local_client, serving
from tests.mailstack import MailStack

from .conftest import form_pages

pytestmark = pytest.mark.browser

HANDLER = "sam.lee@shop.example"
CUSTOMER = "hal.ito@example.com"
MESSAGE = "Sam will call you tomorrow about the faulty drum."
HOSTILE_NAME = "<script>alert(1)</script><img src=x onerror=alert(2)> Hal"


@dataclass
class ConsoleStack:
    stack: MailStack
    provider: oidc.LocalProvider
    accounts: Path

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def staff_add(self, email: str, group: str) -> str:
        """The command a person runs; its last word is the new password."""
        finished = subprocess.run(
            [sys.executable, "-m", "aftercare_local", "staff", "add", email, "--group", group,
             "--state-dir", str(self.accounts)],
            capture_output=True, text=True, check=True, timeout=60, cwd=REPO,
        )
        return finished.stdout.split()[-1]


@pytest.fixture(scope="module")
def console_mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mail.MailDev]:
    with mail.running(free_port(), free_port(), tmp_path_factory.mktemp("maildev")) as running:
        yield running


@pytest.fixture(scope="module")
def console_stack(dynamodb_local_endpoint: str, console_mail: mail.MailDev,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    state = tmp_path_factory.mktemp("console")
    key_dir = state / "keys"
    ensure_local_keys(key_dir)
    table_name = f"aftercare-console-{uuid.uuid4().hex[:8]}"
    dynamodb_local.ensure_table(local_client(dynamodb_local_endpoint), table_name)
    port = free_port()
    with oidc.running(free_port(), state / "oidc", site_port=port) as provider:
        environment = {**oidc.console_environment(provider), "AFTERCARE_SITE_URL": f"http://127.0.0.1:{port}"}
        with serving(dynamodb_local_endpoint, table_name, key_dir, port=port,
                     extra_environment=environment) as base_url:
            stack = MailStack(base_url, table_name, dynamodb_local_endpoint, key_dir,
                              maildev=console_mail, state_dir=state / "streams")
            yield ConsoleStack(stack, provider, state / "oidc")


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def staff_page(request: pytest.FixtureRequest, browser: Any, console_stack: ConsoleStack) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=request.param)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda sent: page.requests.append(sent.url))  # type: ignore[attr-defined]
    yield page
    context.close()


def sign_in(page: Any, stack: ConsoleStack, path: str, password: str) -> None:
    page.goto(stack.base_url + path)
    page.wait_for_url(re.compile(re.escape(stack.provider.issuer) + r"/interaction/"))
    page.fill("#email", HANDLER)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(stack.base_url) + "/staff/"))


def wait_for_mail(maildev: mail.MailDev, reference: str, text: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in maildev.messages():
            if reference in message.get("subject", "") and text in (message.get("text") or ""):
                return message
        time.sleep(0.2)
    raise AssertionError(f"no email about {reference} saying {text!r}")


def test_a_handler_takes_a_complaint_moves_it_on_and_the_customer_hears(
        staff_page: Any, console_stack: ConsoleStack) -> None:
    stack = console_stack.stack
    password = console_stack.staff_add(HANDLER, "handlers")
    reference = stack.post("complaint", email=CUSTOMER)
    page = staff_page

    sign_in(page, console_stack, "/staff/", password)
    page.get_by_role("link", name=re.compile("Unassigned")).click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("heading", name=re.compile(reference)).wait_for()
    page.get_by_role("button", name="Assign to me").click()
    page.locator(".done").wait_for()
    assert "Sam Lee" in page.locator(".facts").inner_text()

    page.get_by_label("Move it to").select_option("acknowledged")
    page.get_by_label(re.compile("Message to the customer")).fill(MESSAGE)
    page.get_by_role("button", name="Save").click()
    page.locator(".done").wait_for()
    assert MESSAGE in page.locator(".history").inner_text()

    with stack.reader():
        mail_about = wait_for_mail(stack.maildev, reference, MESSAGE)
    assert mail_about["to"][0]["address"] == CUSTOMER

    track = page.context.new_page()
    track.goto(stack.base_url + form_pages()["track"])
    form = track.locator("form[data-af-form=track]")
    form.get_by_label("Reference").fill(reference)
    form.get_by_label(re.compile("email", re.I)).fill(CUSTOMER)
    form.locator(".af-submit").click()
    track.get_by_text(MESSAGE).wait_for()
    track.close()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(stack.base_url + "/staff/signed-out")
    page.goto(f"{stack.base_url}/staff/cases/{reference}")
    page.wait_for_url(re.compile(re.escape(console_stack.provider.issuer) + r"/interaction/"))
    assert page.locator("#password").is_visible()
    site = (stack.base_url, console_stack.provider.issuer)
    assert [url for url in page.requests if not url.startswith(site)] == []


def test_a_customers_hostile_text_is_only_text_on_the_case_page(
        staff_page: Any, console_stack: ConsoleStack) -> None:
    stack = console_stack.stack
    password = console_stack.staff_add(HANDLER, "handlers")
    reference = stack.post("complaint", email=CUSTOMER, name=HOSTILE_NAME,
                           description="Broke \u202egpj.exe", desired_outcome="javascript:alert(3)")
    page = staff_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, console_stack, f"/staff/cases/{reference}", password)
    fields = page.locator(".fields")
    fields.get_by_text(HOSTILE_NAME).wait_for()
    assert "[U+202E]gpj.exe" in fields.inner_text()
    assert page.locator(".fields a, .fields img, .fields script").count() == 0
    assert dialogs == []
    on_the_page = [url for url in page.requests if url.startswith(f"{stack.base_url}/staff/")]
    assert on_the_page and all(url.startswith(stack.base_url) for url in page.requests
                                if not url.startswith(console_stack.provider.issuer))


def test_the_console_pages_fit_a_phone(browser: Any, console_stack: ConsoleStack) -> None:
    password = console_stack.staff_add(HANDLER, "handlers")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, console_stack, "/staff/", password)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
    finally:
        context.close()

