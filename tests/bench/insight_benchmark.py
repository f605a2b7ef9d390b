"""`make bench`: the insight page over 1,000 and over 1,000,000 submissions' worth of counters,
beside a floor of one Query on the aggregate items.

The counters are what the stream would have kept for that many submissions (forms of every kind,
votes, cases moved, rated and followed up) spread over two years, written as the daily aggregate
items. The page (drawn by the console's own door, signed in, warm) reads them with one Query per
period, so its time must grow with the days shown (4 or 52 weeks and the period before), not with
the submissions counted. The floor: that one Query of the same range with boto3, nothing drawn.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aftercare_local import dynamodb as dynamodb_local
from chalicelib.console.exchange import Request
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.forms import FORMS
from chalicelib.insight import counters
from chalicelib.insight.counters import Adds
from chalicelib.insight.report import Period
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.store import items
from chalicelib.store.table import to_dynamodb

from tests.bench.__main__ import local_client
from tests.bench.cases_benchmark import best_page, signed_in_console
from tests.bench.export_benchmark import local_environment
from tests.bench.figures import Figure
from tests.bench.server_benchmark import free_port

DAYS = 730
TODAY = datetime.now(UTC).date()
PAGES = tuple(f"/guides/page-{number}/" for number in range(40))


def counted(submissions: int, seed: int = 7) -> Adds:
    """The counters `submissions` forms and votes would leave, with their cases' moves, over DAYS days."""
    chance = random.Random(seed)  # noqa: S311 - a benchmark's mix
    kinds, products = list(FORMS), sorted(catalog().product_names())
    policy = case_policy()
    total: Adds = {}
    for number in range(submissions):
        kind = kinds[number % len(kinds)]
        day = TODAY - timedelta(days=chance.randrange(DAYS))
        fields: dict[str, object] = {"product": chance.choice(products), "overall": chance.randint(1, 5),
                                     "speed_of_service": chance.randint(1, 5), "page": chance.choice(PAGES),
                                     "helpful": chance.random() < 0.6}
        for name, field in counters.CHOICES.items():
            if name == kind:
                fields[field] = chance.choice(sorted(counters._choices(kind)))
        stamp = f"{day.isoformat()}T10:00:00.000000Z"
        counters.merge(total, counters.of_submission({"kind": kind, "created_at": stamp, "fields": fields}))
        if kind in policy.lifecycles:
            cases = total.setdefault((day.isoformat(), counters.CASES_SECTION), {})
            product = fields["product"]
            for status in list(policy.lifecycle(kind).statuses)[1:]:
                name = counters.name("move", kind, product, status)
                cases[name] = cases.get(name, 0) + 1
            for name in (counters.name("first", kind, chance.choice(counters.BUCKETS)),
                         counters.name("close", kind, chance.choice(counters.BUCKETS)),
                         counters.name("promise", kind, chance.choice(["kept", "kept", "missed"])),
                         counters.name("caserate", kind, product, chance.randint(1, 5)),
                         counters.name("followup", kind)):
                cases[name] = cases.get(name, 0) + 1
    return total


def load(settings: Settings, adds: Adds) -> int:
    table = settings.table()
    loaded = [{items.PARTITION_KEY: items.AGGREGATE_PARTITION, items.SORT_KEY: f"{day}#{section}", **counts}
              for (day, section), counts in adds.items()]
    for first in range(0, len(loaded), 500):
        table.put_all(loaded[first:first + 500])
    return len(loaded)


def floor_seconds(settings: Settings, period: Period, runs: int) -> float:
    """One Query of the aggregate items of the period and the one before, with boto3, best of `runs`."""
    client = settings.table().client
    low, high = period.previous().start.isoformat(), period.end.isoformat() + "~"
    best = float("inf")
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        pages = client.get_paginator("query").paginate(
            TableName=settings.table_name, KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues=to_dynamodb({":pk": items.AGGREGATE_PARTITION, ":low": low,
                                                   ":high": high}))
        read = sum(len(page["Items"]) for page in pages)
        best = min(best, time.perf_counter() - started)
    if not read:
        raise SystemExit("the floor read no aggregate item")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as scratch_dir, \
            dynamodb_local.running(free_port(), data_dir=None) as endpoint:
        key_dir = Path(scratch_dir) / "keys"
        ensure_local_keys(key_dir)
        for submissions in arguments.submissions:
            env = local_environment(endpoint, f"aftercare-insight-{submissions}", key_dir)
            settings = Settings.from_environ(env)
            # Made with boto3's own timeouts: the app's client gives up within seconds, and a busy
            # machine's DynamoDB Local may take longer to make a table.
            dynamodb_local.ensure_table(local_client(endpoint), settings.table_name)
            started = time.perf_counter()
            adds = counted(submissions)
            loaded = load(settings, adds)
            names = sum(len(counts) for counts in adds.values())
            print(f"{submissions:,} submissions' worth: {loaded:,} aggregate items, {names:,} counters, "
                  f"made and loaded in {time.perf_counter() - started:.0f} s", flush=True)
            console, headers = signed_in_console(settings)
            for weeks in (4, 52):
                request = Request("GET", "/staff/insight", {"weeks": str(weeks)}, headers)
                page, floor = [], []
                for _ in range(max(arguments.runs, 1)):
                    page.append(best_page(console, request, 1))
                    floor.append(floor_seconds(settings, Period.last_weeks(weeks, TODAY), 1))
                figure = Figure(f"insight page, {weeks} weeks, {submissions:,} submissions' worth", "ms",
                                [seconds * 1000 for seconds in page], [seconds * 1000 for seconds in floor],
                                n=f"up to {2 * 7 * weeks * len(counters.SECTIONS):,} aggregate items",
                                note="page drawn in-process and warm, a new desk per request as the console "
                                     "makes it; floor: one boto3 Query of the same items")
                lines.append(figure.line())
                print(lines[-1], flush=True)
    print()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
