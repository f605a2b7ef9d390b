"""`make bench` cannot break unnoticed: its smoke mode runs in every `make test`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from aftercare_local.paths import REPO

MEASURES = (
    "import chalicelib.forms",
    "import app",
    "enquiry intake p50:",
    "enquiry intake p99:",
    "KMS calls per 1,000 submissions:",
    "cold start: import app + first request:",
    "local server enquiries/s at 32 concurrent",
    "staff export rows/s",
    "staff export peak memory:",
)


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_prints_every_measure() -> None:
    # Timings are not asserted: on a few requests they mean nothing.
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--smoke"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for measure in MEASURES:
        assert any(line.startswith(measure) for line in lines), (measure, done.stdout[-3000:])
