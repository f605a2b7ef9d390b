"""The storage additions staff tools rely on: decoding, replace and batch delete."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from chalicelib.store.items import submission_key
from chalicelib.store.table import ItemGone, _native, from_dynamodb, to_dynamodb

from tests.staff.conftest import HelpDesk

ITEM: dict[str, Any] = {
    "pk": "SUB#ENQ-AAAA-BBBB", "count": 3, "ratio": 0.5, "flag": True, "blob": b"\x00\x01",
    "fields": {"topic": "warranty", "ratings": [1, 5], "nested": {"deep": "yes"}, "none": None},
    "tags": {"a", "b"},
}


def test_from_dynamodb_decodes_as_boto3_does() -> None:
    raw = to_dynamodb(ITEM)
    by_boto3 = {name: _native(TypeDeserializer().deserialize(value)) for name, value in raw.items()}

    assert from_dynamodb(raw) == by_boto3
    assert from_dynamodb(raw)["blob"] == b"\x00\x01" and from_dynamodb(raw)["count"] == 3


def test_replace_refuses_an_item_that_is_gone(desk: HelpDesk) -> None:
    reference = desk.submit()
    (item,) = desk.items(submission_key(reference)[0])
    desk.table.delete_all([(item["pk"], item["sk"])])

    with pytest.raises(ItemGone):
        desk.table.replace(item)
    assert desk.items(submission_key(reference)[0]) == []


def test_delete_all_takes_more_than_one_batch(desk: HelpDesk) -> None:
    items = [{"pk": f"TEST#{n}", "sk": "X", "kind": "test", "created_at": f"{n:04d}"} for n in range(60)]
    desk.table.put_all(items)

    assert desk.table.delete_all([(item["pk"], item["sk"]) for item in items]) == 60
    assert desk.items("TEST#") == []
