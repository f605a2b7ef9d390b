"""`make bench`: `aftercare cases` over 10,000 open cases in DynamoDB Local, beside a raw Query floor.

The cases are loaded as Intake lays them out (on the sparse open-cases index,
sealed personal fields stand-ins: the list never opens them), with closed
cases beside them that the index must never read. Then, in turn and twice,
the floor (a plain boto3 Query of the open-cases index printing each item) and
`aftercare cases` piped (JSON lines: promise dates, overdue first, audited).
The best run of each counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aftercare_local import dynamodb as dynamodb_local
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.forms import FORMS
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items
from chalicelib.store.table import EXPORT_PAGE_SIZE, OPEN_CASES_INDEX

from tests.bench.export_benchmark import local_environment, timed
from tests.bench.server_benchmark import free_port

TABLE = "aftercare-cases-bench"
NOW = datetime.now(UTC)

FLOOR = """
import sys, boto3
client = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="eu-west-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
for kind in sys.argv[5:]:
    pages = client.get_paginator("query").paginate(
        TableName=sys.argv[2], IndexName=sys.argv[3], Limit=int(sys.argv[4]),
        KeyConditionExpression="case_queue = :kind", ExpressionAttributeValues={":kind": {"S": kind}})
    for page in pages:
        for item in page["Items"]:
            print(item)
"""


def case_items(count: int, *, closed: bool) -> list[dict[str, object]]:
    policy = case_policy()
    kinds = list(policy.lifecycles)
    made = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        lifecycle = policy.lifecycle(kind)
        created = NOW - timedelta(hours=number % 900)
        status = "closed" if closed else lifecycle.open_statuses[number % len(lifecycle.open_statuses)]
        item = items.submission_item(
            kind=kind, reference=f"{FORMS[kind].reference_prefix}-{'C' if closed else 'O'}{number:08d}",
            created=created, status=status, expires=NOW + timedelta(days=400), subject=f"s{number}",
            sealed=b"sealed", fields={}, queue=None if closed else kind,
        )
        item[items.HANDLER_ATTRIBUTE] = f"Handler {number % 7}" if number % 3 else None
        made.append(item)
    return made


def signed_in_console(settings: Settings) -> tuple[Any, dict[str, str]]:
    """The console's own door on the benchmark's table, and a signed-in handler's request headers
    (no provider is asked)."""
    from chalicelib.console.door import Console
    from chalicelib.console.session import SESSION_COOKIE, seal_session, start_session
    from chalicelib.console.signin import HttpAnswer, StaffIdentity, StaffSignIn
    from chalicelib.staff.desk import StaffDesk

    secret = b"bench" * 8
    issuer = "http://127.0.0.1:9"
    discovery = json.dumps({"issuer": issuer, "authorization_endpoint": issuer + "/auth",
                            "token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks"}).encode()
    signin = StaffSignIn(issuer, "bench", issuer + "/staff/callback", lambda *_: HttpAnswer(200, discovery))
    console = Console(lambda actor: StaffDesk.for_actor(settings, actor), signin, secret, "http://127.0.0.1:9")
    session = start_session(StaffIdentity("bench", "bench@shop.example", ("handlers",)), time.time())
    return console, {"host": "127.0.0.1:9", "cookie": f"{SESSION_COOKIE}={seal_session(session, secret)}"}


def best_page(console: Any, request: Any, runs: int) -> float:
    """The best time of `runs` answers to one console request (each must be a page)."""
    seconds = []
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        answer = console.handle(request)
        seconds.append(time.perf_counter() - started)
        if answer.status != 200:
            raise SystemExit(f"the console answered {answer.status} for {request.path}")
    return min(seconds)


def console_pages(env: dict[str, str], runs: int) -> tuple[float, float, int]:
    """The console's queue page over every open case, and one case page, each the best of `runs`,
    drawn by the console's own door with a signed-in handler's session."""
    from chalicelib.console.exchange import Request
    from chalicelib.intake.receiving import Intake
    from chalicelib.rules.policy import data_policy

    from tests.samples import payload_for, validated

    settings = Settings.from_environ(env)
    form = FORMS["complaint"]
    intake = Intake(table=settings.table(), cipher=settings.cipher(), hasher=settings.subject_hasher(),
                    policy=data_policy(), clock=lambda: NOW)
    submission = validated(form, payload_for(form, NOW.date()), NOW.date())
    reference = intake.receive(form, submission, None).reference
    console, headers = signed_in_console(settings)
    queue = best_page(console, Request("GET", "/staff/cases", {"queue": "open"}, headers), runs)
    page = console.handle(Request("GET", "/staff/cases", {"queue": "open"}, headers)).body.decode()
    shown = page.count('<a href="/staff/cases/')
    return queue, best_page(console, Request("GET", f"/staff/cases/{reference}", {}, headers), runs), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--closed", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    arguments = parser.parse_args()
    kinds = list(case_policy().lifecycles)
    with tempfile.TemporaryDirectory() as scratch_dir, \
            dynamodb_local.running(free_port(), data_dir=None) as endpoint:
        scratch = Path(scratch_dir)
        ensure_local_keys(scratch / "keys")
        env = local_environment(endpoint, TABLE, scratch / "keys")
        table = Settings.from_environ(env).table()
        dynamodb_local.ensure_table(table.client, TABLE)
        started = time.perf_counter()
        for closed, count in ((False, arguments.cases), (True, arguments.closed)):
            loaded = case_items(count, closed=closed)
            for first in range(0, len(loaded), 1000):
                table.put_all(loaded[first:first + 1000])
        print(f"loaded {arguments.cases:,} open and {arguments.closed:,} closed cases "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        floor = [sys.executable, "-c", FLOOR, endpoint, TABLE, OPEN_CASES_INDEX, str(EXPORT_PAGE_SIZE),
                 *kinds]
        listing = [sys.executable, "-m", "aftercare_cli.main", "cases"]
        timed(floor, env, scratch / "warm.txt")
        floors, listings = [], []
        for run in range(arguments.runs):
            floors.append(timed(floor, env, scratch / "floor.txt"))
            listings.append(timed(listing, env, scratch / "cases.jsonl"))
            print(f"run {run + 1}: floor {floors[-1].seconds:.2f} s, aftercare cases "
                  f"{listings[-1].seconds:.2f} s", flush=True)
        queue_seconds, case_seconds, shown = console_pages(env, arguments.runs)
        listed = [json.loads(line) for line in (scratch / "cases.jsonl").open(encoding="utf-8")]
        printed = sum(1 for _ in (scratch / "floor.txt").open())
    overdue = sum(row["overdue"] for row in listed)
    report = {
        "open_cases": len(listed),
        "overdue": overdue,
        "floor_seconds": round(min(run.seconds for run in floors), 2),
        "cases_seconds": round(min(run.seconds for run in listings), 2),
        "cases_peak_mb": round(max(run.peak_mb for run in listings)),
        "console_queue_page_seconds": round(queue_seconds, 2),
        "console_queue_rows": shown,
        "console_case_page_seconds": round(case_seconds, 3),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    cases_seconds = report["cases_seconds"]
    print(f"console queue page, {len(listed):,} open cases: {queue_seconds:.2f} s / aftercare cases "
          f"{cases_seconds:.2f} s / {queue_seconds / max(cases_seconds, 1e-9):.2f}x "
          f"(page drawn in-process and warm; the command's time includes starting Python)")
    print(f"console case page: {case_seconds * 1000:.0f} ms (one complaint with its history, decrypted)")
    if len(listed) != printed or len(listed) != arguments.cases:
        raise SystemExit(f"listed {len(listed)}, the floor printed {printed}, loaded {arguments.cases}")
    if any(row["overdue"] for row in listed[overdue:]) or not all(row["overdue"] for row in listed[:overdue]):
        raise SystemExit("overdue cases are not listed first")


if __name__ == "__main__":
    main()
