"""Lists staff read: an aligned table on a terminal, JSON lines when piped or asked for."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

import click

LIST_FORMATS = ("auto", "table", "jsonl")
FORMAT_OPTION = click.option(
    "--format", "list_format", type=click.Choice(LIST_FORMATS), default="auto", show_default=True,
    help="table on a terminal and JSON lines when piped (auto), or either one.",
)
CELL_LIMIT = 40
PROGRESS_EVERY_SECONDS = 0.25
# The stored UTC time (2026-06-01T09:30:00.000000Z) reads as 2026-06-01 09:30 in a table.
STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def wants_table(list_format: str) -> bool:
    return list_format == "table" or (list_format == "auto" and sys.stdout.isatty())


def show(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, str], list_format: str,
         limits: Mapping[str, int] | None = None) -> int:
    """Print the rows (table columns: key -> heading; `limits`: a column's most characters).

    Answers how many rows there were.
    """
    if not wants_table(list_format):
        shown = 0
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
            shown += 1
        return shown
    # A table needs every row for its widths: lists staff read are short (open cases, a trail).
    limits = limits or {}
    cells = [[_cell(row.get(key), limits.get(key, CELL_LIMIT)) for key in columns] for row in rows]
    headings = list(columns.values())
    widths = [max([len(heading), *(len(line[i]) for line in cells)]) for i, heading in enumerate(headings)]
    click.echo(_line(headings, widths))
    click.echo(_line(["-" * width for width in widths], widths))
    for line in cells:
        click.echo(_line(line, widths))
    return len(cells)


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _cell(value: Any, limit: int) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "-"
    text = " ".join(str(value).split())
    if STORED_TIME.fullmatch(text):
        return f"{text[:10]} {text[11:16]}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def with_article(noun: str) -> str:
    """'an enquiry', 'a complaint': for messages that name a kind."""
    words = noun.replace("_", " ")
    return ("an " if words[:1].lower() in tuple("aeiou") else "a ") + words


class TerminalProgress:
    """A row counter on stderr, only when stderr is a terminal (quiet when piped or logged)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.rows = 0
        self._started = time.monotonic()
        self._shown = 0.0

    @classmethod
    def for_terminal(cls) -> TerminalProgress:
        return cls(sys.stderr.isatty())

    def step(self, kind: str, rows: int) -> None:
        self.rows += rows
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_SECONDS:
            self._shown = now
            rate = self.rows / max(now - self._started, 1e-6)
            sys.stderr.write(f"\r{self.rows:>10,} rows  ({rate:,.0f}/s)  {kind:<24}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
