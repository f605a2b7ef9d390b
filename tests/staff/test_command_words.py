"""The staff command as people type into it: references in any case, dates day first,
tables with headers on a terminal, and refusals that say what would pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aftercare_cli import listing
from chalicelib.forms import FORMS
from chalicelib.rules.catalog import catalog

from tests.samples import payload_for
from tests.staff.conftest import NOW, HelpDesk, csv_rows

ANN = "ann@example.com"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists print as they would on a terminal (auto means table there)."""
    monkeypatch.setattr(listing, "wants_table", lambda list_format: list_format != "jsonl")


def test_a_reference_typed_in_lower_case_is_found_everywhere(desk: HelpDesk) -> None:
    reference = desk.submit("enquiry", email=ANN)
    typed = f" {reference.lower()} "

    shown = json.loads(desk.ok("case", "show", typed).stdout)
    moved = desk.ok("case", "update", typed, "--status", "answered", "--tell-customer", "It fits.").stdout
    corrected = desk.ok("subject", "correct", "--email", ANN, "--reference", typed,
                        "--field", "name", "--value", "Ann Lee-Smith").stdout

    assert shown["reference"] == reference
    assert moved.startswith(f"{reference} is answered")
    assert f"corrected name of {reference}" in corrected


@pytest.mark.parametrize("typed", ["07/12/2026", "7/12/2026", "07.12.2026", "2026-12-07"])
def test_since_takes_the_day_first_as_well_as_iso(desk: HelpDesk, typed: str) -> None:
    before = desk.submit(at=datetime(2026, 12, 6, 23, 0, tzinfo=UTC))
    on_the_day = desk.submit(at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))

    rows = csv_rows(desk.ok("export", "--kind", "enquiry", "--since", typed, "--until", typed).stdout)
    trail = desk.ok("audit", "--since", typed)

    assert [row["reference"] for row in rows] == [on_the_day] and before not in str(rows)
    assert trail.exit_code == 0


def test_a_date_that_is_none_says_which_formats_work(desk: HelpDesk) -> None:
    result = desk.run("export", "--since", "12/31/2026")

    assert result.exit_code == 2
    assert "DD/MM/YYYY" in result.output and "YYYY-MM-DD" in result.output
    assert "%" not in result.output and "Traceback" not in result.output
    assert "DD/MM/YYYY" in desk.ok("export", "--help").stdout


def test_the_audit_trail_names_kinds_and_never_none(desk: HelpDesk, terminal: None) -> None:
    desk.submit(email=ANN, idempotency_key="retry-me")  # an idempotency record has no kind
    desk.ok("subject", "find", "--email", ANN)

    (record,) = [json.loads(line) for line in desk.ok("audit", "--format", "jsonl").stdout.splitlines()]
    table = desk.ok("audit").stdout

    assert record["kinds"] == ["enquiry"]
    assert "None" not in table and "enquiry" in table


def test_subject_find_and_consent_list_print_a_header_on_a_terminal(desk: HelpDesk, terminal: None) -> None:
    reference = desk.submit(email=ANN, marketing_consent=True)
    desk.record_consents(reference)

    found = desk.ok("subject", "find", "--email", ANN).stdout.splitlines()
    consents = desk.ok("consent", "list", "--email", ANN).stdout.splitlines()

    assert found[0].split()[:3] == ["record", "kind", "reference"] and set(found[1]) <= {"-", " "}
    assert any(reference in line and "submission" in line for line in found[2:])
    assert consents[0].split()[:3] == ["reference", "consent", "status"] and set(consents[1]) <= {"-", " "}
    assert "opted-in" in consents[2] and "\t" not in "\n".join(found + consents)


def test_a_refused_serial_correction_names_the_products_pattern_and_example(desk: HelpDesk) -> None:
    bought = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    reference = desk.submit("warranty_registration", email=ANN, purchase_date=bought)
    product = catalog().product(payload_for(FORMS["warranty_registration"], NOW.date())["product"])

    result = desk.run("subject", "correct", "--email", ANN, "--reference", reference,
                      "--field", "serial_number", "--value", "12")

    assert result.exit_code == 1
    assert product.serial_pattern.pattern in result.output and product.serial_example in result.output
    assert "letters and digits" not in result.output
