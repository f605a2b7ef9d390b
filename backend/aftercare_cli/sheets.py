"""CSV, JSON Lines and XLSX output, with spreadsheet formulas neutralised.

Rows are turned into output text (or cells) by a renderer that runs where the
rows were decrypted, in the export's worker processes; the sink in the main
process only writes what comes back, in order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from openpyxl import Workbook

from aftercare_cli.records import columns_for, union_columns

FORMATS = ("csv", "jsonl", "xlsx")
# OWASP "CSV injection": a cell starting with one of these may run as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_SHEET_TITLE_LIMIT = 31

Row = dict[str, Any]


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


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # most cells: skip the general conversion
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    return neutralise(cell_text(value))


def _xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return neutralise(cell_text(value))


@dataclass(frozen=True)
class CsvRender:
    columns: tuple[str, ...]

    def __call__(self, rows: list[Row]) -> str:
        text = io.StringIO()
        columns = self.columns
        csv.writer(text, lineterminator="\r\n").writerows(
            [_csv_cell(row.get(name)) for name in columns] for row in rows
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

    def __call__(self, rows: list[Row]) -> list[list[Any]]:
        return [[_xlsx_cell(row.get(name)) for name in self.columns] for row in rows]


class Sink(Protocol):
    def begin(self, kind: str) -> Any:
        """Start a kind; answers the renderer for its rows."""

    def write(self, rendered: Any) -> None: ...
    def close(self) -> None: ...


class CsvSink:
    """One header for every kind exported (each kind's columns, each name once)."""

    def __init__(self, stream: IO[str], kinds: Iterable[str]):
        self._stream = stream
        self._render = CsvRender(union_columns(kinds))
        csv.writer(stream, lineterminator="\r\n").writerow(self._render.columns)

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
    """A sheet per kind; openpyxl's write-only mode streams rows to disk instead of holding them."""

    def __init__(self, target: Any):
        self._target = target
        self._book = Workbook(write_only=True)
        self._sheet: Any = None

    def begin(self, kind: str) -> XlsxRender:
        render = XlsxRender(columns_for(kind))
        self._sheet = self._book.create_sheet(title=kind[:XLSX_SHEET_TITLE_LIMIT])
        self._sheet.append(list(render.columns))
        return render

    def write(self, rendered: list[list[Any]]) -> None:
        for cells in rendered:
            self._sheet.append(cells)

    def close(self) -> None:
        if not self._book.worksheets:
            self._book.create_sheet(title="empty")
        self._book.save(self._target)
