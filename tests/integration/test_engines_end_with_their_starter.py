"""Every engine the local stack, a test or a benchmark starts ends with its starter, even one
killed outright (SIGKILL), so none is left holding a port or polling for hours."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aftercare_local.paths import BACKEND, REPO
from aftercare_local.processes import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux parent-death signal")

# A starter that starts engines as the stack does, prints their process ids, and waits.
STARTER = """
import contextlib, sys, threading, time
from pathlib import Path
from aftercare_local import processes, s3
with contextlib.ExitStack() as engines:
    bucket = engines.enter_context(s3.running({s3_port}, None))
    reader = processes.start(
        [sys.executable, "-m", "aftercare_local", "notify", "--dynamodb-endpoint", "http://127.0.0.1:{closed}",
         "--table", "t", "--key-dir", {keys!r}, "--smtp-port", "{closed}", "--state-dir", {state!r}])
    print(bucket.process.pid, reader.pid, flush=True)
    threading.Event().wait(120)
"""


def gone(pid: int) -> bool:
    """No such process, or one that has ended and waits only to be reaped (a zombie)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return re.search(r"\) (\S)", status).group(1) in ("Z", "X")  # type: ignore[union-attr]


def wait_until_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if not gone(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if not gone(pid)]


@pytest.mark.slow
def test_engines_die_when_their_starter_is_killed_outright(tmp_path: Path) -> None:
    script = STARTER.format(s3_port=free_port(), closed=free_port(), keys=str(tmp_path / "keys"),
                            state=str(tmp_path / "streams"))
    starter = subprocess.Popen([sys.executable, "-c", script], cwd=BACKEND, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(BACKEND)})
    engines: list[int] = []
    try:
        assert starter.stdout is not None
        line = starter.stdout.readline()
        engines += [int(pid) for pid in line.split()]
        assert len(engines) == 2, line
        assert not any(gone(pid) for pid in engines)

        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=10)

        assert wait_until_gone(engines, 5) == []
    finally:
        if starter.poll() is None:
            starter.kill()
        for pid in engines:  # should this fail, leave nothing behind either
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_nothing_starts_an_engine_but_through_processes_start() -> None:
    """The local stack and the tests' helpers start every long-lived process one way."""
    places = [*(BACKEND / "aftercare_local").glob("*.py"), REPO / "tests" / "conftest.py",
              REPO / "tests" / "mailstack.py", REPO / "tests" / "infra" / "test_deploy_moto.py",
              REPO / "tests" / "browser" / "audit.py"]
    for place in places:
        text = place.read_text()
        if place.name == "processes.py":
            continue
        assert "subprocess.Popen(" not in text, place
