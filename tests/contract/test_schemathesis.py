"""Schemathesis (`--checks all`) against the local stack: the contract and the behaviour agree.

A short run here (SCHEMATHESIS_EXAMPLES, 50 by default, per operation); `make audit`
runs 1,000 per operation. Every request carries the Origin a browser on the site
would send; without it, a post without X-Form-Fill-Ms would only ever meet the
403 (the screening rules themselves are tested in tests/api/test_screening.py).
The local server is started with a high per-address limit (tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LiveStack

CONFIG = Path(__file__).with_name("schemathesis.toml")
# The seed of the run that found bodies valid by the schema and refused (issue 24, point 20).
SEED = os.environ.get("SCHEMATHESIS_SEED", "4242")
pytestmark = [pytest.mark.slow, pytest.mark.dynamodb_local]


def test_every_operation_conforms_to_the_contract(live_stack: LiveStack, tmp_path: Path) -> None:
    examples = os.environ.get("SCHEMATHESIS_EXAMPLES", "50")
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
        "run", f"{live_stack.base_url}/api/openapi.json",
        "--checks", "all", "--max-examples", examples, "--seed", SEED,
        "--header", f"Origin: {live_stack.base_url}", "--request-timeout", "20",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=7200,  # noqa: S603
                            env={**os.environ, "NO_COLOR": "1"}, cwd=tmp_path)
    Path(os.environ.get("SCHEMATHESIS_LOG", os.devnull)).write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
