"""The table's change stream, read from DynamoDB Local's own streams, handed to the notifier.

Lambda does this in AWS: it reads the stream in batches, calls the function
with `{"Records": [...]}`, retries a failing batch with backoff, splits it to
find the record that fails, and sets a record that keeps failing aside. This
reader does the same on one machine, calling the very same handler, and keeps
its place (the last sequence number handled in each shard) in a checkpoint
file, so a restart carries on where it stopped: a batch cut short by a crash
is read again, and the notifier's "sent" records keep that from sending twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
BATCH_SIZE = 25
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
POLL_SECONDS = 0.25
# The longest the reader waits before trying a batch again when the notifier says
# when to (a claim whose lease has not yet run out: `retry_after`).
MAX_WAIT_SECONDS = 120.0


def ensure_stream(dynamodb: Any, table_name: str) -> str:
    """The table's stream ARN, turning the stream on for a table made before it had one."""
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    if not (table.get("StreamSpecification") or {}).get("StreamEnabled"):
        table = dynamodb.update_table(
            TableName=table_name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]
    return str(table["LatestStreamArn"])


def lambda_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A stream record as Lambda hands it over (times as epoch seconds, as in Lambda's JSON)."""
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**raw, "dynamodb": change}


@dataclass
class StreamReader:
    dynamodb: Any
    streams: Any
    table_name: str
    handler: Handler
    checkpoint_file: Path
    dead_letter_file: Path
    sleep: Callable[[float], None] = time.sleep
    _iterators: dict[str, str | None] = field(default_factory=dict, init=False)
    _stream_arn: str | None = field(default=None, init=False)

    def checkpoints(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.checkpoint_file.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def _save(self, shard: str, sequence: str) -> None:
        saved = {**self.checkpoints(), shard: sequence}
        self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.checkpoint_file.with_suffix(".tmp")
        partial.write_text(json.dumps(saved))
        os.replace(partial, self.checkpoint_file)  # a crash leaves the old checkpoint or the new

    def poll(self) -> int:
        """Read what is new in every shard and hand it to the handler; answers how many records."""
        if self._stream_arn is None:
            self._stream_arn = ensure_stream(self.dynamodb, self.table_name)
        arn = self._stream_arn
        done = self.checkpoints()
        handled = 0
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self._iterators and self._iterators[shard_id] is None:
                continue  # a closed shard, read to its end
            iterator = self._iterators.get(shard_id) or self._iterator(arn, shard_id, done.get(shard_id))
            try:
                page = self.streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("ExpiredIteratorException",
                                                                    "TrimmedDataAccessException"):
                    self._iterators.pop(shard_id, None)
                    continue
                raise
            records = [lambda_record(raw) for raw in page.get("Records", [])]
            if records:
                self._deliver(records)
                self._save(shard_id, records[-1]["dynamodb"]["SequenceNumber"])
                handled += len(records)
            self._iterators[shard_id] = page.get("NextShardIterator")
        return handled

    def _iterator(self, arn: str, shard_id: str, after: str | None) -> str:
        request: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if after:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            request.update(ShardIteratorType="TRIM_HORIZON")
        return str(self.streams.get_shard_iterator(**request)["ShardIterator"])

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        """Retry with backoff; then split the batch in two, down to the record that fails."""
        for attempt in range(ATTEMPTS):
            try:
                self.handler({"Records": records}, None)
                return
            except Exception as error:  # noqa: BLE001 - any failure of the function fails the batch, as in Lambda
                log.warning("notifier failed on %d record(s): %s", len(records), type(error).__name__)
                if attempt + 1 < ATTEMPTS:
                    asked = float(getattr(error, "retry_after", 0.0))
                    self.sleep(min(max(BACKOFF_SECONDS * 2 ** attempt, asked), MAX_WAIT_SECONDS))
        if len(records) > 1:
            middle = len(records) // 2
            self._deliver(records[:middle])
            self._deliver(records[middle:])
            return
        self._set_aside(records[0])

    def _set_aside(self, record: dict[str, Any]) -> None:
        """The dead-letter queue: where the record sits in the stream, never its content."""
        change = record["dynamodb"]
        report = {"eventID": record.get("eventID"), "eventName": record.get("eventName"),
                  "SequenceNumber": change.get("SequenceNumber"),
                  "pk": (change.get("Keys") or {}).get("pk", {}).get("S")}
        self.dead_letter_file.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter_file.open("a") as letters:
            letters.write(json.dumps(report) + "\n")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                handled = self.poll()
            except Exception as error:  # noqa: BLE001 - keep reading; DynamoDB Local may be restarting
                log.warning("stream reader: %s", type(error).__name__)
                handled = 0
            if not handled:
                stop.wait(POLL_SECONDS)


def notifier_handler() -> Handler:
    """The notifier function of the Chalice app: the very handler Lambda calls in AWS."""
    return app_function("notifier")


def app_function(name: str) -> Handler:
    """One of the Chalice app's functions, by name, as Lambda calls it: (event, context)."""
    import importlib
    import sys

    from aftercare_local.paths import BACKEND

    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
    handler: Handler = getattr(importlib.import_module("app"), name)
    return handler


def reader_for(endpoint: str, table_name: str, handler: Handler, state_dir: Path) -> StreamReader:
    import boto3

    from aftercare_local.stack import LOCAL_CREDENTIALS

    options = {"endpoint_url": endpoint, "region_name": LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
               "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return StreamReader(
        dynamodb=boto3.client("dynamodb", **options),
        streams=boto3.client("dynamodbstreams", **options),
        table_name=table_name,
        handler=handler,
        checkpoint_file=state_dir / f"{table_name}.checkpoint.json",
        dead_letter_file=state_dir / f"{table_name}.dead-letters.jsonl",
    )
