"""Staff export throughput and peak memory on 100,000 mixed submissions in DynamoDB Local.

Loads the rows (written the way Intake writes them, sealed with a local key)
into the benchmark's in-memory DynamoDB Local, then runs, in turn:

* the floor: a plain boto3 Query of the same kinds with the export's page
  size, printing each raw item, no decryption;
* the export: `aftercare export` to CSV, every personal field decrypted;
* the console's export job of the same rows (`console_export`): a handler's post of the
  downloads form, the job beside the console writing CSV to the local S3 engine, the page
  read until it is ready and the file fetched by its link; beside `aftercare export`.

Each runs as often as asked, alternately (the machine may be busy); every
run gives one ratio. Peak memory is the proportional set size (PSS) of the export's whole
process tree (main process, fork server and decrypting workers), sampled
from /proc every 50 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import s3 as s3_local
from aftercare_local.paths import REPO
from aftercare_local.processes import free_port
from chalicelib.forms import FORMS, InvalidSubmission
from chalicelib.intake.receiving import Intake
from chalicelib.rules.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.store.items import consent_items
from chalicelib.store.table import EXPORT_PAGE_SIZE, NewItem, StorageUnavailable, SubmissionTable

from tests.bench.figures import Figure
from tests.samples import payload_for, validated

TABLE = "aftercare-bench"
START = datetime.now(UTC) - timedelta(days=300)
CHUNK = 500
RUN_SECONDS = 1800
CONSENT_EVERY = 10  # one submission in ten opts in to marketing

FLOOR = """
import sys, boto3
client = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="eu-west-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
for kind in sys.argv[4:]:
    pages = client.get_paginator("query").paginate(
        TableName=sys.argv[2], IndexName="by-kind", Limit=int(sys.argv[3]),
        KeyConditionExpression="kind = :kind", ExpressionAttributeValues={":kind": {"S": kind}})
    for page in pages:
        for item in page["Items"]:
            print(item)
"""


class _Captured:
    """Stands in for the table so Intake's own items can be loaded in bulk."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def create_all(self, items: list[NewItem]) -> None:
        self.items.extend(new.item for new in items)
        for new in items:  # and the consent records the notifier makes of a submission's opt-ins
            self.items.extend(consent_items(new.item, data_policy().expires_at))


def usable_kinds() -> list[str]:
    kinds = []
    for kind, form in FORMS.items():
        try:
            validated(form, payload_for(form, START.date()), START.date())
        except InvalidSubmission:
            continue
        kinds.append(kind)
    return kinds


def make_items(job: tuple[str, list[str], int, int]) -> list[dict[str, Any]]:
    """Items for submissions first..last (run in a worker process: sealing is CPU work)."""
    key_dir, kinds, first, last = job
    settings = Settings(table_name=TABLE, local_key_dir=Path(key_dir))
    captured = _Captured()
    intake = Intake(table=captured, cipher=settings.cipher(),  # type: ignore[arg-type]
                    hasher=settings.subject_hasher(), policy=data_policy())
    for number in range(first, last):
        form = FORMS[kinds[number % len(kinds)]]
        moment = START + timedelta(seconds=number * 200)
        intake.clock = lambda moment=moment: moment  # type: ignore[misc]
        body = payload_for(form, moment.date(), email=f"person{number}@example.com",
                           name=f"Person {number}", marketing_consent=number % CONSENT_EVERY == 0)
        if "serial_number" in body:
            # A serial is claimed once: the samples' one example serial would
            # repeat its claim item inside a batch write, which DynamoDB refuses.
            body["serial_number"] = unique_serial(body["serial_number"], number)
        intake.receive(form, validated(form, body, moment.date()))
    return captured.items


def unique_serial(example: str, number: int) -> str:
    """The example serial with its last digits replaced by the submission's number.

    Every catalog pattern ends in at least five digits, so the result still
    fits its product, and no two submissions below 100,000 share it.
    """
    return f"{example[:-5]}{number % 100_000:05d}"


def put_patiently(table: SubmissionTable, items: list[dict[str, Any]]) -> None:
    """A batch written again when DynamoDB Local, on a busy machine, answers too late (puts repeat
    safely); a fourth failure stops the benchmark."""
    for attempt in range(4):
        try:
            table.put_all(items)
            return
        except StorageUnavailable:
            if attempt == 3:
                raise
            time.sleep(2 ** attempt)


def load(table: SubmissionTable, key_dir: Path, kinds: list[str], rows: int) -> int:
    jobs = [(str(key_dir), kinds, first, min(first + CHUNK, rows)) for first in range(0, rows, CHUNK)]
    written = 0
    with multiprocessing.get_context("forkserver").Pool(os.cpu_count() or 1) as pool, \
            ThreadPoolExecutor(8) as writers:
        pending = []
        for items in pool.imap(make_items, jobs):
            written += len(items)
            for start in range(0, len(items), 100):
                pending.append(writers.submit(put_patiently, table, items[start:start + 100]))
            while len(pending) > 64:
                pending.pop(0).result()
        for future in pending:
            future.result()
    return written


def _tree_memory_mb(root: int) -> float:
    """Proportional set size of a process and its descendants: shared pages counted once in all."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    cpu_seconds: float  # user + system of the process and its workers: what a busy machine rations


def timed(command: list[str], env: dict[str, str], output: Path) -> Run:
    """Wall time, peak process-tree memory and CPU time of one run, its stdout to a file."""
    peak = 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with output.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.PIPE, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_memory_mb(process.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, errors = process.communicate(timeout=RUN_SECONDS)
        finally:
            done.set()
            sampler.join()
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {errors.decode(errors='replace')[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(seconds, peak, cpu)


def local_environment(endpoint: str, table: str, key_dir: Path) -> dict[str, str]:
    """What the staff command line and the floor need to work on a benchmark's table."""
    return {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "eu-west-1", "AFTERCARE_TABLE_NAME": table,
            "AFTERCARE_DYNAMODB_ENDPOINT": endpoint, "AFTERCARE_LOCAL_KEY_DIR": str(key_dir)}


def measure_export(endpoint: str, key_dir: Path, rows: int, runs: int) -> tuple[Figure, str, Figure, str]:
    """Load `rows` submissions, then time the floor, the export and the console's export job
    `runs` times each."""
    kinds = usable_kinds()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        env = local_environment(endpoint, TABLE, key_dir)
        settings = Settings.from_environ(env)
        dynamodb_local.ensure_table(settings.table().client, TABLE)
        print(f"loading {rows:,} submissions of {', '.join(kinds)} ...", flush=True)
        started = time.perf_counter()
        items = load(settings.table(), key_dir, kinds, rows)
        print(f"loaded {items:,} items ({rows:,} submissions and their consents) "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        floor_command = [python, "-c", FLOOR, endpoint, TABLE, str(EXPORT_PAGE_SIZE), *kinds]
        export_command = [python, "-m", "aftercare_cli.main", "export", "-o", str(scratch / "out.csv"),
                          *[option for kind in kinds for option in ("--kind", kind)]]
        timed(floor_command, env, scratch / "warm.txt")  # DynamoDB Local's JIT warms up
        floors, exports = [], []
        for run in range(runs):
            floors.append(timed(floor_command, env, scratch / "floor.txt"))
            exports.append(timed(export_command, env, scratch / "export.log"))
            print(f"export run {run + 1}: floor {floors[-1].seconds:.1f} s, export "
                  f"{exports[-1].seconds:.1f} s ({exports[-1].peak_mb:.0f} MB), "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
        exported = sum(1 for _ in (scratch / "out.csv").open(encoding="utf-8", newline="")) - 1
        printed = sum(1 for _ in (scratch / "floor.txt").open())
        consoles = []
        with s3_local.running(free_port(), None) as bucket:
            console_env = {**env, "AFTERCARE_S3_ENDPOINT": bucket.endpoint,
                           "AFTERCARE_EXPORTS_BUCKET": bucket.bucket}
            console_command = [python, "-m", "tests.bench.console_export"]
            for run in range(runs):
                consoles.append(timed(console_command, console_env, scratch / "console.txt"))
                print(f"console export run {run + 1}: {consoles[-1].seconds:.1f} s "
                      f"({consoles[-1].peak_mb:.0f} MB), load average {os.getloadavg()[0]:.1f}", flush=True)
        through_console = int((scratch / "console.txt").read_text().strip() or 0)
    if exported != printed or exported != rows or through_console != rows:
        raise SystemExit(f"{rows} submissions: the export wrote {exported} rows, the floor printed "
                         f"{printed}, the console's export job {through_console}")
    figure = Figure(
        "staff export rows/s (floor: raw boto3 Query)", "rows/s",
        [rows / run.seconds for run in exports], [rows / run.seconds for run in floors],
        f"{rows:,} rows",
    )
    cpu_export = min(run.cpu_seconds for run in exports) * 1000 / rows
    cpu_floor = min(run.cpu_seconds for run in floors) * 1000 / rows
    memory = (f"staff export peak memory: {max(run.peak_mb for run in exports):.0f} MB / floor "
              f"{max(run.peak_mb for run in floors):.0f} MB (whole process tree, PSS; "
              f"client CPU per row: export {cpu_export:.3f} ms, floor {cpu_floor:.3f} ms)")
    # Beside `aftercare export` of the same rows (not a floor: the command decrypts on every
    # CPU, the job in its one Lambda thread), each console run paired with an export run.
    console_figure = Figure(
        "console export job rows/s (beside: aftercare export)", "rows/s",
        [rows / run.seconds for run in consoles], [rows / run.seconds for run in exports],
        f"{rows:,} rows, CSV, through the local S3 engine", against="aftercare export",
    )
    console_memory = (f"console export job peak memory: {max(run.peak_mb for run in consoles):.0f} MB / "
                      f"aftercare export {max(run.peak_mb for run in exports):.0f} MB "
                      "(whole process tree, PSS)")
    return figure, memory, console_figure, console_memory
