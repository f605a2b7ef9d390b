"""The one module that talks to DynamoDB: conditional writes, reads, and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Attribute names the key schema in infra/resources.yaml defines.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
EXPIRY_ATTRIBUTE = "expires_at"
KIND_INDEX = "by-kind"
SUBJECT_INDEX = "by-subject"

CLIENT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StorageUnavailable(Exception):
    """The table could not take or give the item now; the caller may retry later."""


class WriteConflict(Exception):
    """A conditional write found its item already there. `guard` names which."""

    def __init__(self, guard: str):
        super().__init__(f"conflict on {guard}")
        self.guard = guard


@dataclass(frozen=True)
class NewItem:
    """An item to create only if its key is free; `guard` names it in a WriteConflict."""

    item: dict[str, Any]
    guard: str


@dataclass
class SubmissionTable:
    table_name: str
    client_factory: Callable[[], Any]
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def create_all(self, items: list[NewItem]) -> None:
        """Create every item or none; raise WriteConflict naming the first key that was taken."""
        try:
            if len(items) == 1:
                self.client.put_item(**self._conditional_put(items[0]))
            else:
                self.client.transact_write_items(
                    TransactItems=[{"Put": self._conditional_put(new)} for new in items]
                )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise WriteConflict(items[0].guard) from None
            if code == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons") or []
                for new, reason in zip(items, reasons, strict=False):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        raise WriteConflict(new.guard) from None
            raise StorageUnavailable(code or "ClientError") from None
        except BotoCoreError as error:
            raise StorageUnavailable(type(error).__name__) from None

    def get(self, partition: str, sort: str, *, now_epoch: int) -> dict[str, Any] | None:
        """A strongly consistent read; an item past its expiry counts as gone."""
        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key=to_dynamodb({PARTITION_KEY: partition, SORT_KEY: sort}),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable(type(error).__name__) from None
        if "Item" not in answer:
            return None
        item = from_dynamodb(answer["Item"])
        return None if is_expired(item, now_epoch) else item

    def query(
        self, *, index: str | None, key_condition: str, values: dict[str, Any],
        names: dict[str, str] | None = None, now_epoch: int, forward: bool = True,
        page_size: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Page through a Query lazily, leaving out expired items; memory stays flat."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_dynamodb(values),
            "ScanIndexForward": forward,
            "Limit": page_size,
        }
        if index:
            request["IndexName"] = index
        if names:
            request["ExpressionAttributeNames"] = names
        while True:
            try:
                page = self.client.query(**request)
            except (ClientError, BotoCoreError) as error:
                raise StorageUnavailable(type(error).__name__) from None
            for raw in page.get("Items", []):
                item = from_dynamodb(raw)
                if not is_expired(item, now_epoch):
                    yield item
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _conditional_put(self, new: NewItem) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": to_dynamodb(new.item),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        }


def is_expired(item: dict[str, Any], now_epoch: int) -> bool:
    """TTL deletion can lag by days; an item past its expiry is treated as gone."""
    expires = item.get(EXPIRY_ATTRIBUTE)
    return expires is not None and int(expires) <= now_epoch


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(_plain(value)) for name, value in item.items()
            if value is not None}


def from_dynamodb(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: _native(_deserializer.deserialize(value)) for name, value in raw.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float | int):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _native(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), bytes):
        return bytes(value.value)
    return value


def dynamodb_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint_url, region_name=region, config=CLIENT_CONFIG
    )
