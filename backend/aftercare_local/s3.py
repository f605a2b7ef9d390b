"""The local attachments bucket: s3rver (npm) keeping objects on disk, and its events sent to the checker.

S3 would invoke the checker function on each new object; locally s3rver
reports each event on its output, and a thread hands it to the same handler.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chalicelib.store.items import UPLOAD_FOLDER

from aftercare_local.paths import NODE_MODULES
from aftercare_local.processes import first_line, start, stop

LAUNCHER = Path(__file__).with_name("s3rver.js")
LOCAL_BUCKET = "aftercare-attachments-local"
LOCAL_ACCESS_KEY = "local"  # the local stack's credentials: key and secret alike
START_SECONDS = 30
# Browsers post files straight to the bucket, from the site's origin.
CORS = """<CORSConfiguration><CORSRule><AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
<AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>"""

Handler = Callable[[dict[str, Any]], None]


class S3EngineError(RuntimeError):
    """s3rver is missing or did not start; the message is one plain line when its port was taken."""


@contextlib.contextmanager
def running(port: int, data_dir: Path | None, bucket: str = LOCAL_BUCKET) -> Iterator[S3Engine]:
    """s3rver on 127.0.0.1:port with `bucket`; data_dir None keeps it in a folder removed after."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "s3rver").is_dir():
        raise S3EngineError("s3rver is missing: `make setup` installs it (npm)")
    scratch = tempfile.TemporaryDirectory(prefix="aftercare-s3-")
    directory = data_dir or Path(scratch.name) / "data"
    directory.mkdir(parents=True, exist_ok=True)
    cors = Path(scratch.name) / "cors.xml"
    cors.write_text(CORS)
    process = start(
        [node, str(LAUNCHER), str(port), str(directory), bucket, str(cors), LOCAL_ACCESS_KEY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=NODE_MODULES.parent,
    )
    try:
        engine = S3Engine(process, bucket, _wait_ready(process, port))
        yield engine
    finally:
        stop(process)  # type: ignore[arg-type]
        scratch.cleanup()


def _wait_ready(process: subprocess.Popen[str], port: int) -> str:
    line = first_line(process, START_SECONDS)
    if not line:
        detail = process.stderr.read() if process.stderr else ""
        if "EADDRINUSE" in detail:
            # Taken between the start's check and s3rver's own bind: Node's trace says no more.
            raise S3EngineError(f"port {port} is in use: stop what holds it or choose another port")
        raise S3EngineError(f"s3rver did not start: {detail[-2000:]}")
    return str(json.loads(line)["ready"])


class S3Engine:
    """A running s3rver: its endpoint, its bucket, and a way to follow its events."""

    def __init__(self, process: subprocess.Popen[str], bucket: str, endpoint: str):
        self.process = process
        self.bucket = bucket
        self.endpoint = endpoint

    def on_new_upload(self, handler: Handler) -> threading.Thread:
        """Call `handler` with each S3 event for a new object under uploads/, as S3 invokes the checker."""
        def follow() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                event = json.loads(line)
                if is_new_upload(event):
                    try:
                        handler(event)
                    except Exception as error:  # noqa: BLE001 - one bad file must not stop the checker
                        print(f"upload checker failed: {type(error).__name__}", flush=True)

        thread = threading.Thread(target=follow, name="local-upload-checker", daemon=True)
        thread.start()
        return thread


def is_new_upload(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return any(
        record.get("eventName", "").startswith("ObjectCreated:")
        and record.get("s3", {}).get("object", {}).get("key", "").startswith(UPLOAD_FOLDER)
        for record in records
    )


def checker_handler(app_module: Any) -> Handler:
    """The app's own checker function (`check_upload`), called as Lambda would call it."""
    def handle(event: dict[str, Any]) -> None:
        app_module.check_upload(event, None)

    return handle
