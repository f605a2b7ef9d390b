"""The local stack: keys, DynamoDB Local with the table from infra/, and the one-origin server."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from chalicelib.crypto.keys import ensure_local_keys

from aftercare_local import dynamodb, s3
from aftercare_local.paths import BACKEND, CHALICE_CONFIG

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@dataclass(frozen=True)
class LocalStack:
    environment: dict[str, str]
    dynamodb_endpoint: str
    table_name: str
    key_dir: Path
    s3: s3.S3Engine | None = None

    def dynamodb_client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


def local_stage_environment() -> dict[str, str]:
    """The `local` stage of the Chalice config: the one place local defaults are written."""
    config = json.loads(CHALICE_CONFIG.read_text())
    environment = dict(config.get("environment_variables", {}))
    environment.update(config["stages"]["local"]["environment_variables"])
    return environment


def default_port(variable: str) -> int:
    """The port of an engine's endpoint in the Chalice config's local stage (DynamoDB, S3)."""
    port = urlsplit(local_stage_environment()[variable]).port
    if port is None:
        raise ValueError(f"the Chalice config's local stage gives {variable} no port")
    return port


def write_running_state(path: Path, stack: LocalStack, port: int, smtp_port: int | None = None,
                        sign_in_issuer: str | None = None, mail_port: int | None = None,
                        inbound_smtp_port: int | None = None) -> None:
    """Tell the staff command line (and scripts) where this stack runs (removed again when it stops):
    `mail_port` is MailDev's inbox, `inbound_smtp_port` the listener that takes replies."""
    state = {
        "pid": os.getpid(), "port": port, "dynamodb_endpoint": stack.dynamodb_endpoint,
        "table_name": stack.table_name, "key_dir": str(stack.key_dir), "smtp_port": smtp_port,
        "sign_in_issuer": sign_in_issuer, "mail_port": mail_port, "inbound_smtp_port": inbound_smtp_port,
        "s3_endpoint": stack.s3.endpoint if stack.s3 else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def running_state(path: Path) -> dict[str, Any] | None:
    """The settings a running `make run` wrote, or None when none runs (a stale file is ignored)."""
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except PermissionError:
        return state  # alive, under another user
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if isinstance(state, dict) else None


def staff_environment(state_path: Path) -> tuple[dict[str, str], str]:
    """Where the staff command line works by default, and those words for its messages.

    The running stack's own settings when `make run` is up (whatever its
    ports), else the Chalice config's local stage.
    """
    environment = local_stage_environment()
    state = running_state(state_path)
    if state is None:
        endpoint = environment.get("AFTERCARE_DYNAMODB_ENDPOINT")
        return environment, (f"the local stack's default address {endpoint}, since no running "
                             f"`make run` was found (it records its ports in .local/{state_path.name})")
    environment.update(
        AFTERCARE_DYNAMODB_ENDPOINT=str(state["dynamodb_endpoint"]),
        AFTERCARE_TABLE_NAME=str(state["table_name"]),
        AFTERCARE_LOCAL_KEY_DIR=str(state["key_dir"]),
    )
    if state.get("s3_endpoint"):
        # S3_PORT may have moved it from the config's port.
        environment["AFTERCARE_S3_ENDPOINT"] = str(state["s3_endpoint"])
    return environment, (f"the local stack `make run` started (site on port {state.get('port')}, "
                         f"DynamoDB Local at {state['dynamodb_endpoint']}, from .local/{state_path.name})")


@contextlib.contextmanager
def started(
    *, data_dir: Path | None, key_dir: Path | None = None, dynamodb_port: int | None = None,
    table_name: str | None = None, s3_data_dir: Path | None = None, s3_port: int | None = None,
) -> Iterator[LocalStack]:
    """Start DynamoDB Local, make the table and keys, and set the app's environment.

    data_dir None keeps the database in memory (tests); key_dir and the port
    default to the Chalice config's local stage.
    """
    environment = local_stage_environment()
    if key_dir is None:
        key_dir = (BACKEND / environment["AFTERCARE_LOCAL_KEY_DIR"]).resolve()
    dynamodb_port = dynamodb_port or default_port("AFTERCARE_DYNAMODB_ENDPOINT")
    if table_name:
        environment["AFTERCARE_TABLE_NAME"] = table_name
    ensure_local_keys(key_dir)
    s3_port = s3_port or default_port("AFTERCARE_S3_ENDPOINT")
    with dynamodb.running(dynamodb_port, data_dir) as endpoint, \
            s3.running(s3_port, s3_data_dir, environment["AFTERCARE_ATTACHMENTS_BUCKET"]) as bucket:
        environment.update(
            AFTERCARE_DYNAMODB_ENDPOINT=endpoint, AFTERCARE_LOCAL_KEY_DIR=str(key_dir),
            AFTERCARE_S3_ENDPOINT=bucket.endpoint,
        )
        for name, value in LOCAL_CREDENTIALS.items():
            environment.setdefault(name, value)
        stack = LocalStack(environment, endpoint, environment["AFTERCARE_TABLE_NAME"], key_dir, bucket)
        dynamodb.ensure_table(stack.dynamodb_client(), stack.table_name)
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            yield stack
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
