"""Bad options and broken outputs: one plain line and a non-zero exit, never a traceback or `ClientError`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aftercare_local.paths import BACKEND
from chalicelib.store.items import CONSENT_PREFIX, OPTED_IN

from tests.staff.conftest import HelpDesk


def refused(desk: HelpDesk, *args: str, code: int = 2) -> str:
    result = desk.run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "ClientError" not in result.output
    assert "Error:" in result.output
    return result.output


def test_since_after_until_is_refused_before_any_query(desk: HelpDesk) -> None:
    for command in (["export"], ["audit"]):
        text = refused(desk, *command, "--since", "2026-03-01", "--until", "2026-02-01")
        assert "--since" in text and "after --until" in text
    assert desk.audit_records() == []


def test_an_unwritable_output_says_so_and_reads_nothing(desk: HelpDesk, tmp_path: Path) -> None:
    desk.submit()
    target = tmp_path / "no-such-folder" / "out.csv"

    text = refused(desk, "export", "-o", str(target), code=1)

    assert "cannot write to" in text and "No such file or directory" in text
    assert desk.audit_records() == []


def test_a_status_not_in_the_list_names_the_choices(desk: HelpDesk) -> None:
    text = refused(desk, "export", "--status", "pending")
    assert "'pending' is not one of" in text and "received" in text and "opted-in" in text

    text = refused(desk, "cases", "--status", "pending")
    assert "acknowledged" in text and "scheduled" in text and "opted-in" not in text


def test_a_format_that_contradicts_the_file_name_is_refused(desk: HelpDesk, tmp_path: Path) -> None:
    text = refused(desk, "export", "--format", "csv", "-o", str(tmp_path / "x.xlsx"))

    assert "--format csv does not match" in text
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("command", [["subject", "find"], ["subject", "export"], ["consent", "withdraw"]])
def test_an_email_that_is_not_one_is_refused_without_repeating_it(desk: HelpDesk, command: list[str]) -> None:
    text = refused(desk, *command, "--email", "notanemail")

    assert "not an email address" in text and "notanemail" not in text
    assert desk.audit_records() == []


def test_withdrawing_for_an_unknown_email_says_none_was_found(desk: HelpDesk) -> None:
    desk.submit(email="keen@example.com", marketing_consent=True)

    text = refused(desk, "consent", "withdraw", "--email", "stranger@example.com", code=1)

    assert "no consent" in text and "stranger" not in text
    assert [item["status"] for item in desk.items(CONSENT_PREFIX)] == [OPTED_IN]


@pytest.mark.dynamodb_local
def test_a_reader_that_goes_away_stops_the_export_quietly(local_desk: HelpDesk) -> None:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    for n in range(400):
        local_desk.submit(email=f"p{n}@example.com", at=start + timedelta(minutes=n))
    command = [sys.executable, "-c", "from aftercare_cli.main import cli; cli()", "export"]

    with subprocess.Popen(command, cwd=BACKEND, env=dict(os.environ), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as export:
        assert export.stdout is not None and export.stderr is not None
        assert export.stdout.readline().startswith(b"\xef\xbb\xbfReference,")  # the UTF-8 mark, then labels
        export.stdout.close()  # as `| head -1` does
        errors = export.stderr.read().decode()
        code = export.wait(timeout=60)

    assert code != 0
    assert "Traceback" not in errors and "Exception" not in errors
    assert len(errors.strip().splitlines()) <= 1
