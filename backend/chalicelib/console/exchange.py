"""A request to the console and its answer, as the door and its rooms read and write them,
and what a room may ask of the console (its desk, its exports) without importing the door."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl

from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.export_jobs import ExportJobs


@dataclass(frozen=True)
class Request:
    """One request as the door reads it, whichever way it came (Lambda function URL, local server)."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    def form(self) -> dict[str, str]:
        if not (self.headers.get("content-type") or "").startswith("application/x-www-form-urlencoded"):
            return {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)


class Services(Protocol):
    """What the rooms use of the console: a desk for the person acting, and exports."""

    @property
    def desk_for(self) -> Callable[[str], StaffDesk]: ...

    @property
    def export_jobs(self) -> Callable[[], ExportJobs]: ...

    @property
    def start_export(self) -> Callable[[str, str], None]: ...
