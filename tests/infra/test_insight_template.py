"""The insight page's counters as deployed: the notifier may write the counters and their marks
and nothing more of them, reads case histories by Query, and its stream filter passes what it counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.cases import follow_up
from chalicelib.insight import tally
from chalicelib.store import items
from chalicelib.store.table import from_dynamodb, to_dynamodb

from tests.infra.test_notifier_template import POLICY_NOTIFIER, _matches
from tests.infra.test_template import as_list, statements


def granted(action: str) -> list[list[str]]:
    policy = json.loads(POLICY_NOTIFIER.read_text(encoding="utf-8"))
    table = {"Fn::GetAtt": ["SubmissionsTable", "Arn"]}
    return [s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in statements(policy)
            if action in as_list(s["Action"]) and s["Resource"] == table]


def test_the_notifier_adds_to_the_counters_marks_once_and_queries_only_case_histories():
    assert granted("dynamodb:Query") == [["CASE#*"]]
    assert [keys for keys in granted("dynamodb:UpdateItem") if any(k.startswith("AGG") for k in keys)] == [
        [items.AGGREGATE_PARTITION]]
    assert [keys for keys in granted("dynamodb:PutItem") if any(k.startswith("AGG") for k in keys)] == [
        [items.COUNTED_PREFIX + "*"]]
    # What the code writes falls under them.
    assert items.aggregate_key("2026-11-02", "forms")[0] == items.AGGREGATE_PARTITION
    mark = items.counted_key(items.submission_key("CMP-AAAA-BBBB"), tally.NEW)
    assert mark[0].startswith(items.COUNTED_PREFIX)


def record(event: str, item: dict[str, Any]) -> dict[str, Any]:
    wire = to_dynamodb(item)
    return {"eventName": event, "dynamodb": {
        "Keys": {name: wire[name] for name in (items.PARTITION_KEY, items.SORT_KEY)}, "NewImage": wire}}


@pytest.mark.parametrize(("message", "status", "passes"), [
    (follow_up.MESSAGE, items.SENT, True), (follow_up.MESSAGE, items.SENDING, False),
    ("confirmation", items.SENT, False)])
def test_the_stream_filter_passes_a_follow_up_marked_sent_and_no_other_sent_record(packaged, message, status,
                                                                                  passes):
    (event,) = packaged["Resources"]["Notifier"]["Properties"]["Events"].values()
    patterns = [json.loads(f["Pattern"]) for f in event["Properties"]["FilterCriteria"]["Filters"]]
    sent = {**items.sent_item(reference="RET-AAAA-BBBB", message=message, about_kind="return_request",
                              created=items.parsed_timestamp("2026-11-02T10:00:00.000000Z"),  # type: ignore[arg-type]
                              expires_epoch=2_000_000_000), "status": status}
    raw = record("MODIFY", sent)
    assert any(_matches(pattern, raw) for pattern in patterns) is passes
    counted = tally._follow_up_record(from_dynamodb(raw["dynamodb"]["NewImage"]))
    assert counted is (message == follow_up.MESSAGE)
