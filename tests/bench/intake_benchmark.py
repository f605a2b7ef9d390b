"""Intake latency beside a naive handler, KMS calls per submission, and cold start.

* Latency: the app's POST /enquiries and the floor's (tests/bench/floor, one
  conditional put_item) on Chalice's in-process test client over moto, one
  request of each in turn so both see the same machine. The app's log lines
  are formatted as usual but written to /dev/null: a terminal's speed is not
  the function's (in Lambda they go to CloudWatch).
* KMS calls: every KMS operation the app makes over all those requests,
  counted from a cold container, per 1,000 submissions.
* Cold start: a fresh interpreter that imports the app and answers its first
  request, beside one that imports boto3 and makes one DynamoDB client (the
  least any function here must do), timed inside the process. The app's code
  carries its bytecode, as the Lambda package does (infra/deploy.py); the
  floor's boto3 has its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local.paths import BACKEND, REPO

from tests.bench.figures import Figure
from tests.bench.kms_calls import counting_kms_calls

FLOOR_DIR = Path(__file__).parent / "floor"
REGION = "eu-west-1"
PROJECT_TABLE = "aftercare-test"  # the app's `test` stage names it
FLOOR_TABLE = "aftercare-bench-floor"  # the floor's own config names it
# moto keeps every item and stream record in this process, and copies the
# whole table for a transaction (DynamoDB does neither): fresh tables every so
# many requests keep that state, and the garbage collector's walks over it,
# from growing into either app's figures.
TABLE_RESET_EVERY = 20
JSON_HEADERS = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}


def enquiry(number: int) -> str:
    return json.dumps({
        "name": f"Person {number}",
        "email": f"person{number}@example.com",
        "topic": "installation",
        "message": "Which wall bracket fits the Vista 55?",
        "marketing_consent": number % 10 == 0,
    })


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextmanager
def moto_account() -> Iterator[None]:
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",  # noqa: S105
                      AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
    for name in ("AWS_PROFILE", "AFTERCARE_LOCAL_KEY_DIR", "AFTERCARE_DYNAMODB_ENDPOINT"):
        os.environ.pop(name, None)
    try:
        with mock_aws():
            kms = boto3.client("kms", region_name=REGION)
            os.environ["AFTERCARE_KMS_KEY_ID"] = kms.create_key()["KeyMetadata"]["Arn"]
            os.environ["AFTERCARE_SUBJECT_KEY_ID"] = kms.create_key(
                KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"
            )["KeyMetadata"]["Arn"]
            fresh_tables()
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@cache
def table_definition() -> dict[str, Any]:
    """The template's table, read once: parsing it for every fresh table took longer than the requests."""
    return dynamodb_local.table_definition()


def fresh_tables() -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    existing = dynamodb.list_tables()["TableNames"]
    for name in (PROJECT_TABLE, FLOOR_TABLE):
        if name in existing:
            dynamodb.delete_table(TableName=name)
        dynamodb.create_table(TableName=name, **table_definition())


def load_apps() -> tuple[Any, Any]:
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    import app as project

    spec = importlib.util.spec_from_file_location("aftercare_bench_floor", FLOOR_DIR / "app.py")
    assert spec and spec.loader
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    return project, floor


def timed_post(client: Any, path: str, body: str) -> tuple[float, float]:
    """Wall time and this thread's CPU time of one request (moto answers in the same thread)."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    response = client.http.post(path, headers=JSON_HEADERS, body=body)
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    if response.status_code != 201:
        raise SystemExit(f"{path} answered {response.status_code}: {response.body[:300]!r}")
    return elapsed, cpu


def measure_intake(n: int, warmup: int, runs: int) -> tuple[list[Figure], str]:
    from chalice.test import Client

    with moto_account():
        project, floor = load_apps()
        for handler in project.app.log.handlers:
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
        project.get_reception.cache_clear()  # a cold container: the KMS count includes its first calls
        p50s: tuple[list[float], list[float]] = ([], [])
        p99s: tuple[list[float], list[float]] = ([], [])
        cpus: tuple[list[float], list[float]] = ([], [])
        with counting_kms_calls() as kms_calls, \
                Client(project.app, stage_name="test", project_dir=str(BACKEND)) as app_client, \
                Client(floor.app, stage_name="bench", project_dir=str(FLOOR_DIR)) as floor_client:
            number = 0
            for run in range(-1, runs):  # run -1 is the warm-up
                project_times, floor_times = [], []
                for _ in range(warmup if run < 0 else n):
                    number += 1
                    if number % TABLE_RESET_EVERY == 0:
                        fresh_tables()
                    body = enquiry(number)
                    project_times.append(timed_post(app_client, "/enquiries", body))
                    floor_times.append(timed_post(floor_client, "/enquiries", body))
                if run < 0:
                    continue
                for (project_runs, floor_runs), fraction in ((p50s, 0.5), (p99s, 0.99)):
                    project_runs.append(percentile([wall for wall, _ in project_times], fraction) * 1000)
                    floor_runs.append(percentile([wall for wall, _ in floor_times], fraction) * 1000)
                cpus[0].append(sum(cpu for _, cpu in project_times) * 1000 / n)
                cpus[1].append(sum(cpu for _, cpu in floor_times) * 1000 / n)
        project.get_reception.cache_clear()
    samples = f"{n:,} after {warmup:,} warm-up, in-process test client on moto"
    return [
        Figure("enquiry intake p50", "ms", *p50s, samples),
        Figure("enquiry intake p99", "ms", *p99s, samples),
        # CPU time is what a shared machine's other jobs disturb least.
        Figure("enquiry intake CPU per request (mean)", "ms", *cpus, samples),
    ], kms_line(kms_calls, number)


def kms_line(kms_calls: dict[str, int], submissions: int) -> str:
    """A count, not a timing; the floor makes no KMS call, so it has no ratio."""
    total = sum(kms_calls.values())
    counted = ", ".join(f"{count} {name}" for name, count in sorted(kms_calls.items()))
    per_thousand = total * 1000 / submissions
    return (f"KMS calls per 1,000 submissions: {per_thousand:.2f} / floor 0 / no ratio "
            f"({total} calls in all over n={submissions:,} enquiries from one cold container, "
            f"one in ten with marketing consent: {counted or 'none'})")


COLD_APP = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import app

def event(method, path, body=None):
    return {"requestContext": {"httpMethod": method, "resourcePath": path, "path": path,
                               "identity": {"sourceIp": "127.0.0.1"}},
            "headers": {"content-type": "application/json", "x-form-fill-ms": "4000",
                        "sec-fetch-site": "same-origin"}, "pathParameters": None,
            "multiValueQueryStringParameters": None, "stageVariables": {}, "body": body}

health = app.app(event("GET", "/health"), None)
first_request = time.perf_counter() - started
post = app.app(event("POST", "/enquiries", sys.argv[2]), None)
first_post = time.perf_counter() - started
assert health["statusCode"] == 200 and post["statusCode"] == 201, (health, post)
print(json.dumps({"first_request": first_request, "first_post": first_post}))
"""

COLD_FLOOR = """
import json, sys, time
started = time.perf_counter()
import boto3
boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="eu-west-1")
print(json.dumps({"client": time.perf_counter() - started}))
"""


def packaged_code(into: Path) -> Path:
    """The app's code as the Lambda package carries it: with its bytecode (infra/deploy.py), so a
    cold start reads it rather than compiling the source, as the floor's boto3 is read."""
    spec = importlib.util.spec_from_file_location("aftercare_deploy", REPO / "infra" / "deploy.py")
    assert spec and spec.loader
    deploy = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(deploy)
    shutil.copy2(BACKEND / "app.py", into / "app.py")
    shutil.copytree(BACKEND / "chalicelib", into / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    deploy.compile_bytecode(into)
    return into


def measure_cold_start(endpoint: str, key_dir: Path, runs: int) -> list[Figure]:
    """Cold starts against DynamoDB Local with local keys (no AWS account needed)."""
    table = f"aftercare-cold-{datetime.now(UTC):%H%M%S}"
    dynamodb_local.ensure_table(
        boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                     aws_access_key_id="local", aws_secret_access_key="local"),  # noqa: S106
        table,
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_DEFAULT_REGION": REGION, "AFTERCARE_TABLE_NAME": table,
           "AFTERCARE_DYNAMODB_ENDPOINT": endpoint, "AFTERCARE_LOCAL_KEY_DIR": str(key_dir),
           "PYTHONDONTWRITEBYTECODE": "1"}
    first_requests, first_posts, floors = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        code = packaged_code(Path(scratch))
        for run in range(runs + 1):  # the first pair only warms the disk cache
            app = child(env, "-c", COLD_APP, str(code), enquiry(run))
            floor = child(env, "-c", COLD_FLOOR, endpoint)
            if run:
                first_requests.append(app["first_request"] * 1000)
                first_posts.append(app["first_post"] * 1000)
                floors.append(floor["client"] * 1000)
    samples = f"{runs} fresh interpreters each, timed inside them"
    return [
        Figure("cold start: import app + first request", "ms", first_requests, floors, samples),
        Figure("cold start: import app + first POST", "ms", first_posts, floors, samples),
    ]


def child(env: dict[str, str], *arguments: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, *arguments], env=env, cwd=REPO, capture_output=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cold start failed: {done.stderr.decode(errors='replace')[-2000:]}")
    answer: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer
