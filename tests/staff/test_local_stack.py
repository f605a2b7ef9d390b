"""The staff command finds `make run` on whatever ports it runs, and says plainly what it tried."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aftercare_cli.main import cli
from aftercare_local import paths, stack
from aftercare_local.__main__ import main as local_main
from chalicelib.crypto.keys import ensure_local_keys
from click.testing import CliRunner

from tests.conftest import free_port
from tests.staff.conftest import HelpDesk

AFTERCARE_VARIABLES = ("AFTERCARE_TABLE_NAME", "AFTERCARE_DYNAMODB_ENDPOINT", "AFTERCARE_LOCAL_KEY_DIR",
                       "AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID")


def no_aftercare_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AFTERCARE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.dynamodb_local
def test_the_cli_finds_a_running_stack_on_other_ports(
    local_desk: HelpDesk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reference = local_desk.submit(email="ann@example.com")
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({
        "pid": os.getpid(), "port": 18123, "dynamodb_endpoint": local_desk.settings.dynamodb_endpoint,
        "table_name": local_desk.table.table_name, "key_dir": str(local_desk.settings.local_key_dir),
    }))
    monkeypatch.setattr(paths, "RUNNING_STACK", state)
    no_aftercare_variables(monkeypatch)

    result = local_desk.ok("subject", "find", "--email", "ann@example.com")

    assert reference in result.stdout


def test_with_no_stack_running_it_says_what_it_tried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    ensure_local_keys(tmp_path / "keys")
    monkeypatch.setattr(paths, "RUNNING_STACK", tmp_path / "stack.json")
    monkeypatch.setattr(stack, "local_stage_environment", lambda: {
        "AFTERCARE_TABLE_NAME": "aftercare-local", "AFTERCARE_DYNAMODB_ENDPOINT": closed,
        "AFTERCARE_LOCAL_KEY_DIR": str(tmp_path / "keys"),
    })
    no_aftercare_variables(monkeypatch)

    result = CliRunner().invoke(cli, ["export", "--workers", "1"])

    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert f"could not reach DynamoDB at {closed}" in line
    assert "make run" in line and "stack.json" in line and "AFTERCARE_DYNAMODB_ENDPOINT" in line
    assert "EndpointConnectionError" not in line and "Traceback" not in result.output


def test_a_stale_state_file_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": int(finished.stdout), "port": 1, "dynamodb_endpoint": "x",
                                 "table_name": "t", "key_dir": "k"}))

    assert stack.running_state(state) is None
    assert stack.running_state(tmp_path / "missing.json") is None
    state.write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert stack.running_state(state) == {"pid": os.getpid(), "port": 1}


@pytest.mark.parametrize(("options", "variable"), [
    (["--port", "{busy}"], "PORT="),
    (["--port", "{free}", "--dynamodb-port", "{busy}"], "DYNAMODB_PORT="),
    (["--port", "{free}", "--oidc-port", "{busy}"], "OIDC_PORT="),
])
def test_a_busy_port_is_one_line_naming_the_variable(options: list[str], variable: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        filled = [option.format(busy=busy, free=free_port()) for option in options]

        result = CliRunner().invoke(local_main, ["run", *filled])

    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"port {busy}" in line and "already in use" in line and variable in line
    assert result.exception is None or isinstance(result.exception, SystemExit)
