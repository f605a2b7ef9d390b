"""Help a staff member can follow, the local-stack default, and the parallel export pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aftercare_cli.main import cli
from aftercare_cli.target import Target
from aftercare_local.paths import BACKEND
from chalicelib.staff.pipeline import decoded_chunks, make_pool
from chalicelib.store.items import epoch
from click.testing import CliRunner

from tests.staff.conftest import HelpDesk, csv_rows

COMMANDS = [
    ["export"], ["subject"], ["subject", "find"], ["subject", "export"], ["subject", "correct"],
    ["subject", "erase"], ["consent"], ["consent", "list"], ["consent", "withdraw"],
    ["cases"], ["case"], ["case", "show"], ["case", "assign"], ["case", "update"], ["audit"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself_without_touching_aws(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])

    assert result.exit_code == 0
    assert result.output.startswith("Usage: cli " + " ".join(command))
    assert len(result.output.splitlines()) > 4


def test_top_level_help_says_where_it_works() -> None:
    text = CliRunner().invoke(cli, ["--help"]).output

    for words in ("--profile", "--region", "local stack", "AFTERCARE_TABLE_NAME", "audit"):
        assert words in text


def test_the_local_stack_is_the_default_and_aws_needs_asking_for() -> None:
    local = {"AFTERCARE_TABLE_NAME": "aftercare-local", "AFTERCARE_LOCAL_KEY_DIR": "../.local/keys",
             "AFTERCARE_DYNAMODB_ENDPOINT": "http://127.0.0.1:8001"}

    default = Target().settings({}, lambda: local, BACKEND)
    leftovers = {"AFTERCARE_LOCAL_KEY_DIR": "/somewhere", "AFTERCARE_DYNAMODB_ENDPOINT": "http://x"}
    aws = Target(profile="staff", region="eu-west-2", table_name="prod",
                 kms_key_id="k", subject_key_id="s").settings(leftovers, lambda: local, BACKEND)

    assert default.table_name == "aftercare-local" and default.local_key_dir is not None
    assert default.local_key_dir.is_absolute() and default.dynamodb_endpoint
    assert (aws.table_name, aws.profile, aws.region) == ("prod", "staff", "eu-west-2")
    assert aws.local_key_dir is None
    assert aws.dynamodb_endpoint is None


@pytest.mark.dynamodb_local
def test_process_pool_export_over_many_pages_keeps_order(local_desk: HelpDesk) -> None:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    references = [local_desk.submit(email=f"p{n}@example.com", at=start + timedelta(minutes=n))
                  for n in range(230)]
    now_epoch = epoch(datetime.now(UTC))
    pages = local_desk.table.query_kind_pages("enquiry", now_epoch=now_epoch, page_size=40)
    pool = make_pool(local_desk.settings, 2)
    try:
        rows = [row for _, chunk in decoded_chunks(pages, pool, now_epoch=now_epoch, window=3)
                for row in chunk]
    finally:
        pool.shutdown()

    assert [row["reference"] for row in rows] == references
    assert [row["email"] for row in rows] == [f"p{n}@example.com" for n in range(230)]
    two = csv_rows(local_desk.ok("export", "--workers", "2").stdout)
    assert [row["reference"] for row in two] == references


def test_a_query_failure_stops_the_export_with_a_plain_message(
    desk: HelpDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.submit()
    monkeypatch.setenv("AFTERCARE_TABLE_NAME", "no-such-table")

    result = desk.run("export")

    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output


def test_a_missing_table_is_named_in_plain_words(desk: HelpDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERCARE_TABLE_NAME", "no-such-table")

    result = desk.run("audit")

    assert result.exit_code == 1
    assert "there is no table no-such-table" in result.output and "AFTERCARE_TABLE_NAME" in result.output
    assert "ClientError" not in result.output
