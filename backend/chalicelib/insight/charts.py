"""The report's tables as charts: SVG drawn on the server, no script, no request to anyone else.

A bar chart draws the first number column of each row, a line chart one point per row (a week);
each bar and point is a link to the list behind it (the cell's link). Colours come from
`currentColor` and the console's CSS variables (with fallbacks), so a chart reads in light and
dark alike; the numbers are in the table the page draws beside it, and the SVG says so in its
title. Every text is escaped.
"""

from __future__ import annotations

from html import escape

from chalicelib.insight.report import Cell, Table

WIDTH = 640
BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 210
LINE_HEIGHT = 200
MARGIN = 28
LONGEST_LABEL = 34


def _short(text: str) -> str:
    return text if len(text) <= LONGEST_LABEL else text[: LONGEST_LABEL - 1] + "…"


def _measure(table: Table) -> int | None:
    """The first column whose cells hold numbers: what the chart draws."""
    for column in range(1, len(table.headings)):
        if any(len(row) > column and row[column].value is not None for row in table.rows):
            return column
    return None


def _link(cell: Cell, body: str, label: str) -> str:
    if not cell.link:
        return f"<g><title>{escape(label)}</title>{body}</g>"
    return (f'<a href="{escape(cell.link)}" aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f"{body}</a>")


def chart(table: Table) -> str:
    """The table drawn as an SVG (empty when it holds no number to draw)."""
    column = _measure(table)
    if column is None:
        return ""
    return _line(table, column) if table.chart == "line" else _bars(table, column)


def _frame(table: Table, height: int, body: str) -> str:
    label = f"{table.title}: chart of {table.headings[_measure(table) or 1]}; the numbers are in the table"
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="group" aria-label="{escape(label)}" focusable="false">'
            f"<title>{escape(label)}</title>{body}</svg>")


def _bars(table: Table, column: int) -> str:
    values = [row[column].value or 0.0 for row in table.rows]
    top = max([*values, 0.0]) or 1.0
    span = WIDTH - LABEL_WIDTH - 60
    parts = []
    for index, row in enumerate(table.rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        cell = row[column]
        width = max(1.0, span * (cell.value or 0.0) / top) if cell.value else 0.0
        label = f"{row[0].text}: {cell.text} ({table.headings[column]})"
        bar = (f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
               f'fill="currentColor"/>')
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.7:.1f}" text-anchor="end" '
                     f'fill="currentColor" font-size="13">{escape(_short(row[0].text))}</text>')
        parts.append(_link(cell, bar, label))
        parts.append(f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR_HEIGHT * 0.7:.1f}" '
                     f'fill="currentColor" font-size="13">{escape(cell.text)}</text>')
    height = GAP + len(table.rows) * (BAR_HEIGHT + GAP)
    return _frame(table, max(height, BAR_HEIGHT + 2 * GAP), "".join(parts))


def _line(table: Table, column: int) -> str:
    rows = table.rows
    values = [row[column].value for row in rows]
    known = [value for value in values if value is not None]
    top = max([*known, 0.0]) or 1.0
    plot = LINE_HEIGHT - 2 * MARGIN
    step = (WIDTH - 2 * MARGIN) / max(1, len(rows) - 1)

    def x(index: int) -> float:
        return MARGIN + index * step

    def y(value: float) -> float:
        return MARGIN + plot * (1 - value / top)

    points = [(x(i), y(value)) for i, value in enumerate(values) if value is not None]
    parts = [f'<line x1="{MARGIN}" y1="{MARGIN + plot}" x2="{WIDTH - MARGIN}" y2="{MARGIN + plot}" '
             f'stroke="currentColor" stroke-opacity="0.4"/>']
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="currentColor" '
                     f'stroke-width="2"/>')
    for index, row in enumerate(rows):
        cell = row[column]
        if cell.value is None:
            continue
        label = f"{row[0].text}: {cell.text} ({table.headings[column]})"
        dot = (f'<circle class="point" cx="{x(index):.1f}" cy="{y(cell.value):.1f}" r="5" '
               f'fill="currentColor"/>')
        parts.append(_link(cell, dot, label))
    for index in (0, len(rows) - 1):
        if rows:
            parts.append(f'<text x="{x(index):.1f}" y="{LINE_HEIGHT - 6}" text-anchor="middle" '
                         f'fill="currentColor" font-size="12">{escape(rows[index][0].text)}</text>')
    parts.append(f'<text x="{MARGIN}" y="{MARGIN - 8}" fill="currentColor" font-size="12">'
                 f"{escape(_top_words(top, rows, column))}</text>")
    return _frame(table, LINE_HEIGHT, "".join(parts))


def _top_words(top: float, rows: list[list[Cell]], column: int) -> str:
    texts = [row[column].text for row in rows if row[column].value == top]
    return f"highest: {texts[0]}" if texts else ""
