"""Import time of `chalicelib.forms` and of the whole app, beside a floor, in fresh interpreters.

Each sample is a fresh interpreter that imports one module and reports, timed
inside itself, how long the import took (interpreter start-up is not
counted). Project and floor alternate, sample by sample, so both see the same
machine; the figure is the median of 11 of each. The floors are the least
each import could cost: pydantic's `BaseModel` for the forms (they are
pydantic models), Chalice and boto3 for the app (a Chalice function on
DynamoDB imports both).

The "before" figures were measured once, with this same code, on the tree
before the restructuring of issue 10 (main at 3ae9caa), and are recorded
here: that tree is not rebuilt on every run. The "after" figures are measured
in the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aftercare_local.paths import BACKEND, REPO

from tests.bench.figures import Figure

SAMPLES = 11

TIMED_IMPORT = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
started, cpu_started = time.perf_counter(), time.process_time()
exec(sys.argv[2])
print(json.dumps({"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu_started}))
"""

# (module, what the project imports, what the floor imports)
IMPORTS = (
    ("chalicelib.forms", "import chalicelib.forms", "from pydantic import BaseModel"),
    ("app", "import app", "import boto3, chalice"),
)

# Measured once by `python -m tests.bench.import_time --backend <tree>/backend`
# on main at 3ae9caa, on the shared 2-CPU x86_64 machine (Python 3.11, load
# average about 10) that printed the README's figures:
# module -> (median wall ms, floor wall ms, wall ratio, median CPU ms, floor CPU ms).
BEFORE = {
    "chalicelib.forms": (282.68, 54.53, 5.21, 268.0, 54.0),
    "app": (822.95, 281.23, 2.73, 297.0, 118.0),
}


def sample(backend: Path, statement: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", TIMED_IMPORT, str(backend), statement], env=env,
                          cwd=REPO, capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{statement!r} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    answer: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


def measure_imports(samples: int = SAMPLES, backend: Path = BACKEND) -> list[Figure]:
    figures = []
    for module, project_import, floor_import in IMPORTS:
        sample(backend, project_import)  # warms the disk cache and the bytecode on disk
        project, floor, project_cpu, floor_cpu = [], [], [], []
        for _ in range(samples):
            mine, least = sample(backend, project_import), sample(backend, floor_import)
            project.append(mine["wall"] * 1000)
            floor.append(least["wall"] * 1000)
            project_cpu.append(mine["cpu"] * 1000)
            floor_cpu.append(least["cpu"] * 1000)
        before_ms, before_floor, before_ratio, before_cpu, before_floor_cpu = BEFORE[module]
        figures.append(Figure(
            f"import {module} (floor: {floor_import})", "ms", project, floor,
            f"median of {samples} fresh interpreters each",
            note=(f"CPU {_median(project_cpu):,.0f} ms / floor {_median(floor_cpu):,.0f} ms; "
                  f"before (recorded once, main at 3ae9caa): {before_ms:,.0f} ms / "
                  f"floor {before_floor:,.0f} ms / {before_ratio:.2f}x floor, "
                  f"CPU {before_cpu:,.0f} ms / floor {before_floor_cpu:,.0f} ms"),
        ))
    return figures


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


if __name__ == "__main__":
    # `--backend <dir>` measures another tree (how the "before" figures were taken).
    tree = Path(sys.argv[sys.argv.index("--backend") + 1]) if "--backend" in sys.argv else BACKEND
    for figure in measure_imports(backend=tree):
        print(figure.line())
