"""The local stack with email: its own table (so its stream holds one test's changes only),
the one-origin server, MailDev on 127.0.0.1 and the stream reader as its own process."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import mail, processes
from aftercare_local.paths import REPO
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.forms import FORMS
from chalicelib.store.table import SubmissionTable

from tests.conftest import LiveStack, free_port, local_client, serving
from tests.samples import payload_for

CUSTOMER = "zed.q@example.net"
QUIET_SECONDS = 2.0


# As the site's script in a browser posts: its fill time and the browser's Sec-Fetch-Site.
BROWSER_JSON = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}


@dataclass
class MailStack(LiveStack):
    maildev: mail.MailDev = None  # type: ignore[assignment]
    state_dir: Path = Path()

    def table(self) -> SubmissionTable:
        client = self.dynamodb()
        return SubmissionTable(self.table_name, lambda: client)

    def environment(self) -> dict[str, str]:
        """What the app and `aftercare` need to work on this stack's table and keys."""
        return {"AFTERCARE_TABLE_NAME": self.table_name, "AFTERCARE_DYNAMODB_ENDPOINT": self.endpoint,
                "AFTERCARE_LOCAL_KEY_DIR": str(self.key_dir)}

    def point_here(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """This test's environment names this stack (and no AWS key: the local keys serve)."""
        for name, value in self.environment().items():
            monkeypatch.setenv(name, value)
        for name in ("AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID"):
            monkeypatch.delenv(name, raising=False)

    def post(self, kind: str, language: str | None = None, **changes: Any) -> str:
        """A form sent as the site's script sends it; `language`: from that language's page."""
        form = FORMS[kind]
        payload = payload_for(form, date.today(), **changes)
        body = json.dumps({**payload, "language": language} if language else payload).encode()
        request = urllib.request.Request(f"{self.base_url}/api{form.path}", data=body, method="POST",
                                         headers=BROWSER_JSON)
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return str(json.load(answer)["reference"])

    @contextlib.contextmanager
    def reader(self, *, smtp_port: int | None = None,
               claim_lease_seconds: float | None = None) -> Iterator[subprocess.Popen[bytes]]:
        """The stream reader as its own process, as `make run` runs it beside the server;
        sending to MailDev unless told another port, with the notifier's lease unless told another."""
        environment = dict(os.environ)
        if claim_lease_seconds is not None:
            environment["AFTERCARE_CLAIM_LEASE_SECONDS"] = str(claim_lease_seconds)
        process = processes.start(
            [sys.executable, "-m", "aftercare_local", "notify", "--dynamodb-endpoint", self.endpoint,
             "--table", self.table_name, "--key-dir", str(self.key_dir),
             "--smtp-port", str(smtp_port or self.maildev.smtp_port), "--site-url", self.base_url,
             "--state-dir", str(self.state_dir)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                processes.stop(process)

    def wait_for_mail(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until `count` messages are in MailDev, then a little longer for any extra."""
        deadline = time.monotonic() + timeout
        while len(self.maildev.messages()) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(QUIET_SECONDS)
        return self.maildev.messages()

    def sent_records(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(i["reference"], i["sk"]): i for i in self.raw_items() if i["pk"].startswith("SENT#")}


@contextlib.contextmanager
def silent_mail_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """An SMTP port on 127.0.0.1 that takes connections and never answers: a sender that
    reaches it has claimed its message and is stuck sending it. Answers the port and the
    connections taken so far."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []
    listener.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            taken.append(connection)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1], taken
    finally:
        stop.set()
        acceptor.join(timeout=2)
        for connection in taken:
            connection.close()
        listener.close()


def recipient(message: dict[str, Any]) -> str:
    return str(message["to"][0]["address"])


@pytest.fixture(scope="module")
def maildev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mail.MailDev]:
    with mail.running(free_port(), free_port(), tmp_path_factory.mktemp("maildev")) as running:
        yield running


@pytest.fixture
def mail_stack(
    dynamodb_local_endpoint: str, maildev: mail.MailDev, tmp_path: Path
) -> Iterator[MailStack]:
    """A table of its own (its stream holds only this test's changes), the one-origin server and MailDev."""
    key_dir = tmp_path / "keys"
    ensure_local_keys(key_dir)
    table_name = f"aftercare-mail-{uuid.uuid4().hex[:8]}"
    client = local_client(dynamodb_local_endpoint)
    dynamodb_local.ensure_table(client, table_name)
    maildev.clear()
    with serving(dynamodb_local_endpoint, table_name, key_dir) as base_url:
        yield MailStack(base_url, table_name, dynamodb_local_endpoint, key_dir,
                        maildev=maildev, state_dir=tmp_path / "state")
    client.delete_table(TableName=table_name)


def raw_source(maildev: mail.MailDev, message: dict[str, Any]) -> str:
    with urllib.request.urlopen(f"{maildev.inbox_url}api/email/{message['id']}/source",  # noqa: S310
                                timeout=5) as answer:
        return str(answer.read().decode())



def unsubscribe_headers(maildev: mail.MailDev, message: dict[str, Any]) -> dict[str, str]:
    """The message's headers as sent (unfolded), from its raw source."""
    head = raw_source(maildev, message).split("\r\n\r\n", 1)[0].replace("\r\n ", " ")
    return dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)


def wait_for_consent(stack: MailStack, status: str, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = [i["status"] for i in stack.raw_items() if i.get("kind") == "consent"]
        if statuses and all(s == status for s in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)
