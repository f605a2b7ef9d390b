"""MailDev (npm `maildev`): the local stack's mail server, SMTP and a web inbox on 127.0.0.1.

It is started without any relay settings and with MailDev's own environment
settings removed, so what the notifier sends locally stays on this machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aftercare_local import processes
from aftercare_local.paths import NODE_MODULES

MAILDEV = NODE_MODULES / ".bin" / "maildev"
STARTUP_SECONDS = 30


class MailDevError(Exception):
    pass


@dataclass(frozen=True)
class MailDev:
    smtp_port: int
    web_port: int

    @property
    def inbox_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/"

    def messages(self) -> list[dict[str, Any]]:
        """Every message received, as MailDev's REST API describes it (oldest first)."""
        with urllib.request.urlopen(f"{self.inbox_url}api/email", timeout=5) as answer:  # noqa: S310
            return list(json.load(answer))

    def clear(self) -> None:
        request = urllib.request.Request(f"{self.inbox_url}api/email/all", method="DELETE")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(smtp_port: int, web_port: int, mail_dir: Path | None) -> Iterator[MailDev]:
    """Run MailDev on 127.0.0.1 (SMTP and web inbox); mail kept in mail_dir, else in memory."""
    node = shutil.which("node")
    if node is None or not MAILDEV.exists():
        raise MailDevError("MailDev is not installed: run `make setup`")
    for port in (smtp_port, web_port):
        if _listening(port):
            raise MailDevError(f"port {port} is in use: stop what holds it or choose another port")
    command = [node, str(MAILDEV.resolve()), "--ip", "127.0.0.1", "--smtp", str(smtp_port),
               "--web-ip", "127.0.0.1", "--web", str(web_port), "--silent"]
    if mail_dir is not None:
        mail_dir.mkdir(parents=True, exist_ok=True)
        command += ["--mail-directory", str(mail_dir)]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("MAILDEV_")}
    process = processes.start(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (_listening(smtp_port) and _listening(web_port)):
            if process.poll() is not None:
                detail = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
                raise MailDevError(f"MailDev exited early: {detail}")
            if time.monotonic() > deadline:
                raise MailDevError("MailDev did not start in time")
            time.sleep(0.2)
        yield MailDev(smtp_port, web_port)
    finally:
        processes.stop(process)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
