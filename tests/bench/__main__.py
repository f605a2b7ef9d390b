"""`make bench`: every figure of the intake and export paths beside its floor, in one run.

Prints one line per measure, `measure: project / floor / ratio`, with n and
the spread of the runs. `--smoke` runs everything on a few requests and rows
(under a minute): it proves the benchmark itself works and `make test` runs
it; its timings mean nothing.

First the import time of `chalicelib.forms` and of the app (fresh
interpreters, median of 11) beside a recorded "before". Everything runs on
this machine: moto for the in-process intake, and one
in-memory DynamoDB Local (on a free port) for the cold start, the local
server and the export.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from aftercare_local import dynamodb as dynamodb_local
from chalicelib.crypto.keys import ensure_local_keys

from tests.bench.export_benchmark import measure_export
from tests.bench.import_time import SAMPLES, measure_imports
from tests.bench.intake_benchmark import measure_cold_start, measure_intake
from tests.bench.server_benchmark import free_port, measure_server

FULL = {"n": 2_000, "warmup": 100, "runs": 3, "seconds": 10.0, "rows": 100_000, "imports": SAMPLES}
SMOKE = {"n": 30, "warmup": 5, "runs": 1, "seconds": 1.0, "rows": 300, "imports": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few requests and rows: does it run?")
    parser.add_argument("--rows", type=int, help="export rows (default 100,000; smoke 300)")
    parser.add_argument("--runs", type=int, help="runs of each measure (default 3; smoke 1)")
    parser.add_argument("--export-only", action="store_true",
                        help="only the exports: aftercare export and the console's export job")
    arguments = parser.parse_args()
    size = dict(SMOKE if arguments.smoke else FULL)
    if arguments.rows:
        size["rows"] = arguments.rows
    if arguments.runs:
        size["runs"] = arguments.runs
    started = time.perf_counter()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    lines: list[str] = []
    if not arguments.export_only:
        lines += [figure.line() for figure in measure_imports(size["imports"])]
        intake, kms = measure_intake(size["n"], size["warmup"], size["runs"])
        lines += [figure.line() for figure in intake] + [kms]
    with tempfile.TemporaryDirectory() as scratch_dir, \
            dynamodb_local.running(free_port(), data_dir=None) as endpoint:
        key_dir = Path(scratch_dir) / "keys"
        ensure_local_keys(key_dir)
        if not arguments.export_only:
            lines += [figure.line() for figure in measure_cold_start(endpoint, key_dir, size["runs"])]
            server_table = "aftercare-bench-server"
            dynamodb_local.ensure_table(local_client(endpoint), server_table)
            server, problems = measure_server(endpoint, server_table, key_dir, size["seconds"], size["runs"])
            lines += [server.line(), problems]
        export, memory, console, console_memory = measure_export(
            endpoint, key_dir, size["rows"], size["runs"])
        lines += [export.line(), memory, console.line(), console_memory]
    print()
    for line in lines:
        print(line)
    print(f"(benchmark took {time.perf_counter() - started:.0f} s"
          f"{'; smoke run: the timings mean nothing' if arguments.smoke else ''})")


def local_client(endpoint: str) -> object:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1",
                        aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106


if __name__ == "__main__":
    main()
