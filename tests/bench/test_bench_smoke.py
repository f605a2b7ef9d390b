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
    "console export job rows/s (beside: aftercare export)",
    "console export job peak memory:",
)


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_prints_every_measure() -> None:
    # Timings are not asserted: on a few requests they mean nothing. It takes
    # about half a minute; the timeout leaves room for a busy machine (81 s at load 20).
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--smoke"],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for measure in MEASURES:
        assert any(line.startswith(measure) for line in lines), (measure, done.stdout[-3000:])


@pytest.mark.slow
@pytest.mark.parametrize(("module", "options", "printed"), [
    ("tests.bench.cases_benchmark", ["--cases", "50", "--closed", "50", "--runs", "1"], '"open_cases": 50'),
    ("tests.bench.attachments_benchmark", ["--rounds", "2", "--megapixels", "0.3"],
     "upload-to-checked, 2 rounds"),
    ("tests.bench.insight_benchmark", ["--submissions", "100", "300", "--runs", "1"],
     "insight page, 52 weeks, 300 submissions' worth:"),
    ("tests.bench.email_benchmark", ["--posts", "5", "--rounds", "1", "--inbox-samples", "2"],
     "submission to inbox:"),
], ids=["cases", "attachments", "insight", "emails"])
def test_every_other_benchmark_of_make_bench_runs(module: str, options: list[str], printed: str) -> None:
    # The rest of `make bench`, each on a few items: it fails if a benchmark errors, never on a timing.
    done = subprocess.run([sys.executable, "-m", module, *options], cwd=REPO, capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert printed in done.stdout, done.stdout[-3000:]
