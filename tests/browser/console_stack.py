"""The local stack the console's browser tests sign in to: the one-origin server over DynamoDB Local,
the local OpenID provider, MailDev, and the local S3 engine for attachments and exports, as
`make run` has them; and signing in as a person would, through the provider's page."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import mail, oidc
from aftercare_local import s3 as s3_local
from aftercare_local.paths import REPO
from chalicelib.crypto.keys import ensure_local_keys

from tests.conftest import free_port, local_client, serving
from tests.mailstack import MailStack

HANDLER = "sam.lee@shop.example"


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
    with oidc.running(free_port(), state / "oidc", site_port=port) as provider, \
            s3_local.running(free_port(), None) as bucket:
        environment = {**oidc.console_environment(provider), "AFTERCARE_SITE_URL": f"http://127.0.0.1:{port}"}
        with serving(dynamodb_local_endpoint, table_name, key_dir, bucket, port=port,
                     extra_environment=environment) as base_url:
            stack = MailStack(base_url, table_name, dynamodb_local_endpoint, key_dir,
                              maildev=console_mail, state_dir=state / "streams")
            yield ConsoleStack(stack, provider, state / "oidc")


def sign_in(page: Any, stack: ConsoleStack, path: str, password: str, email: str = HANDLER) -> None:
    page.goto(stack.base_url + path)
    page.wait_for_url(re.compile(re.escape(stack.provider.issuer) + r"/interaction/"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(stack.base_url) + "/staff/"))
