"""The replies benchmark of `make bench` cannot break unnoticed: two rounds run in every `make test`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from aftercare_local.paths import REPO


@pytest.mark.slow
def test_the_replies_benchmark_runs_and_prints_p50_and_p99() -> None:
    # Timings are not asserted: on two rounds they mean nothing. It fails if a reply does not
    # reach its case, does not move it back to work, or the benchmark errors.
    done = subprocess.run([sys.executable, "-m", "tests.bench.reply_benchmark", "--rounds", "2",
                           "--megapixels", "0.2"], cwd=REPO, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reply received to reply on the case, 2 rounds" in done.stdout, done.stdout[-3000:]
    assert " p50 " in done.stdout and " p99 " in done.stdout
