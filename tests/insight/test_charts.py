"""The charts: SVG with every text escaped, a link on each bar or point that has one, bars in
proportion, nothing drawn for a table without numbers."""

from __future__ import annotations

import re

from chalicelib.insight.charts import chart
from chalicelib.insight.report import Cell, Table


def table(kind: str = "bar") -> Table:
    return Table("t", 'Title "quoted" <b>', ["Row", "Count"], [
        [Cell("<script>alert(1)</script>"), Cell("10", 10.0, "/staff/submissions?kind=a&from=1")],
        [Cell("plain"), Cell("5", 5.0)],
        [Cell("none"), Cell("–")]], chart=kind)


def test_bars_are_in_proportion_escaped_and_linked():
    svg = chart(table())
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    label = "Title &quot;quoted&quot; &lt;b&gt;: chart of Count; the numbers are in the table"
    assert f'aria-label="{label}"' in svg
    widths = [float(width) for width in re.findall(r'class="bar"[^>]* width="([0-9.]+)"', svg)]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    links = re.findall(r'<a href="([^"]+)"', svg)
    assert links == ["/staff/submissions?kind=a&amp;from=1"]


def test_a_line_has_a_point_for_each_number_and_no_table_no_chart():
    svg = chart(table("line"))
    assert svg.count('class="point"') == 2 and "<polyline" in svg
    assert chart(Table("e", "Empty", ["Row", "Count"], [[Cell("a"), Cell("–")]])) == ""
