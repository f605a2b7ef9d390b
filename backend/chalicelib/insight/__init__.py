"""Figures kept as they happen, for the insight page and the weekly summary.

counters (what one stored item adds to the daily counters: pure, no personal data, no free
text), tally (adding them once per stream record, and rebuilding them from the table),
report (the figures of a period from the aggregate items alone: one Query, nothing decrypted),
charts (the figures as SVG bar and line charts, each bar a link to the list behind it),
summary (the managers' weekly email of the headline figures).
"""

__all__ = [
    "charts",
    "counters",
    "report",
    "summary",
    "tally",
]
