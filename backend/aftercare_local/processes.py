"""The helper processes the local stack and the tests start: starting them so that they end with
their starter, a free port for each, and stopping them."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

STOP_SECONDS = 10
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def start(command: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
    """Start an engine (DynamoDB Local's Java, s3rver, MailDev, the sign-in provider, the stream
    reader, a server) that dies with the process that started it.

    The kernel sends it SIGKILL when its starter ends, however that ends: no
    finally block runs after a SIGKILL or when a benchmark is stopped by a
    timeout, and an engine left behind holds its port and polls for hours.
    The signal follows the starting thread, so start engines from the thread
    that lives as long as they should (the main thread). Linux only;
    elsewhere they end only through `stop`."""
    return subprocess.Popen(command, preexec_fn=_dies_with_parent(), **options)  # noqa: PLW1509, S603


def _dies_with_parent() -> Callable[[], None] | None:
    """What the child runs between fork and exec: arm the parent-death signal. It calls only
    functions resolved beforehand, since little else is safe there with threads about."""
    if _LIBC is None:
        return None
    parent = os.getpid()
    prctl = _LIBC.prctl
    kill = int(signal.SIGKILL)

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, kill)
        if os.getppid() != parent:  # the starter died before the signal was armed
            os._exit(1)

    return arm


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask politely (SIGTERM), then insist (SIGKILL) if it has not gone in time."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def first_line(process: subprocess.Popen[str], seconds: float) -> str:
    """The line an engine prints when it is ready; "" if it exited first or stayed silent `seconds`."""
    assert process.stdout is not None
    # A stalled engine is killed, which ends the read with nothing.
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        return process.stdout.readline()
    finally:
        timer.cancel()
