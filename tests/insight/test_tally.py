"""The counters kept from the stream: each record counted once however often it comes, and a
rebuild from the table gives the live figures back (a mixed run of forms, votes, cases, ratings)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aftercare_cli.main import cli
from chalicelib.cases import follow_up
from chalicelib.cases.book import Change
from chalicelib.insight import tally
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.staff.context import StaffContext
from chalicelib.staff.desk import StaffDesk
from chalicelib.store import items
from chalicelib.store.table import ItemChange, NewItem
from click.testing import CliRunner

from tests.staff.conftest import HelpDesk

FORMS_EACH = 12
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def desk_at(help_desk: HelpDesk, moment: datetime) -> StaffDesk:
    return StaffDesk(StaffContext(help_desk.settings, "sam.lee@aftercare.example", clock=lambda: moment))


def mixed_run(help_desk: HelpDesk, seed: int = 7) -> None:
    """Forms of every kind over three weeks, votes, cases moved to their ends, ratings and follow-ups."""
    chance = random.Random(seed)
    products = list(catalog().product_names())
    table = help_desk.table
    for number in range(FORMS_EACH):
        at = START + timedelta(hours=7 * number)
        product = catalog().product(chance.choice(products))
        item = {"product": product.id, "serial_number": product.serial_example}
        feedback = help_desk.submit("feedback", at=at, overall=chance.randint(1, 5),
                                    speed_of_service=chance.randint(1, 5))
        help_desk.submit("page_feedback", at=at, page=chance.choice(["/guides/a/", "/guides/b/"]),
                         helpful=chance.random() < 0.6)
        help_desk.submit("warranty_registration", at=at, product=product.id,
                         serial_number=product.serial_example[:-3] + f"{number:03d}")
        complaint = help_desk.submit("complaint", at=at, category=chance.choice(["delivery", "other"]))
        moves = [Change(status="acknowledged", handler="Sam Lee"), Change(status="resolved", note="done"),
                 Change(status="closed")]
        for step, change in enumerate(moves[: chance.randint(0, 3)]):
            moved = at + timedelta(days=3 * step + chance.randint(0, 4))
            desk_at(help_desk, moved).change_case(complaint, change)
        if number % 3 == 0:
            ret = help_desk.submit("return_request", at=at, wanted_outcome="refund", **item)
            for step, change in enumerate([Change(status="approved"), Change(status="refund_item_received"),
                                           Change(status="refunded"), Change(status="closed")]):
                desk_at(help_desk, at + timedelta(days=2 * step + 1)).change_case(ret, change)
            rated = at + timedelta(days=10)
            # As the notifier records a rating given through the follow-up link (the feedback names the case).
            table.change_all([
                ItemChange(*items.submission_key(ret), items.rating_changes(
                    rating=chance.randint(1, 5), rated=rated, feedback_reference=feedback), "rating"),
                ItemChange(*items.submission_key(feedback), {"fields": {
                    **table.get(*items.submission_key(feedback), now_epoch=0)["fields"],
                    "case_reference": ret}}, "feedback")])
            expires = items.epoch(rated + timedelta(days=400))
            table.create_all([NewItem({**items.sent_item(reference=ret, message=follow_up.MESSAGE,
                                                         about_kind="return_request", created=rated,
                                                         expires_epoch=expires),
                                       "status": items.SENT}, "sent")])


def stream_of(help_desk: HelpDesk) -> list[tuple[str, dict[str, Any]]]:
    """The records the stream hands the notifier for what the run stored (new and changed items)."""
    records = []
    for item in help_desk.raw_items():
        pk = str(item["pk"])
        if pk.startswith((items.SUBMISSION_PREFIX, items.CASE_PREFIX)):
            records.append(("INSERT", item))
        if pk.startswith((items.SUBMISSION_PREFIX, items.SENT_PREFIX)):
            records.append(("MODIFY", item))  # only a follow-up marked sent counts
    return records


# On DynamoDB Local: moto copies its whole table for each transaction, and each count is one.
pytestmark = pytest.mark.dynamodb_local


@pytest.fixture
def run(local_desk: HelpDesk) -> HelpDesk:
    mixed_run(local_desk)
    return local_desk


def live(help_desk: HelpDesk) -> tally.Adds:
    return tally.nonzero(tally.stored(help_desk.table, datetime.now(UTC)))


def test_each_record_counts_once_however_often_the_stream_delivers_it(run: HelpDesk):
    policy, now = case_policy(), datetime.now(UTC)
    records = stream_of(run)
    outcomes = [tally.count(run.table, policy, event, item, now) for event, item in records]
    assert outcomes.count("counted") > 5 * FORMS_EACH
    once = live(run)
    again = [tally.count(run.table, policy, event, item, now) for event, item in reversed(records)]
    assert "counted" not in again
    assert live(run) == once
    forms = Counter()
    for (_, section), counts in once.items():
        forms.update(counts if section == "forms" else {})
    assert sum(n for name, n in forms.items() if name.startswith("sub|feedback|")) == FORMS_EACH
    assert sum(n for name, n in forms.items() if name.startswith("sub|return_request|")) == FORMS_EACH // 3


def test_rebuilt_counters_equal_the_live_ones_after_a_mixed_run(run: HelpDesk):
    policy, now = case_policy(), datetime.now(UTC)
    for event, item in stream_of(run):
        tally.count(run.table, policy, event, item, now)
    assert tally.nonzero(tally.recount(run.table, policy, now)) == live(run)
    assert tally.rebuild(run.table, policy, now, write=False) == []


def test_the_rebuild_command_corrects_a_counter_that_went_wrong_and_is_audited(run: HelpDesk):
    policy, now = case_policy(), datetime.now(UTC)
    for event, item in stream_of(run):
        tally.count(run.table, policy, event, item, now)
    right = live(run)
    (day, section), counts = next(iter(right.items()))
    counter = next(iter(counts))
    run.table.add_counts({items.aggregate_key(day, section): {counter: 5, "sub|enquiry|-": 2}})
    checked = CliRunner().invoke(cli, ["insight", "rebuild", "--check"], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert f"{day} {counter}: live {counts[counter] + 5}, recounted {counts[counter]}" in checked.output
    assert live(run) != right
    rebuilt = CliRunner().invoke(cli, ["insight", "rebuild"], catch_exceptions=False)
    assert rebuilt.exit_code == 0 and "2 counter(s) corrected" in rebuilt.output, rebuilt.output
    assert live(run) == right
    assert [r["action"] for r in run.audit_records()][-2:] == ["insight.rebuild", "insight.rebuild"]
