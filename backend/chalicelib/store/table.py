"""The one module that talks to DynamoDB: conditional writes, reads, and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.table import BatchWriter
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.store.items import EXPIRY_ATTRIBUTE, PARTITION_KEY, QUEUE_ATTRIBUTE, SORT_KEY

KIND_INDEX = "by-kind"
SUBJECT_INDEX = "by-subject"
OPEN_CASES_INDEX = "open-cases"

# The time budget of one call: the Lambda lives 15 s, and a hung table must be
# answered with a 503 and Retry-After well before that. Two attempts of at most
# 1 s to connect and 2.5 s to read, with standard mode's backoff (under 1 s
# before the second), stay under 7 s; a DynamoDB write is answered in
# milliseconds when the service is well.
CLIENT_CONFIG = Config(
    parameter_validation=False,
    retries={"total_max_attempts": 2, "mode": "standard"},
    connect_timeout=1,
    read_timeout=2.5,
)

# Items per Query page for exports: DynamoDB Local answers 1,000-item pages much
# faster than its default 1 MB ones, and AWS is indifferent.
EXPORT_PAGE_SIZE = 1000
# Counters one ADD update carries: its expression stays well under DynamoDB's 4 KB.
COUNTERS_PER_UPDATE = 150
# Aggregate items per page of a range's Query (a day's item may carry hundreds of counters).
COUNTER_PAGE_SIZE = 60

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StorageUnavailable(Exception):
    """The table could not take or give the item now; the caller may retry later."""


class ItemGone(Exception):
    """The item to change is no longer in the table (erased or expired meanwhile)."""


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


@dataclass(frozen=True)
class ItemChange:
    """One item of a transaction of changes: its attributes set, or (attributes None) deleted.

    Setting is an UpdateItem, which also creates a missing item: staff may
    update and delete, never put (infra/resources.yaml, StaffPolicy). `exists`
    True: the item must be there; False: it must not be; None: either.
    `expect`: values the stored item must still hold; `earliest`: values the
    stored item must not have yet, or hold later ones (sortable text), so the
    earliest of several writes stands whatever order they come in. `guard`
    names the change in a WriteConflict.
    """

    partition: str
    sort: str
    attributes: dict[str, Any] | None
    guard: str
    exists: bool | None = True
    expect: dict[str, Any] = field(default_factory=dict)
    earliest: dict[str, Any] = field(default_factory=dict)

    def request(self, table_name: str) -> dict[str, Any]:
        """The UpdateItem or DeleteItem parameters (also the body of a transaction's entry)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        conditions = []
        if self.exists is not None:
            names["#pk"] = PARTITION_KEY
            conditions.append("attribute_exists(#pk)" if self.exists else "attribute_not_exists(#pk)")
        for i, (name, value) in enumerate(self.expect.items()):
            names[f"#e{i}"], values[f":e{i}"] = name, value
            conditions.append(f"#e{i} = :e{i}")
        for i, (name, value) in enumerate(self.earliest.items()):
            names[f"#n{i}"], values[f":n{i}"] = name, value
            conditions.append(f"(attribute_not_exists(#n{i}) OR #n{i} > :n{i})")
        request: dict[str, Any] = {
            "TableName": table_name,
            "Key": to_dynamodb({PARTITION_KEY: self.partition, SORT_KEY: self.sort}),
        }
        if self.attributes is not None:
            settable = [
                (name, value) for name, value in self.attributes.items()
                if name not in (PARTITION_KEY, SORT_KEY) and value is not None
            ]
            for i, (name, value) in enumerate(settable):
                names[f"#a{i}"], values[f":v{i}"] = name, value
            request["UpdateExpression"] = "SET " + ", ".join(
                f"#a{i} = :v{i}" for i in range(len(settable))
            )
        if conditions:
            request["ConditionExpression"] = " AND ".join(conditions)
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = to_dynamodb(values)
        return request


@dataclass(frozen=True)
class ItemCheck:
    """A condition a transaction checks and writes nothing to: the item is there (or, with
    `exists` False, is not). `guard` names it in a WriteConflict."""

    partition: str
    sort: str
    guard: str
    exists: bool = True


Write = NewItem | ItemChange | ItemCheck


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

    def create_all(self, items: Sequence[Write]) -> None:
        """Create every item (and make every change) or none; raise WriteConflict naming the first
        key that was taken or change whose condition failed."""
        try:
            if len(items) == 1 and isinstance(items[0], NewItem):
                self.client.put_item(**self._conditional_put(items[0]))
            else:
                self.client.transact_write_items(TransactItems=[self._entry(new) for new in items])
        except (ClientError, BotoCoreError) as error:
            raise write_failure(error, [new.guard for new in items]) from None

    def get(self, partition: str, sort: str, *, now_epoch: int,
            attributes: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """A strongly consistent read; an item past its expiry counts as gone.

        `attributes` reads only those (and the expiry): what is not asked for never travels.
        """
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": to_dynamodb({PARTITION_KEY: partition, SORT_KEY: sort}),
            "ConsistentRead": True,
        }
        _project(request, attributes)
        try:
            answer = self.client.get_item(**request)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
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
        for page in self._pages(request):
            for raw in page:
                item = from_dynamodb(raw)
                if not is_expired(item, now_epoch):
                    yield item

    def query_kind_pages(
        self, kind: str, *, since: str | None = None, until: str | None = None,
        status: str | None = None, product: str | None = None, now_epoch: int,
        page_size: int = EXPORT_PAGE_SIZE, after: dict[str, str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of one kind's items in created_at order, still in DynamoDB's wire format.

        The by-kind index answers a time range in order; expired items, other
        statuses and other products are filtered out by DynamoDB before they travel.
        Callers that decode in other processes take the raw pages (cheap to pass along).
        `after` (an item's keys, see `position_key`) starts just past that item.
        """
        names = {"#kind": "kind", "#created": "created_at", "#expires": EXPIRY_ATTRIBUTE}
        values: dict[str, Any] = {":kind": kind, ":now": now_epoch}
        condition = "#kind = :kind"
        if since and until:
            condition += " AND #created BETWEEN :since AND :until"
            values.update({":since": since, ":until": until})
        elif since:
            condition += " AND #created >= :since"
            values[":since"] = since
        elif until:
            condition += " AND #created <= :until"
            values[":until"] = until
        else:
            del names["#created"]
        filters = "(attribute_not_exists(#expires) OR #expires > :now)"
        if status:
            filters += " AND #status = :status"
            names["#status"] = "status"
            values[":status"] = status
        if product:
            filters += " AND #fields.#product = :product"
            names.update({"#fields": "fields", "#product": "product"})
            values[":product"] = product
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": KIND_INDEX,
            "KeyConditionExpression": condition,
            "FilterExpression": filters,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_dynamodb(values),
            "Limit": page_size,
        }
        if after is not None:
            request["ExclusiveStartKey"] = to_dynamodb(after)
        yield from self._pages(request)

    def _pages(self, request: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """The non-empty pages of a Query, through boto3's paginator, in wire format."""
        try:
            for page in self.client.get_paginator("query").paginate(**request):
                if page.get("Items"):
                    yield page["Items"]
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None

    def query_kind(
        self, kind: str, *, since: str | None = None, until: str | None = None,
        status: str | None = None, now_epoch: int,
    ) -> Iterator[dict[str, Any]]:
        """One kind's live items in created_at order, decoded, a page at a time."""
        for page in self.query_kind_pages(
            kind, since=since, until=until, status=status, now_epoch=now_epoch
        ):
            for raw in page:
                item = from_dynamodb(raw)
                if not is_expired(item, now_epoch):
                    yield item

    def query_subject(
        self, subject: str, *, now_epoch: int, include_expired: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every item of one person through the by-subject index (keyed hash, never the email).

        Erasure asks for expired items too: TTL may not have removed them yet.
        """
        return self.query(
            index=SUBJECT_INDEX,
            key_condition="#subject = :subject",
            names={"#subject": "subject_hash"},
            values={":subject": subject},
            now_epoch=0 if include_expired else now_epoch,
        )

    def replace(self, item: dict[str, Any]) -> None:
        """Write a changed item's attributes over the stored one, only if that one still exists.

        An UpdateItem rather than a PutItem: staff may update and delete
        submissions but put nothing but audit records (infra/resources.yaml,
        StaffPolicy). Every attribute of `item` is set; none is removed.
        """
        change = ItemChange(item[PARTITION_KEY], item[SORT_KEY], item, guard="item")
        try:
            self.client.update_item(**change.request(self.table_name))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise ItemGone(item[PARTITION_KEY]) from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def change_all(self, changes: list[ItemChange]) -> None:
        """Apply every change or none, in one transaction.

        Raises WriteConflict naming the first change whose condition failed
        (an item gone, a key taken, a value changed meanwhile).
        """
        try:
            self.client.transact_write_items(TransactItems=[self._entry(change) for change in changes])
        except (ClientError, BotoCoreError) as error:
            raise write_failure(error, [change.guard for change in changes]) from None

    def change_with_entry(
        self, key: tuple[str, str], *, version_attribute: str, expected_version: int,
        set_attributes: dict[str, Any], remove_attributes: tuple[str, ...], entry: dict[str, Any],
    ) -> None:
        """Change an item and add a new item beside it, both or neither, only if the item is still
        at `expected_version` (raise WriteConflict("version") if another change came first).

        The version moves on by one, so two writers that read the same version
        cannot both succeed: the loser re-reads and tries again, and no entry is lost.
        """
        sets = {**set_attributes, version_attribute: expected_version + 1}
        sets = {name: value for name, value in sets.items() if value is not None}
        names = {f"#s{i}": name for i, name in enumerate(sets)}
        values = {f":s{i}": value for i, value in enumerate(sets.values())}
        removed = {f"#r{i}": name for i, name in enumerate(remove_attributes) if name not in sets}
        expression = "SET " + ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        condition = "attribute_exists(#pk) AND "
        if expected_version == 0:
            condition += "(attribute_not_exists(#version) OR #version = :expected)"
        else:
            condition += "#version = :expected"
        update = {
            "TableName": self.table_name,
            "Key": to_dynamodb({PARTITION_KEY: key[0], SORT_KEY: key[1]}),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#version": version_attribute,
                                         **names, **removed},
            "ExpressionAttributeValues": to_dynamodb({**values, ":expected": expected_version}),
        }
        try:
            self.client.transact_write_items(TransactItems=[
                {"Update": update},
                {"Put": self._conditional_put(NewItem(entry, "entry"))},
            ])
        except (ClientError, BotoCoreError) as error:
            # A failed condition or a concurrent transaction on the case: another change came first.
            code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
            if code in ("TransactionCanceledException", "TransactionConflictException"):
                raise WriteConflict("version") from None
            raise unavailable(error) from None

    def query_partition(self, partition: str, *, now_epoch: int,
                        attributes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every live item of one partition, in sort-key order, strongly consistent;
        `attributes` reads only those (and the expiry)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": to_dynamodb({":pk": partition}),
            "ConsistentRead": True,
        }
        _project(request, attributes)
        return [item for page in self._pages(request) for item in map(from_dynamodb, page)
                if not is_expired(item, now_epoch)]

    def query_between(self, partition: str, low: str, high: str, *, now_epoch: int,
                      page_size: int = COUNTER_PAGE_SIZE) -> list[dict[str, Any]]:
        """The live items of one partition whose sort keys lie between `low` and `high` (inclusive):
        one Query, in sort-key order, in pages of `page_size` items (each answer small enough to
        come well inside the client's read timeout, however many attributes the items carry)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": to_dynamodb({":pk": partition, ":low": low, ":high": high}),
            "Limit": page_size,
        }
        return [item for page in self._pages(request) for item in map(from_dynamodb, page)
                if not is_expired(item, now_epoch)]

    def add_counts(self, counts: dict[tuple[str, str], dict[str, int]], *,
                   once: NewItem | None = None) -> None:
        """Add to number attributes of items (created when missing) with DynamoDB's atomic ADD.

        With `once`, that item is created in the same transaction, only if its key is free:
        a second call with the same `once` adds nothing and raises WriteConflict(once.guard).
        Without it, each item is updated on its own (a rebuild's corrections)."""
        updates = [self._add_request(key, dict(chunk)) for key, numbers in counts.items()
                   for chunk in _chunks(list(numbers.items()), COUNTERS_PER_UPDATE)]
        try:
            if once is not None:
                self.client.transact_write_items(TransactItems=[
                    {"Put": self._conditional_put(once)}, *({"Update": update} for update in updates)])
            else:
                for update in updates:
                    self.client.update_item(**update)
        except (ClientError, BotoCoreError) as error:
            raise write_failure(error, [once.guard] if once else ["counts"]) from None

    def _add_request(self, key: tuple[str, str], numbers: dict[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": counter for i, counter in enumerate(numbers)}
        values = {f":c{i}": by for i, by in enumerate(numbers.values())}
        return {
            "TableName": self.table_name,
            "Key": to_dynamodb({PARTITION_KEY: key[0], SORT_KEY: key[1]}),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(numbers))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_dynamodb(values),
        }

    def query_open_cases(self, kind: str, *, now_epoch: int) -> Iterator[list[dict[str, Any]]]:
        """Pages (wire format) of one kind's open cases, oldest first, from the sparse open-cases index."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": OPEN_CASES_INDEX,
            "KeyConditionExpression": "#queue = :kind",
            "FilterExpression": "attribute_not_exists(#expires) OR #expires > :now",
            "ExpressionAttributeNames": {"#queue": QUEUE_ATTRIBUTE, "#expires": EXPIRY_ATTRIBUTE},
            "ExpressionAttributeValues": to_dynamodb({":kind": kind, ":now": now_epoch}),
            "Limit": EXPORT_PAGE_SIZE,
        }
        yield from self._pages(request)

    def delete_all(self, keys: list[tuple[str, str]]) -> int:
        """Delete the items with these (pk, sk) keys in batches; answers how many were sent."""
        try:
            with BatchWriter(self.table_name, self.client) as batch:
                for pk, sk in keys:
                    batch.delete_item(Key=to_dynamodb({PARTITION_KEY: pk, SORT_KEY: sk}))
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        return len(keys)

    def put_all(self, items: list[dict[str, Any]]) -> None:
        """Unconditional batch writes, for loading test and benchmark data quickly."""
        try:
            with BatchWriter(self.table_name, self.client) as batch:
                for item in items:
                    batch.put_item(Item=to_dynamodb(item))
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None

    def transition(
        self, partition: str, sort: str, *, status_from: str, changes: dict[str, Any], guard: str
    ) -> None:
        """Set `changes` on an item only while its status is still `status_from`.

        Two workers racing for the same item: one wins, the other gets WriteConflict(guard).
        """
        change = ItemChange(partition, sort, changes, guard, exists=None, expect={"status": status_from})
        try:
            self.client.update_item(**change.request(self.table_name))
        except (ClientError, BotoCoreError) as error:
            raise write_failure(error, [guard]) from None

    def _entry(self, write: Write) -> dict[str, Any]:
        """One entry of a write transaction."""
        if isinstance(write, NewItem):
            return {"Put": self._conditional_put(write)}
        if isinstance(write, ItemCheck):
            condition = "attribute_exists" if write.exists else "attribute_not_exists"
            return {"ConditionCheck": {
                "TableName": self.table_name,
                "Key": to_dynamodb({PARTITION_KEY: write.partition, SORT_KEY: write.sort}),
                "ConditionExpression": f"{condition}(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }}
        return {"Update" if write.attributes is not None else "Delete": write.request(self.table_name)}

    def _conditional_put(self, new: NewItem) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": to_dynamodb(new.item),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        }


def _chunks(pairs: list[tuple[str, int]], size: int) -> Iterator[list[tuple[str, int]]]:
    for start in range(0, len(pairs), size):
        yield pairs[start:start + size]


def _project(request: dict[str, Any], attributes: tuple[str, ...]) -> None:
    """Read only `attributes` (and the expiry, which every read checks); none: the whole item."""
    if not attributes:
        return
    wanted = {f"#p{i}": name for i, name in enumerate(dict.fromkeys((*attributes, EXPIRY_ATTRIBUTE)))}
    request["ProjectionExpression"] = ", ".join(wanted)
    request["ExpressionAttributeNames"] = {**request.get("ExpressionAttributeNames", {}), **wanted}


def write_failure(error: ClientError | BotoCoreError, guards: list[str]) -> Exception:
    """A WriteConflict naming the first write (by its guard) whose condition failed, else unavailable."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            return WriteConflict(guards[0])
        if code == "TransactionCanceledException":
            reasons = error.response.get("CancellationReasons") or []
            for guard, reason in zip(guards, reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    return WriteConflict(guard)
    return unavailable(error)


def unavailable(error: ClientError | BotoCoreError) -> StorageUnavailable:
    """The failure named by DynamoDB's own error code (ResourceNotFoundException, ...) where it gave one."""
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    return StorageUnavailable(code or type(error).__name__)


def is_expired(item: dict[str, Any], now_epoch: int) -> bool:
    """TTL deletion can lag by days; an item past its expiry is treated as gone."""
    expires = item.get(EXPIRY_ATTRIBUTE)
    return expires is not None and int(expires) <= now_epoch


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(_plain(value)) for name, value in item.items()
            if value is not None}


def from_dynamodb(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: _from_wire(value) for name, value in raw.items()}


def _from_wire(value: dict[str, Any]) -> Any:
    """One attribute value to plain Python: a direct walk, several times faster than
    boto3's TypeDeserializer (which staff exports would otherwise spend most of a row on)."""
    (tag, inner), = value.items()
    if tag == "S" or tag == "BOOL":
        return inner
    if tag == "N":
        return _native(Decimal(inner))
    if tag == "B":
        return bytes(inner)
    if tag == "M":
        return {k: _from_wire(v) for k, v in inner.items()}
    if tag == "L":
        return [_from_wire(v) for v in inner]
    if tag == "NULL":
        return None
    return _native(_deserializer.deserialize(value))


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


def dynamodb_client(
    endpoint_url: str | None = None, region: str | None = None, session: Any = None
) -> Any:
    """A DynamoDB client; `session` (a boto3 Session) carries a staff profile's credentials."""
    return (session or boto3).client(
        "dynamodb", endpoint_url=endpoint_url, region_name=region, config=CLIENT_CONFIG
    )
