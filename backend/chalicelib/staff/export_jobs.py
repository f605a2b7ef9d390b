"""Exports as jobs: the console starts one, it runs off the request, and a short-lived link fetches it.

A Lambda answer holds at most 6 MB, so a download is written to a private bucket and fetched from
there. A job is two objects in that bucket: `export-jobs/<id>.json`, its state (who asked, the
filter, rows so far, done or failed; no personal data), and `exports/<id>.<ending>`, the file.
The bucket expires both within a day. The export itself is the staff desk's one export
operation (the same columns, typing and formula safety as `aftercare export`), audited there.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.exceptions import StaffError, SubjectRequestError
from chalicelib.staff.export import Window
from chalicelib.staff.pipeline import make_pool
from chalicelib.staff.sheets import FORMATS, sink_for
from chalicelib.store.bucket import AttachmentBucket, NoSuchObject

STATE_FOLDER = "export-jobs/"
FILE_FOLDER = "exports/"
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
# The page reloads to show progress; the state is written at most this often while rows arrive.
PROGRESS_EVERY_SECONDS = 2.0
LINK_SECONDS = 60
MAX_STATE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the command's filter (kinds, received between two days, a status, a product)
    and a format."""

    kinds: list[str]
    since: str = ""  # YYYY-MM-DD
    until: str = ""
    status: str = ""
    file_format: str = "xlsx"
    product: str = ""  # a catalog product id: only the kinds that ask for one, that product's items

    def window(self) -> Window:
        def day(text: str) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return Window.of(day(self.since), day(self.until))


@dataclass
class ExportJob:
    job_id: str
    actor: str
    request: ExportRequest
    status: str = "waiting"  # waiting, running, done, failed
    rows: int = 0
    created_at: str = ""
    finished_at: str = ""
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def file_key(self) -> str:
        return f"{FILE_FOLDER}{self.job_id}.{self.request.file_format}"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class _Progress:
    """The desk's export progress, written to the job's state now and then, for the page to show."""

    def __init__(self, jobs: ExportJobs, job: ExportJob):
        self.jobs, self.job = jobs, job
        self.written_at = 0.0

    def step(self, kind: str, rows: int) -> None:
        self.job.rows += rows
        if time.monotonic() - self.written_at >= PROGRESS_EVERY_SECONDS:
            self.written_at = time.monotonic()
            self.jobs.save(self.job)

    def finish(self) -> None:
        pass


@dataclass
class ExportJobs:
    """The jobs in one bucket; the clock and the id maker come in, as everywhere in the domain."""

    bucket: AttachmentBucket
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], str] = field(default=lambda: secrets.token_hex(10))
    # How long a job may run (its function's timeout): one not finished that long after it was
    # made was cut off (or never started), and nothing else will ever mark it failed.
    cut_off_after: timedelta | None = None

    def create(self, actor: str, request: ExportRequest) -> ExportJob:
        if request.file_format not in FORMATS:
            raise SubjectRequestError(
                f"{request.file_format} is not a format we write: choose {', '.join(FORMATS)}")
        if not request.kinds:
            raise SubjectRequestError("choose at least one kind to export")
        job = ExportJob(self.new_id(), actor, request, created_at=self.clock().isoformat(timespec="seconds"))
        self.save(job)
        return job

    def save(self, job: ExportJob) -> None:
        state = json.dumps(asdict(job), separators=(",", ":")).encode()
        self.bucket.write(f"{STATE_FOLDER}{job.job_id}.json", state, content_type="application/json")

    def load(self, job_id: str, actor: str) -> ExportJob:
        """The job, for the person who started it only; anyone else is told it does not exist."""
        if not job_id.isalnum():
            raise SubjectRequestError("there is no such export")
        try:
            raw, _ = self.bucket.read(f"{STATE_FOLDER}{job_id}.json", limit=MAX_STATE_BYTES)
        except NoSuchObject:
            raise SubjectRequestError("there is no such export (exports are kept for a day)") from None
        state = json.loads(raw)
        job = ExportJob(**{**state, "request": ExportRequest(**state["request"])})
        if job.actor != actor:
            raise SubjectRequestError("there is no such export")
        return self._cut_off(job)

    def _cut_off(self, job: ExportJob) -> ExportJob:
        """The job as the page shows it: failed, once older than the time it may run unfinished."""
        if job.finished or self.cut_off_after is None or not job.created_at:
            return job
        if self.clock() - datetime.fromisoformat(job.created_at) <= self.cut_off_after:
            return job
        job.status = "failed"
        job.message = "it ran longer than an export may and was stopped; start it again"
        return job

    def run(self, desk: StaffDesk, job_id: str) -> ExportJob:
        """Write the export to a file on this machine's disk, then to the bucket; the state says how far."""
        job = self.load(job_id, desk.actor)
        if job.status != "waiting":
            return job  # started already (a retried invocation): never twice
        job.status = "running"
        self.save(job)
        request = job.request
        try:
            with tempfile.TemporaryDirectory(prefix="aftercare-export-") as scratch:
                path = Path(scratch) / f"export.{request.file_format}"
                stream: IO[Any] = (path.open("wb") if request.file_format == "xlsx"
                                   else path.open("w", encoding="utf-8", newline=""))
                with stream:
                    pool = make_pool(desk.context.settings, 1)  # a Lambda cannot fork: decrypt inline
                    try:
                        counts = desk.export(
                            request.kinds, request.window(), request.status or None,
                            sink_for(request.file_format, stream, request.kinds), pool=pool, in_flight=2,
                            progress=_Progress(self, job), file_format=request.file_format,
                            described={"since": request.since, "until": request.until, "door": "console"},
                            product=request.product or None,
                        )
                    finally:
                        pool.shutdown(wait=True, cancel_futures=True)
                with path.open("rb") as written:  # sent as read: a large export is never in memory
                    self.bucket.write(job.file_key, written, content_type=CONTENT_TYPES[request.file_format])
        except StaffError as problem:
            job.status, job.message = "failed", str(problem)
        except Exception as error:  # noqa: BLE001 - the page must say it failed, not wait for ever
            job.status, job.message = "failed", f"the export stopped ({type(error).__name__}); start it again"
        else:
            job.status, job.rows, job.counts = "done", sum(counts.values()), dict(counts)
        job.finished_at = self.clock().isoformat(timespec="seconds")
        self.save(job)
        return job

    def link(self, job: ExportJob) -> str:
        if job.status != "done":
            raise SubjectRequestError("this export is not ready")
        made = job.created_at[:10]
        name = f"aftercare-{'-'.join(job.request.kinds) if len(job.request.kinds) < 3 else 'export'}-{made}"
        return self.bucket.read_link(job.file_key, seconds=LINK_SECONDS,
                                     file_name=f"{name}.{job.request.file_format}",
                                     content_type=CONTENT_TYPES[job.request.file_format], download=True)

