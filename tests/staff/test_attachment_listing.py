"""Staff see a submission's files by name, size and check state: `case show` and every export format."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from chalicelib.staff.attachments import safe_file_name
from chalicelib.staff.records import flat_columns
from chalicelib.store import items
from openpyxl import load_workbook

from tests.staff.conftest import NOW, HelpDesk, column_names, csv_rows

RECEIPT = "upload-receipt-0000000001"
PHOTO = "upload-photo-00000000002"
PENDING = "upload-pending-000000003"


def attach_files(desk: HelpDesk) -> str:
    """A complaint with three files: accepted (named), refused by the checker, not checked yet."""
    cipher = desk.settings.cipher()
    for upload_id, name in ((RECEIPT, "Ann Lee receipt.pdf"), (PHOTO, "dent.jpg"), (PENDING, None)):
        record = items.upload_item(
            upload_id=upload_id, form_kind="complaint",
            content_type="application/pdf" if upload_id == RECEIPT else "image/jpeg",
            max_bytes=10, created=NOW, usable_until=NOW + timedelta(hours=2),
            expires=NOW + timedelta(days=30),
            sealed_name=cipher.seal({"name": name}, kind="complaint", reference=upload_id) if name else None,
        )
        desk.table.put_all([record])
    for upload_id, check, size, refusal in ((RECEIPT, items.UPLOAD_CHECKED, 48_213, None),
                                            (PHOTO, items.UPLOAD_REFUSED, 512, "not a JPEG, PNG, HEIC/HEIF "
                                                                              "or PDF file")):
        partition, sort = items.upload_key(upload_id)
        desk.table.replace({items.PARTITION_KEY: partition, items.SORT_KEY: sort, "check": check,
                            "size": size, **({"refusal": refusal} if refusal else {})})
    return desk.submit("complaint", attachments=[RECEIPT, PHOTO, PENDING], email="ann@example.com")


def test_case_show_lists_files_by_name_size_and_check_never_by_upload_id(desk: HelpDesk) -> None:
    reference = attach_files(desk)

    shown = json.loads(desk.ok("case", "show", reference).stdout)

    assert shown["attachments"] == [
        {"name": "Ann Lee receipt.pdf", "type": "application/pdf", "bytes": 48_213, "check": "accepted",
         "refusal": None},
        {"name": "dent.jpg", "type": "image/jpeg", "bytes": 512, "check": "refused",
         "refusal": "not a JPEG, PNG, HEIC/HEIF or PDF file"},
        {"name": f"{reference}-3.jpg", "type": "image/jpeg", "bytes": None, "check": "not checked yet",
         "refusal": None},
    ]
    assert "attachments" not in shown["fields"]
    assert RECEIPT not in json.dumps(shown)
    table = desk.ok("case", "show", reference, "--format", "table").stdout
    assert "  1. Ann Lee receipt.pdf  47 KB  accepted\n" in table
    assert "  2. dent.jpg  512 bytes  refused (not a JPEG, PNG, HEIC/HEIF or PDF file)\n" in table
    assert f"  3. {reference}-3.jpg  size unknown  not checked yet\n" in table
    assert RECEIPT not in table


def test_json_lines_export_lists_the_files_and_csv_gives_each_its_columns(desk: HelpDesk) -> None:
    attach_files(desk)

    [record] = [json.loads(line) for line in
                desk.ok("export", "--kind", "complaint", "--format", "jsonl").stdout.splitlines()]
    [row] = csv_rows(desk.ok("export", "--kind", "complaint").stdout)

    assert [(f["name"], f["bytes"], f["check"]) for f in record["attachments"]] == [
        ("Ann Lee receipt.pdf", 48_213, "accepted"), ("dent.jpg", 512, "refused"),
        (f"{record['reference']}-3.jpg", None, "not checked yet")]
    assert (row["attachment_1"], row["attachment_1_bytes"], row["attachment_1_check"]) == (
        "Ann Lee receipt.pdf", "48213", "accepted")
    assert row["attachment_2_check"] == "refused: not a JPEG, PNG, HEIC/HEIF or PDF file"
    assert "attachments" not in row and PHOTO not in json.dumps([record, row])


def test_xlsx_sizes_are_numbers_and_names_are_text(desk: HelpDesk, tmp_path: Path) -> None:
    attach_files(desk)
    target = tmp_path / "complaints.xlsx"

    desk.ok("export", "--kind", "complaint", "-o", str(target))

    sheet = load_workbook(target)["complaint"]
    header = column_names([cell.value for cell in sheet[1]])
    cells = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert header.count("attachment_1_bytes") == 1 and "attachments" not in header
    assert (cells["attachment_1"].value, cells["attachment_1"].data_type) == ("Ann Lee receipt.pdf", "s")
    assert (cells["attachment_1_bytes"].value, cells["attachment_1_bytes"].data_type) == (48_213, "n")
    assert cells["attachment_3_bytes"].value is None
    assert cells["attachment_2_check"].value.startswith("refused: ")


def test_flat_columns_give_every_possible_file_three_columns_in_place_of_the_list() -> None:
    columns = flat_columns(("reference", "attachments", "status"))
    assert columns[0] == "reference" and columns[-1] == "status"
    assert columns[1:4] == ("attachment_1", "attachment_1_bytes", "attachment_1_check")
    assert len(columns) == 2 + 3 * 3


@pytest.mark.parametrize(("name", "content_type", "saved"), [
    ("Ann Lee receipt.PDF", "application/pdf", "Ann Lee receipt.PDF"),
    ("../../.bashrc", "image/png", "bashrc.png"),
    ("C:\\Users\\ann\\photo.jpeg", "image/jpeg", "photo.jpeg"),
    ("invoice.exe", "application/pdf", "invoice.exe.pdf"),
    ("photo\u202egpj.exe", "image/jpeg", "photogpj.exe.jpg"),
    ('a<b>:"c"|?*\x07.png', "image/png", "a_b_c_.png"),
    ("...", "image/png", "REF-1.png"),
    ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
])
def test_saved_names_keep_to_their_folder_and_their_checked_type(
    name: str, content_type: str, saved: str
) -> None:
    assert safe_file_name(name, content_type, "REF-1." + saved.rpartition(".")[2]) == saved



def test_the_persons_copy_names_their_files_by_name_never_by_upload_id(desk: HelpDesk) -> None:
    reference = attach_files(desk)

    document = json.loads(desk.ok("subject", "export", "--email", "ann@example.com").stdout)

    (section,) = [s for s in document["submissions"] if s["reference"] == reference]
    answers = {pair["question"]: pair["answer"] for pair in section["what_you_told_us"]}
    (files,) = [answer for answer in answers.values() if "dent.jpg" in str(answer)]
    assert files == f"Ann Lee receipt.pdf, dent.jpg, {reference}-3.jpg"
    text = json.dumps(document)
    assert all(upload_id not in text for upload_id in (RECEIPT, PHOTO, PENDING))
