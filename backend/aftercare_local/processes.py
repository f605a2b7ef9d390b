"""The helper processes the local stack and the tests start: a free port for each, and stopping them."""

from __future__ import annotations

import socket
import subprocess
import threading

STOP_SECONDS = 10


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
