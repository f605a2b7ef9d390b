"""Stopping the helper processes the local stack and the tests start."""

from __future__ import annotations

import subprocess

STOP_SECONDS = 10


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask politely (SIGTERM), then insist (SIGKILL) if it has not gone in time."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
