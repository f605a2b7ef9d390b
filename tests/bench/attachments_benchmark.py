"""`make bench`: upload-to-checked latency on the local stack (DynamoDB Local, s3rver, the app).

Each round asks the app for an upload (POST /api/uploads, in process), posts a
photo with GPS EXIF to s3rver with the presigned POST, and waits until the
checker, run on s3rver's event exactly as `make run` runs it, has stored the
cleaned copy and marked the upload checked. Prints p50, p90 and max in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from aftercare_local import stack
from aftercare_local.paths import BACKEND
from aftercare_local.processes import free_port
from PIL import Image


def photo(megapixels: float) -> bytes:
    width = int((megapixels * 1_000_000 * 4 / 3) ** 0.5)
    image = Image.effect_noise((width, width * 3 // 4), 40).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 48.0, 1.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


# As the site's script asks: the API issues uploads only to pages of our own site.
UPLOAD_HEADERS = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}


def rounds_and_photo(description: str, argv: list[str] | None, *, rounds: int,
                     megapixels: float) -> tuple[argparse.Namespace, bytes]:
    """A photo benchmark's options (--rounds, --megapixels) and its photo with GPS data."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--megapixels", type=float, default=megapixels)
    options = parser.parse_args(argv)
    return options, photo(options.megapixels)


@contextlib.contextmanager
def local_stack(table_name: str) -> Iterator[stack.LocalStack]:
    """DynamoDB Local (in memory) and s3rver on free ports, fresh keys, the app importable."""
    with tempfile.TemporaryDirectory() as scratch, stack.started(
        data_dir=None, key_dir=Path(scratch) / "keys", dynamodb_port=free_port(),
        table_name=table_name, s3_port=free_port(),
    ) as local:
        if str(BACKEND) not in sys.path:
            sys.path.insert(0, str(BACKEND))
        yield local


def main(argv: list[str] | None = None) -> None:
    options, data = rounds_and_photo(__doc__ or "", argv, rounds=30, megapixels=2.0)
    with local_stack("aftercare-bench") as local:
        import app as app_module
        from chalice.test import Client

        done: dict[str, threading.Event] = {}

        def check(event: dict[str, Any]) -> None:
            app_module.check_upload(event, None)
            key = event["Records"][0]["s3"]["object"]["key"].rsplit("/", 1)[-1]
            done.setdefault(key, threading.Event()).set()

        assert local.s3 is not None
        local.s3.on_new_upload(check)
        latencies = []
        with Client(app_module.app) as client:
            for _ in range(options.rounds):
                started = time.perf_counter()
                answer = client.http.post("/uploads", headers=UPLOAD_HEADERS,
                                          body=json.dumps({"form": "complaint", "content_type": "image/jpeg",
                                                           "size": len(data)}))
                if answer.status_code != 201:
                    raise SystemExit(f"/uploads answered {answer.status_code}: {answer.body[:300]!r}")
                issued = answer.json_body
                finished = done.setdefault(issued["upload_id"], threading.Event())
                sent = requests.post(issued["url"], data=issued["fields"], files={"file": ("p", data)},
                                     timeout=30)
                sent.raise_for_status()
                if not finished.wait(30):
                    raise SystemExit("the checker did not finish within 30 s")
                latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    print(f"upload-to-checked, {options.rounds} rounds, {len(data) / 1e6:.1f} MB JPEG "
          f"({options.megapixels:g} MP): p50 {statistics.median(latencies):.0f} ms, "
          f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.0f} ms, max {latencies[-1]:.0f} ms")


if __name__ == "__main__":
    main()
