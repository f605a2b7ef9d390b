"""CSV, JSON Lines and XLSX output; nothing in a cell can run as a spreadsheet formula.

CSV has only text, which a spreadsheet reads as it would typed input: a cell
that would run (=SUM(...), @cmd, +A1, a leading tab) starts with ' there,
while a phone number such as +44 20 7946 0000 is left as it is. XLSX cells
are typed (text, numbers, real dates), so text never runs and needs no mark.
CSV starts with a UTF-8 byte-order mark: without it Excel on Windows reads the
file in the machine's code page and garbles "Zoë" and Devanagari. CSV and XLSX
headers are the forms' labels (records.column_labels); JSON Lines, read by
programs, keys each value by its field's name.

Rows are turned into output text (or cells) by a renderer that runs where the
rows were decrypted, in the export's worker processes; the sink in the main
process only writes what comes back, in order.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from chalicelib.staff.records import (
    column_labels,
    columns_for,
    date_columns,
    flat_columns,
    flat_row,
    union_columns,
)
from chalicelib.store.items import TIME_ATTRIBUTES

FORMATS = ("csv", "jsonl", "xlsx")
BYTE_ORDER_MARK = "\ufeff"
# OWASP "CSV injection": a cell starting with one of these may run as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# After a + or -, only digits and a phone number's punctuation: a number, never a
# call or a cell reference, so nothing runs and the text needs no mark.
NUMBER_LIKE = re.compile(r"[+-][0-9][0-9 ().\-]*")
XLSX_SHEET_TITLE_LIMIT = 31
XLSX_WIDTH_LIMIT = 60
XLSX_DATE_WIDTH = 12
XLSX_TIME_WIDTH = 20

Row = dict[str, Any]


def neutralise(text: str) -> str:
    """Make a spreadsheet show the text instead of running it: a leading ' marks it as text."""
    if text.startswith(FORMULA_TRIGGERS) and not NUMBER_LIKE.fullmatch(text):
        return "'" + text
    return text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # most cells: skip the general conversion
        return neutralise(value) if value.startswith(FORMULA_TRIGGERS) else value
    return neutralise(cell_text(value))


def _xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return cell_text(value)


def _xlsx_date(value: Any) -> Any:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _xlsx_time(value: Any) -> Any:
    """Stored UTC text to a datetime in UTC (Excel has no time zones)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class CsvRender:
    columns: tuple[str, ...]

    def __call__(self, rows: list[Row]) -> str:
        text = io.StringIO()
        columns = self.columns
        csv.writer(text, lineterminator="\r\n").writerows(
            [_csv_cell(row.get(name)) for name in columns] for row in map(flat_row, rows)
        )
        return text.getvalue()


@dataclass(frozen=True)
class JsonLinesRender:
    """JSON runs no formulas: values go out as they are, in the kind's column order."""

    columns: tuple[str, ...]

    def __call__(self, rows: list[Row]) -> str:
        return "".join(
            json.dumps({name: row.get(name) for name in self.columns}, ensure_ascii=False) + "\n"
            for row in rows
        )


@dataclass(frozen=True)
class XlsxRender:
    columns: tuple[str, ...]
    dates: frozenset[str] = frozenset()

    def __call__(self, rows: list[Row]) -> list[list[Any]]:
        convert = [
            _xlsx_time if name in TIME_ATTRIBUTES else _xlsx_date if name in self.dates else _xlsx_cell
            for name in self.columns
        ]
        return [[to_cell(row.get(name)) for name, to_cell in zip(self.columns, convert, strict=True)]
                for row in map(flat_row, rows)]


class Sink(Protocol):
    def begin(self, kind: str) -> Any:
        """Start a kind; answers the renderer for its rows."""

    def write(self, rendered: Any) -> None: ...
    def close(self) -> None: ...


class CsvSink:
    """One header for every kind exported (each kind's columns, each name once)."""

    def __init__(self, stream: IO[str], kinds: Iterable[str]):
        self._stream = stream
        self._render = CsvRender(flat_columns(union_columns(kinds)))
        stream.write(BYTE_ORDER_MARK)
        csv.writer(stream, lineterminator="\r\n").writerow(column_labels(self._render.columns))

    def begin(self, kind: str) -> CsvRender:
        return self._render

    def write(self, rendered: str) -> None:
        self._stream.write(rendered)

    def close(self) -> None:
        pass


class JsonLinesSink:
    def __init__(self, stream: IO[str]):
        self._stream = stream

    def begin(self, kind: str) -> JsonLinesRender:
        return JsonLinesRender(columns_for(kind))

    def write(self, rendered: str) -> None:
        self._stream.write(rendered)

    def close(self) -> None:
        pass


class XlsxSink:
    """A sheet per kind with a frozen, filterable header; openpyxl's write-only mode streams rows
    to disk instead of holding them. Column widths come from the header and the first chunk."""

    def __init__(self, target: Any):
        self._target = target
        self._book = Workbook(write_only=True)
        self._sheet: Any = None
        self._render: XlsxRender | None = None
        self._rows = 0

    def begin(self, kind: str) -> XlsxRender:
        self._finish_sheet()
        self._render = XlsxRender(flat_columns(columns_for(kind)), frozenset(date_columns(kind)))
        self._sheet = self._book.create_sheet(title=kind[:XLSX_SHEET_TITLE_LIMIT])
        self._sheet.freeze_panes = "A2"
        self._rows = 0
        return self._render

    def write(self, rendered: list[list[Any]]) -> None:
        if not rendered:
            return
        if not self._rows:
            self._start_sheet(rendered)
        for cells in rendered:
            self._sheet.append([self._text(value) if type(value) is str and value[:1] == "=" else value
                                for value in cells])
        self._rows += len(rendered)

    def close(self) -> None:
        self._finish_sheet()
        if not self._book.worksheets:
            self._book.create_sheet(title="empty")
        self._book.save(self._target)

    def _text(self, value: str) -> WriteOnlyCell:
        """openpyxl takes text starting with = for a formula; this cell says it is text."""
        cell = WriteOnlyCell(self._sheet, value=value)
        cell.data_type = "s"
        return cell

    def _start_sheet(self, first: list[list[Any]]) -> None:
        """Widths must precede the rows in the file: set them from the header and the first rows."""
        assert self._render is not None
        labels = column_labels(self._render.columns)
        for index, (name, label) in enumerate(zip(self._render.columns, labels, strict=True)):
            if name in TIME_ATTRIBUTES:
                width = max(XLSX_TIME_WIDTH, len(label) + 2)
            elif name in self._render.dates:
                width = max(XLSX_DATE_WIDTH, len(label) + 2)
            else:
                longest = max((len(cell_text(cells[index])) for cells in first), default=0)
                width = min(max(len(label), longest) + 2, XLSX_WIDTH_LIMIT)
            self._sheet.column_dimensions[get_column_letter(index + 1)].width = width
        self._sheet.append(list(labels))
        self._rows = 1

    def _finish_sheet(self) -> None:
        if self._sheet is None or self._render is None:
            return
        if not self._rows:
            self._start_sheet([])
        last = get_column_letter(len(self._render.columns))
        self._sheet.auto_filter.ref = f"A1:{last}{self._rows}"


def sink_for(file_format: str, stream: IO[Any], kinds: Iterable[str]) -> Sink:
    """The writer of one format onto a stream (binary for XLSX, text for the others)."""
    if file_format == "xlsx":
        return XlsxSink(stream)
    if file_format == "jsonl":
        return JsonLinesSink(stream)
    return CsvSink(stream, kinds)
