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
from aftercare_local import paths, s3, stack
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


# Each engine's port: `aftercare_local run`'s option, and the Makefile variable that sets it.
PORT_OPTIONS = {"--port": "PORT", "--dynamodb-port": "DYNAMODB_PORT", "--s3-port": "S3_PORT",
                "--smtp-port": "SMTP_PORT", "--mail-port": "MAIL_PORT", "--oidc-port": "OIDC_PORT",
                "--inbound-smtp-port": "INBOUND_SMTP_PORT"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("option", "variable"), PORT_OPTIONS.items())
def test_a_busy_port_is_one_line_naming_the_variable(option: str, variable: str) -> None:
    """Every other port moved to a free one, as a second stack beside a first would."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        filled = [part for name in PORT_OPTIONS
                  for part in (name, str(busy if name == option else free_port()))]

        result = CliRunner().invoke(local_main, ["run", *filled])

    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert f"port {busy}" in line and "already in use" in line and f"{variable}=" in line
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_engines_port_is_a_documented_make_variable() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    ports_paragraph = (ROOT / "README.md").read_text().split("**Ports.**", 1)[1].split("\n\n", 1)[0]
    options = {param.opts[0] for param in local_main.commands["run"].params  # type: ignore[attr-defined]
               if param.opts[0].endswith("port")}

    assert options == set(PORT_OPTIONS)
    for option, variable in PORT_OPTIONS.items():
        assert f"\n{variable} ?= " in makefile
        assert f"{option} $({variable})" in recipe
        assert f"`{variable}`" in ports_paragraph


def test_the_staff_command_follows_a_moved_s3_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": os.getpid(), "port": 8080, "dynamodb_endpoint": "http://127.0.0.1:8081",
                                 "table_name": "t", "key_dir": "k", "s3_endpoint": "http://127.0.0.1:8083"}))

    environment, _ = stack.staff_environment(state)

    assert environment["AFTERCARE_S3_ENDPOINT"] == "http://127.0.0.1:8083"


def test_an_s3_port_taken_after_the_check_is_still_one_line(tmp_path: Path) -> None:
    """A race with the start's own check: s3rver's 40-line Node trace becomes one line."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(s3.S3EngineError) as refused, s3.running(busy, tmp_path / "s3"):
            pass

    assert str(refused.value) == f"port {busy} is in use: stop what holds it or choose another port"
