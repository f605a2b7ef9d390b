"""`make audit`: Lighthouse on the home page, a guide and every form page, mobile and desktop.

Serves the built site and the API on a free loopback port (the local stack,
as `make run` does), runs the Lighthouse command line against Debian's
Chromium for each page and form factor, and prints the four scores as a table.
Exits non-zero when a page falls below the bar: accessibility, best practices
and SEO 100; performance 95 on mobile and 100 on desktop.

A page below the bar is audited twice more and its median scores count, as
Lighthouse's variability guide advises (one run on a shared host is noisy).

Mobile runs slow the CPU down to a mid-tier phone. Lighthouse's default 4x
assumes a fast desktop host; on a slower host its own throttling guide
(docs/throttling.md, "Calibrating the CPU slowdown") says to lower the
multiplier by the host's benchmarkIndex. The audit does that, prints the index
and the multiplier it used, and AUDIT_CPU_SLOWDOWN=4 forces the default.

Usage: python tests/browser/audit.py LIGHTHOUSE_BIN
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from aftercare_local import processes  # noqa: E402
from aftercare_local.processes import free_port  # noqa: E402
from site_pages import REPO, audited_pages  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MINIMUM = {
    "mobile": {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100},
    "desktop": {"performance": 100, "accessibility": 100, "best-practices": 100, "seo": 100},
}
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --disable-quic --no-first-run"
)


def wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            raise SystemExit("the local stack exited before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback only)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def meets_bar(scores: dict[str, int], form_factor: str) -> bool:
    return all(scores[c] >= MINIMUM[form_factor][c] for c in CATEGORIES)


def cpu_slowdown(benchmark_index: float) -> float:
    """Lighthouse's calibration table: the multiplier that lands on a mid-tier phone."""
    forced = os.environ.get("AUDIT_CPU_SLOWDOWN")
    if forced:
        return float(forced)
    if benchmark_index >= 1500:  # high-end desktop
        return 4
    if benchmark_index >= 800:  # low-end desktop or high-end phone
        return 2
    return 1  # already a mid-tier phone


def lighthouse(
    binary: str, url: str, form_factor: str, report: Path, slowdown: float | None = None
) -> tuple[dict[str, int], float]:
    command = [
        binary, url, "--quiet", "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    elif slowdown is not None:
        command.append(f"--throttling.cpuSlowdownMultiplier={slowdown}")
    environment = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    subprocess.run(command, check=True, env=environment, cwd=REPO)  # noqa: S603
    result = json.loads(report.read_text())
    scores = {c: round((result["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}
    return scores, float(result["environment"]["benchmarkIndex"])


def main(binary: str) -> int:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = processes.start(
        [sys.executable, "-m", "aftercare_local", "run", "--port", str(port),
         "--dynamodb-port", str(free_port())],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    rows: list[tuple[str, str, dict[str, int]]] = []
    try:
        wait_for(f"{base_url}/api/health", server)
        with tempfile.TemporaryDirectory() as reports:
            report = Path(reports) / "report.json"
            # A first desktop run measures the host (and warms the server up).
            _, benchmark_index = lighthouse(binary, base_url + "/", "desktop", report)
            slowdown = cpu_slowdown(benchmark_index)
            for path in audited_pages():
                for form_factor in ("mobile", "desktop"):
                    runs = [lighthouse(binary, base_url + path, form_factor, report, slowdown)[0]]
                    if not meets_bar(runs[0], form_factor):
                        runs += [
                            lighthouse(binary, base_url + path, form_factor, report, slowdown)[0]
                            for _ in range(2)
                        ]
                    scores = {c: int(statistics.median(r[c] for r in runs)) for c in CATEGORIES}
                    rows.append((path, form_factor, scores))
                    print(f"  audited {path} ({form_factor}, {len(runs)} runs)", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"Host benchmarkIndex {benchmark_index:.0f}: mobile CPU slowdown {slowdown:g}x "
        "(Lighthouse's default is 4x, for a high-end desktop host)\n"
    )
    header = f"| {'page':<22} | {'device':<7} | " + " | ".join(f"{c:>14}" for c in CATEGORIES)
    print(header + " |")
    print("|" + "-" * 24 + "|" + "-" * 9 + "|" + "|".join("-" * 16 for _ in CATEGORIES) + "|")
    failures = []
    for path, form_factor, scores in rows:
        cells = []
        for category in CATEGORIES:
            low = scores[category] < MINIMUM[form_factor][category]
            cells.append(f"{scores[category]:>13}{'!' if low else ' '}")
            if low:
                failures.append(f"{path} {form_factor} {category} {scores[category]}")
        print(f"| {path:<22} | {form_factor:<7} | " + " | ".join(cells) + " |")
    if failures:
        print("\nBelow the bar (marked !):\n  " + "\n  ".join(failures))
        return 1
    print("\nEvery page meets the bar.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
