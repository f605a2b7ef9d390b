"""Staff-tool fixtures: a help desk with real submissions (written by Intake), on moto or DynamoDB Local."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aftercare_cli.main import cli
from chalicelib.crypto.keys import ensure_local_keys, subject_hash
from chalicelib.forms import FORMS
from chalicelib.intake.receiving import Intake
from chalicelib.notify import consents
from chalicelib.rules.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.staff.records import column_labels, exportable_kinds, flat_columns, union_columns
from chalicelib.store.items import AUDIT_PREFIX, submission_key
from chalicelib.store.table import EXPIRY_ATTRIBUTE, SubmissionTable, from_dynamodb
from click.testing import CliRunner, Result

from tests.samples import payload_for, validated

NOW = datetime.now(UTC)
BYTE_ORDER_MARK = "\ufeff"


def column_names(header: list[Any]) -> list[str]:
    """A flat export's header (the forms' labels) back as the columns' names."""
    every = flat_columns(union_columns(exportable_kinds()))
    names = dict(zip(column_labels(every), every, strict=True))
    return [names[label] for label in header]


def csv_rows(text: str) -> list[dict[str, str]]:
    """A CSV export's rows keyed by column name (the file starts with the byte-order mark)."""
    assert text.startswith(BYTE_ORDER_MARK), text[:20]
    reader = csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK)))
    header = column_names(next(reader))
    return [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture
def complaint_kind() -> str:
    return "complaint"


@dataclass
class HelpDesk:
    """A table with submissions from the real write path, and the staff command line on it."""

    engine: str
    settings: Settings
    table: SubmissionTable

    def submit(self, kind: str = "enquiry", *, at: datetime = NOW, idempotency_key: str | None = None,
               language: str = "en", **changes: Any) -> str:
        form = FORMS[kind]
        intake = Intake(
            table=self.table, cipher=self.settings.cipher(), hasher=self.settings.subject_hasher(),
            policy=data_policy(), clock=lambda: at,
        )
        body = payload_for(form, NOW.date(), **changes)
        receipt = intake.receive(form, validated(form, body, NOW.date()), idempotency_key, language=language)
        self.record_consents(receipt.reference)
        return receipt.reference

    def record_consents(self, reference: str) -> None:
        """The submission's opt-ins become consent records, as the notifier makes them from the stream."""
        stored = self.table.get(*submission_key(reference), now_epoch=0)
        if stored is not None:
            consents.record(self.table, stored, data_policy().expires_at)

    def subject(self, email: str) -> str:
        return subject_hash(self.settings.subject_hasher(), email)

    def run(self, *args: str, input: str | None = None) -> Result:  # noqa: A002
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        return result

    def ok(self, *args: str, input: str | None = None) -> Result:  # noqa: A002
        result = self.run(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def raw_items(self) -> list[dict[str, Any]]:
        client = self.table.client
        pages = client.get_paginator("scan").paginate(TableName=self.table.table_name)
        return [from_dynamodb(raw) for page in pages for raw in page["Items"]]

    def items(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.raw_items() if str(item["pk"]).startswith(prefix)]

    def audit_records(self) -> list[dict[str, Any]]:
        return sorted(self.items(AUDIT_PREFIX), key=lambda item: item["sk"])


def _desk_on_moto(request: pytest.FixtureRequest) -> HelpDesk:
    account = request.getfixturevalue("moto_account")
    settings = Settings.from_environ(os.environ)
    return HelpDesk("moto", settings, account.table())


def _desk_on_local(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                   key_dir: Path) -> HelpDesk:
    table: SubmissionTable = request.getfixturevalue("local_table")
    endpoint: str = request.getfixturevalue("dynamodb_local_endpoint")
    ensure_local_keys(key_dir)
    # DynamoDB Local sweeps expired items within seconds; AWS takes up to days. With
    # TTL off here, expired items stay, as they do in AWS, and must be left out by reads.
    table.client.update_time_to_live(
        TableName=table.table_name,
        TimeToLiveSpecification={"AttributeName": EXPIRY_ATTRIBUTE, "Enabled": False},
    )
    monkeypatch.setenv("AFTERCARE_TABLE_NAME", table.table_name)
    monkeypatch.setenv("AFTERCARE_DYNAMODB_ENDPOINT", endpoint)
    monkeypatch.setenv("AFTERCARE_LOCAL_KEY_DIR", str(key_dir))
    for name in ("AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    return HelpDesk("local", Settings.from_environ(os.environ), table)


@pytest.fixture(params=["moto", pytest.param("local", marks=pytest.mark.dynamodb_local)])
def desk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
         tmp_path: Path) -> Iterator[HelpDesk]:
    """The same tests on moto (KMS keys, STS identity) and on DynamoDB Local (local keys)."""
    if request.param == "moto":
        yield _desk_on_moto(request)
    else:
        yield _desk_on_local(request, monkeypatch, tmp_path / "keys")


@pytest.fixture
def local_desk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> HelpDesk:
    return _desk_on_local(request, monkeypatch, tmp_path / "keys")
