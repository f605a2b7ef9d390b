"""One printed line per measure: project / floor / ratio, with n and the spread of the runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A measure of the project beside its floor, one (project, floor) pair per run.

    The ratio is project / floor for times and throughputs alike, as the issue's table reads.
    """

    measure: str
    unit: str
    project: list[float]
    floor: list[float]
    n: str
    note: str = ""  # anything more the line should say, after the spread
    against: str = "floor"  # what the project is measured beside

    def ratios(self) -> list[float]:
        return [p / f if f else float("inf") for p, f in zip(self.project, self.floor, strict=True)]

    def line(self) -> str:
        ratios = self.ratios()
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}x" if len(ratios) > 1 else "one run"
        return (
            f"{self.measure}: {statistics.median(self.project):,.2f} {self.unit} / "
            f"{self.against} {statistics.median(self.floor):,.2f} {self.unit} / "
            f"{statistics.median(ratios):.2f}x {self.against} "
            f"(n={self.n}; {len(ratios)} runs: {spread})"
            f"{f'; {self.note}' if self.note else ''}"
        )
