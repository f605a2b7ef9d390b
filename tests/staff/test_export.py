"""`aftercare export`: columns, filters, formats, formula neutralisation, expiry, audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chalicelib.forms import FORMS
from chalicelib.staff.records import BASE_COLUMNS, CASE_COLUMNS, column_labels, columns_for, flat_columns
from chalicelib.store.items import SUBMISSION_PREFIX, submission_key
from openpyxl import load_workbook

from tests.staff.conftest import BYTE_ORDER_MARK, HelpDesk, column_names, csv_rows


def test_csv_columns_follow_the_model_and_personal_fields_are_decrypted(desk: HelpDesk) -> None:
    first = desk.submit(at=datetime(2026, 3, 1, tzinfo=UTC), name="Ann Lee", email="ann@example.com")
    second = desk.submit(at=datetime(2026, 3, 2, tzinfo=UTC), name="Bo Chan", email="bo@example.com")

    result = desk.ok("export", "--kind", "enquiry")

    header = next(csv.reader(io.StringIO(result.stdout.removeprefix(BYTE_ORDER_MARK))))
    # An enquiry is a case: where it stands follows the form's own fields.
    assert column_names(header) == [*BASE_COLUMNS, *FORMS["enquiry"].model.model_fields, *CASE_COLUMNS]
    rows = csv_rows(result.stdout)
    assert [row["reference"] for row in rows] == [first, second]
    assert [(row["name"], row["email"]) for row in rows] == [
        ("Ann Lee", "ann@example.com"), ("Bo Chan", "bo@example.com"),
    ]
    assert rows[0]["created_at"].startswith("2026-03-01T")
    assert "exported 2 rows" in result.stderr


def test_since_and_until_pick_a_date_range_whole_days_included(desk: HelpDesk) -> None:
    desk.submit(at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    inside = [desk.submit(at=datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
              desk.submit(at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))]
    desk.submit(at=datetime(2026, 3, 1, tzinfo=UTC))

    rows = csv_rows(desk.ok("export", "--kind", "enquiry",
                            "--since", "2026-02-01", "--until", "2026-02-28").stdout)

    assert [row["reference"] for row in rows] == inside


def test_status_filter_and_all_kinds(desk: HelpDesk, complaint_kind: str) -> None:
    enquiry = desk.submit()
    open_one = desk.submit(complaint_kind)
    closed = desk.submit(complaint_kind)
    desk.ok("case", "update", closed, "--status", "acknowledged", "--handler", "Sam Patel")

    open_rows = csv_rows(desk.ok("export", "--kind", complaint_kind, "--status", "received").stdout)
    every_row = csv_rows(desk.ok("export").stdout)

    assert [row["reference"] for row in open_rows] == [open_one]
    assert {row["reference"] for row in every_row} == {enquiry, open_one, closed}


def test_expired_items_are_left_out(desk: HelpDesk) -> None:
    # Created long ago: its retention has passed, but TTL deletion has not happened yet.
    expired = desk.submit(at=datetime(2020, 1, 1, tzinfo=UTC))
    live = desk.submit()
    assert expired in {item["reference"] for item in desk.items(SUBMISSION_PREFIX)}

    rows = csv_rows(desk.ok("export", "--kind", "enquiry").stdout)

    assert [row["reference"] for row in rows] == [live]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_triggers_are_neutralised(start: str) -> None:
    from chalicelib.staff.sheets import neutralise

    assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert neutralise(f"{start}A1") == f"'{start}A1"
    assert neutralise("plain") == "plain"


@pytest.mark.parametrize("number", ["+44 20 7946 0000", "+1 (555) 010-9999", "-12.5", "+33.1.23.45"])
def test_a_number_after_plus_or_minus_runs_nothing_and_keeps_its_sign(number: str) -> None:
    from chalicelib.staff.sheets import neutralise

    assert neutralise(number) == number


def test_csv_neutralises_only_what_a_spreadsheet_would_run(desk: HelpDesk) -> None:
    desk.submit(name="=1+2", message="@SUM(A1:A9)", phone="+44 20 7946 0000",
                at=datetime(2026, 5, 1, tzinfo=UTC))
    desk.submit(name="-Ann", at=datetime(2026, 5, 2, tzinfo=UTC))

    rows = csv_rows(desk.ok("export", "--kind", "enquiry").stdout)

    assert rows[0]["name"] == "'=1+2" and rows[0]["message"] == "'@SUM(A1:A9)"
    assert rows[0]["phone"] == "+44 20 7946 0000"
    assert rows[1]["name"] == "'-Ann"


def test_xlsx_cells_are_typed_text_that_never_runs_and_shows_no_mark(desk: HelpDesk, tmp_path: Path) -> None:
    desk.submit(name="=1+2", message="@SUM(A1:A9)", phone="+44 20 7946 0000",
                at=datetime(2026, 5, 1, tzinfo=UTC))
    desk.submit(name="-Ann", at=datetime(2026, 5, 2, tzinfo=UTC))

    desk.ok("export", "--kind", "enquiry", "-o", str(tmp_path / "out.xlsx"))

    sheet = load_workbook(tmp_path / "out.xlsx")["enquiry"]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = {cell.value for cell in cells}
    assert {"=1+2", "@SUM(A1:A9)", "+44 20 7946 0000", "-Ann"} <= values
    assert not [value for value in values if isinstance(value, str) and value.startswith("'")]


def test_xlsx_has_real_dates_a_frozen_filtered_header_and_fitting_widths(
    desk: HelpDesk, tmp_path: Path
) -> None:
    bought = (datetime.now(UTC) - timedelta(days=10)).date()
    desk.submit("warranty_registration", purchase_date=bought.isoformat(),
                at=datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    target = tmp_path / "w.xlsx"

    desk.ok("export", "--kind", "warranty_registration", "-o", str(target))

    sheet = load_workbook(target)["warranty_registration"]
    header = column_names([cell.value for cell in sheet[1]])
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["created_at"].value == datetime(2026, 5, 1, 9, 30)
    assert row["created_at"].is_date and row["purchase_date"].is_date
    assert row["purchase_date"].value.date() == bought
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}2"
    widths = {name: sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width
              for i, name in enumerate(header)}
    assert widths["where_bought"] >= len("Aftercare Store, Leeds")
    assert widths["reference"] >= len(row["reference"].value)
    assert all(8 <= width <= 60 for width in widths.values())


def test_xlsx_has_a_sheet_per_kind_with_the_right_rows(desk: HelpDesk, complaint_kind: str,
                                                      tmp_path: Path) -> None:
    enquiries = [desk.submit(email=f"p{n}@example.com", at=datetime(2026, 5, n + 1, tzinfo=UTC))
                 for n in range(3)]
    complaint = desk.submit(complaint_kind)
    target = tmp_path / "all.xlsx"

    desk.ok("export", "--kind", "enquiry", "--kind", complaint_kind, "-o", str(target))

    book = load_workbook(target, read_only=True)
    assert book.sheetnames == ["enquiry", complaint_kind]
    enquiry_rows = list(book["enquiry"].iter_rows(values_only=True))
    assert list(enquiry_rows[0]) == list(column_labels(flat_columns(columns_for("enquiry"))))
    assert [row[0] for row in enquiry_rows[1:]] == enquiries
    assert [row[3] for row in enquiry_rows[1:]] == ["received"] * 3
    email_column = columns_for("enquiry").index("email")
    assert [row[email_column] for row in enquiry_rows[1:]] == [f"p{n}@example.com" for n in range(3)]
    assert [row[0] for row in book[complaint_kind].iter_rows(min_row=2, values_only=True)] == [complaint]


def test_json_lines_hold_each_kinds_columns_in_order(desk: HelpDesk) -> None:
    reference = desk.submit(name="Ann Lee", topic="warranty")

    lines = desk.ok("export", "--format", "jsonl").stdout.splitlines()

    record = json.loads(lines[0])
    assert len(lines) == 1
    assert list(record) == list(columns_for("enquiry"))
    assert record["reference"] == reference and record["name"] == "Ann Lee"
    assert record["topic"] == "warranty" and record["marketing_consent"] is False


def test_consents_export_is_the_current_opt_in_list(desk: HelpDesk) -> None:
    desk.submit(email="keen@example.com", name="Keen", marketing_consent=True)
    desk.submit(email="gone@example.com", name="Gone", marketing_consent=True)
    desk.submit(email="never@example.com", marketing_consent=False)
    desk.ok("consent", "withdraw", "--email", "gone@example.com")

    rows = csv_rows(desk.ok("export", "--kind", "consents").stdout)

    assert [(row["email"], row["name"], row["status"]) for row in rows] == [
        ("keen@example.com", "Keen", "opted-in")
    ]
    assert rows[0]["source_form"] == "enquiry" and rows[0]["notice_version"]


def test_export_writes_an_audit_record_without_personal_data(desk: HelpDesk, tmp_path: Path) -> None:
    desk.submit(name="Ann Lee", email="ann@example.com")
    desk.submit(name="Bo Chan", email="bo@example.com")

    desk.ok("export", "--kind", "enquiry", "--since", "2000-01-01", "-o", str(tmp_path / "x.csv"))

    (record,) = desk.audit_records()
    assert record["action"] == "export" and record["kinds"] == ["enquiry"]
    assert record["item_count"] == 2 and record["outcome"] == "done"
    assert record["actor"].startswith("arn:aws:" if desk.engine == "moto" else "local:")
    assert record["expires_at"] > datetime.now(UTC).timestamp()
    text = json.dumps(record, default=str)
    for secret in ("ann@example.com", "Ann Lee", "bo@example.com", "Bo Chan"):
        assert secret not in text


def test_an_unknown_kind_is_refused_with_the_choices(desk: HelpDesk) -> None:
    result = desk.run("export", "--kind", "enquiries")

    assert result.exit_code == 2
    assert "enquiry" in result.output and "consents" in result.output
    assert desk.audit_records() == []


def test_audit_lists_the_trail_without_personal_data(desk: HelpDesk) -> None:
    desk.submit(name="Ann Lee", email="ann@example.com")
    desk.ok("export", "--kind", "enquiry")
    desk.ok("subject", "find", "--email", "ann@example.com")

    lines = [json.loads(line) for line in desk.ok("audit", "--since", "2000-01-01").stdout.splitlines()]

    assert [line["action"] for line in lines] == ["export", "subject.find"]
    assert lines[1]["about_subject"] == desk.subject("ann@example.com")
    assert "ann@example.com" not in json.dumps(lines) and "Ann Lee" not in json.dumps(lines)


def audit_trail(desk: HelpDesk) -> None:
    """Ann found and exported, Bo found: three actions about two people."""
    desk.submit(name="Ann Lee", email="ann@example.com")
    desk.submit(name="Bo Chan", email="bo@example.com")
    desk.ok("subject", "find", "--email", "ann@example.com")
    desk.ok("subject", "export", "--email", "ann@example.com")
    desk.ok("subject", "find", "--email", "bo@example.com")
    desk.ok("export", "--kind", "enquiry")


def test_audit_filters_by_person_action_and_staff_member(desk: HelpDesk) -> None:
    audit_trail(desk)
    me = desk.audit_records()[0]["actor"]

    def actions(*options: str) -> list[str]:
        return [json.loads(line)["action"] for line in desk.ok("audit", *options).stdout.splitlines()]

    assert actions("--email", "ANN@example.com") == ["subject.find", "subject.export"]
    assert actions("--action", "subject") == ["subject.find", "subject.export", "subject.find"]
    assert actions("--action", "subject.find", "--email", "bo@example.com") == ["subject.find"]
    assert actions("--actor", me[-6:].upper()) == ["subject.find", "subject.export", "subject.find", "export"]
    assert actions("--actor", "nobody-of-that-name") == []


def test_audit_is_a_table_on_a_terminal(desk: HelpDesk) -> None:
    audit_trail(desk)

    lines = desk.ok("audit", "--format", "table").stdout.splitlines()

    assert lines[0].split()[:4] == ["when", "(UTC)", "staff", "action"]
    assert len(lines) == 2 + 4 and not any(line.startswith("{") for line in lines)
    assert "subject.export" in lines[3] and desk.subject("ann@example.com")[:12] in lines[3]
    assert desk.subject("ann@example.com") not in "\n".join(lines)  # shortened, not the whole hash
    assert "Ann Lee" not in "\n".join(lines) and "ann@example.com" not in "\n".join(lines)


def test_csv_starts_with_a_byte_order_mark_so_excel_reads_any_script(desk: HelpDesk, tmp_path: Path) -> None:
    desk.submit(name="Zoë शर्मा", email="zoe@example.com")
    target = tmp_path / "enquiries.csv"

    desk.ok("export", "--kind", "enquiry", "-o", str(target))

    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and not data.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    (row,) = csv_rows(data.decode("utf-8"))
    assert row["name"] == "Zoë शर्मा"


def test_flat_headers_are_the_forms_labels_and_json_lines_keep_the_names(
    desk: HelpDesk, tmp_path: Path
) -> None:
    desk.submit("return_request")
    target = tmp_path / "returns.xlsx"

    text = desk.ok("export", "--kind", "return_request").stdout
    desk.ok("export", "--kind", "return_request", "-o", str(target))
    (line,) = desk.ok("export", "--kind", "return_request", "--format", "jsonl").stdout.splitlines()

    wanted = FORMS["return_request"].model.model_fields["wanted_outcome"].title
    csv_header = next(csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK))))
    xlsx_header = [cell.value for cell in load_workbook(target)["return_request"][1]]
    for header in (csv_header, xlsx_header):
        assert wanted in header and "Reference" in header and "Sent at (UTC)" in header
        assert "wanted_outcome" not in header and "created_at" not in header
        assert len(set(header)) == len(header)
    assert "wanted_outcome" in json.loads(line)


def test_the_follow_up_link_is_a_secret_that_no_export_carries(desk: HelpDesk, tmp_path: Path) -> None:
    reference = desk.submit("feedback")
    token = "ENQ-7K3M-Q9XD.0123456789abcdefghijklmnopqrstuvwxyz"
    stored = desk.table.get(*submission_key(reference), now_epoch=0)
    assert stored is not None
    desk.table.replace({**stored, "fields": {**stored["fields"], "follow_up_token": token}})
    target = tmp_path / "feedback.xlsx"

    outputs = [desk.ok("export", "--kind", "feedback").stdout,
               desk.ok("export", "--kind", "feedback", "--format", "jsonl").stdout]
    desk.ok("export", "--kind", "feedback", "-o", str(target))
    outputs.append(json.dumps([[cell.value for cell in row] for row in load_workbook(target)["feedback"]],
                              default=str))

    assert reference in outputs[0] and reference in outputs[1]
    for output in outputs:
        assert token not in output and "follow_up_token" not in output
        assert FORMS["feedback"].model.model_fields["follow_up_token"].title not in output


@pytest.mark.parametrize("name", ["report.xls", "report.txt", "REPORT.CSVX"])
def test_an_unknown_ending_is_refused_in_one_plain_line(desk: HelpDesk, tmp_path: Path, name: str) -> None:
    desk.submit()

    result = desk.run("export", "-o", str(tmp_path / name))

    assert result.exit_code == 2
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "cannot write ." in line and ".csv, .jsonl or .xlsx" in line
    assert not (tmp_path / name).exists()
    assert desk.audit_records() == []
