"""Writing rows as CSV, JSON Lines or XLSX, a row at a time, with spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import json
from typing import IO, Any, Protocol

from openpyxl import Workbook

from aftercare_cli.records import columns_for

FORMATS = ("csv", "jsonl", "xlsx")
# OWASP "CSV injection": a cell starting with one of these may run as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_SHEET_TITLE_LIMIT = 31


def neutralise(text: str) -> str:
    """Make a spreadsheet show the text instead of running it: a leading ' marks it as text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class RowWriter(Protocol):
    def begin(self, kind: str) -> None: ...
    def write(self, row: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class CsvWriter:
    """One header for every kind exported (each kind's columns, each name once)."""

    def __init__(self, stream: IO[str], columns: tuple[str, ...]):
        self._columns = columns
        self._csv = csv.writer(stream, lineterminator="\r\n")
        self._csv.writerow(columns)

    def begin(self, kind: str) -> None:
        pass

    def write(self, row: dict[str, Any]) -> None:
        self._csv.writerow([neutralise(cell_text(row.get(name))) for name in self._columns])

    def close(self) -> None:
        pass


class JsonLinesWriter:
    """One JSON object a line, holding its kind's columns in order (JSON runs no formulas)."""

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self._columns: dict[str, tuple[str, ...]] = {}

    def begin(self, kind: str) -> None:
        self._columns[kind] = columns_for(kind)

    def write(self, row: dict[str, Any]) -> None:
        columns = self._columns.get(row["kind"]) or columns_for(row["kind"])
        line = {name: row.get(name) for name in columns}
        self._stream.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        pass


class XlsxWriter:
    """A sheet per kind; openpyxl's write-only mode streams rows to disk instead of holding them."""

    def __init__(self, target: Any):
        self._target = target
        self._book = Workbook(write_only=True)
        self._sheet: Any = None
        self._columns: tuple[str, ...] = ()

    def begin(self, kind: str) -> None:
        self._columns = columns_for(kind)
        self._sheet = self._book.create_sheet(title=kind[:XLSX_SHEET_TITLE_LIMIT])
        self._sheet.append(list(self._columns))

    def write(self, row: dict[str, Any]) -> None:
        self._sheet.append([_xlsx_cell(row.get(name)) for name in self._columns])

    def close(self) -> None:
        if not self._book.worksheets:
            self._book.create_sheet(title="empty")
        self._book.save(self._target)


def _xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return neutralise(cell_text(value))
