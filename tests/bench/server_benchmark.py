"""The local server under concurrency: enquiries per second beside /api/health, at 32 clients.

The server is the one `make run` starts (`python -m aftercare_local serve`)
over DynamoDB Local with local keys. Each client thread keeps one HTTP/1.1
connection open and reconnects when the server drops it; a dropped or reset
connection is counted, never retried silently. Beside the rates, the
server process's own CPU time per answer (read from /proc) is printed: on a
shared machine it moves less than the wall-clock rate.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aftercare_local import processes
from aftercare_local.paths import REPO

from tests.bench.figures import Figure
from tests.bench.intake_benchmark import enquiry

CLIENTS = 32
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
# As the site's script in a browser posts: its fill time, and the browser's Sec-Fetch-Site.
JSON_POST = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}
RESETS = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)


@dataclass(frozen=True)
class Load:
    per_second: float
    resets: int
    failures: int  # answers other than the one expected
    answered: int = 0
    server_cpu: float = 0.0  # seconds of the server process's CPU over the run


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_server(endpoint: str, table: str, key_dir: Path) -> Iterator[tuple[int, int]]:
    """The server on a port of its own choosing, ready once it says where it listens.

    Its request log (a line per request on stderr) is drained and dropped, so
    thousands of requests never fill the pipe and stall it.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "aftercare_local", "serve", "--port", "0",
         "--dynamodb-endpoint", endpoint, "--table", table, "--key-dir", str(key_dir)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    try:
        said = []
        for line in process.stderr:
            said.append(line)
            if found := LISTENING.search(line):
                port = int(found.group(1))
                break
        else:
            raise SystemExit(f"local server exited: {''.join(said)[-2000:]}")
        threading.Thread(target=collections.deque, args=(process.stderr, 0), daemon=True).start()
        yield port, process.pid
    finally:
        processes.stop(process)


def hammer(server: tuple[int, int], method: str, path: str, expected: int, seconds: float) -> Load:
    """CLIENTS threads send requests for `seconds`; answers per second over all of them."""
    port, pid = server
    answered, resets, failures = [0], [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = 0
        start.wait()
        while time.perf_counter() < deadline[0]:
            sent += 1
            body = enquiry(number * 1_000_000 + sent).encode() if method == "POST" else None
            try:
                connection.request(method, path, body=body,
                                   headers=JSON_POST if body else {})
                response = connection.getresponse()
                response.read()
            except RESETS:
                with lock:
                    resets[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                if response.status == expected:
                    answered[0] += 1
                else:
                    failures[0] += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    cpu_started = process_cpu_seconds(pid)
    started = time.perf_counter()
    deadline[0] = started + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return Load(answered[0] / (time.perf_counter() - started), resets[0], failures[0],
                answered[0], process_cpu_seconds(pid) - cpu_started)


def measure_server(endpoint: str, table: str, key_dir: Path, seconds: float, runs: int) -> tuple[
    Figure, str
]:
    posts, healths, resets, failures = [], [], 0, 0
    post_cpu, health_cpu = [], []
    with local_server(endpoint, table, key_dir) as server:
        hammer(server, "POST", "/api/enquiries", 201, min(seconds, 2.0))  # warm-up
        for _ in range(runs):
            post = hammer(server, "POST", "/api/enquiries", 201, seconds)
            health = hammer(server, "GET", "/api/health", 200, seconds)
            posts.append(post.per_second)
            healths.append(health.per_second)
            post_cpu.append(post.server_cpu * 1000 / max(post.answered, 1))
            health_cpu.append(health.server_cpu * 1000 / max(health.answered, 1))
            resets += post.resets + health.resets
            failures += post.failures + health.failures
    figure = Figure(f"local server enquiries/s at {CLIENTS} concurrent (floor: /api/health)",
                    "per s", posts, healths,
                    f"{CLIENTS} keep-alive clients, {seconds:g} s each",
                    note=(f"server CPU per answer: enquiry {min(post_cpu):.2f} ms, "
                          f"health {min(health_cpu):.2f} ms, least of the runs"))
    problems = (f"local server at {CLIENTS} concurrent: {resets} connection resets, "
                f"{failures} unexpected answers over {runs} runs")
    return figure, problems
