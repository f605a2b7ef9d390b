"""The managers' weekly summary: last week's headline figures and their change, counts only,
sent by the daily run at most once a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from chalicelib.insight import summary
from chalicelib.notify.emails import notification_policy
from chalicelib.store import items

from tests.api.test_notifier import mailbox, notifier_app  # noqa: F401 - SES and the app on moto
from tests.conftest import MotoAccount

WEDNESDAY = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # last week: Monday 9 to Sunday 15 November


def test_last_week_is_the_monday_to_sunday_before_this_one():
    for today in (date(2026, 11, 16), date(2026, 11, 18), date(2026, 11, 22)):
        week = summary.last_week(today)
        assert (week.start, week.end) == (date(2026, 11, 9), date(2026, 11, 15))
    assert summary.week_of(summary.reference(week)) == week


@pytest.fixture
def counted(moto_account: MotoAccount) -> MotoAccount:
    table = moto_account.table()
    table.add_counts({
        items.aggregate_key("2026-11-10", "forms"): {"sub|complaint|-": 6, "rate|overall|5": 3,
                                                     "rate|overall|2": 1},
        items.aggregate_key("2026-11-15", "forms"): {"sub|complaint|-": 4},
        items.aggregate_key("2026-11-03", "forms"): {"sub|complaint|-": 8, "rate|overall|4": 2},
        items.aggregate_key("2026-11-04", "cases"): {"promise|complaint|kept": 1,
                                                     "promise|complaint|missed": 1},
        items.aggregate_key("2026-11-12", "cases"): {"promise|complaint|kept": 3},
        # This week's counts are not last week's.
        items.aggregate_key("2026-11-17", "forms"): {"sub|complaint|-": 50},
    })
    return moto_account


def test_the_summary_goes_to_the_managers_once_a_week_with_each_figure_and_its_change(
        notifier_app: Any, mailbox: Any, counted: MotoAccount):  # noqa: F811
    notifier = notifier_app.get_notifier()
    notifier.clock = lambda: WEDNESDAY
    assert notifier.send_weekly_summary(WEDNESDAY.date()) == "sent"
    (mail,) = mailbox()
    assert mail["To"] == notification_policy().weekly_summary.to == "managers@aftercare.example"
    assert mail["Subject"] == "How we did in the week from 2026-11-09"
    body = mail.get_body().get_content()
    assert "- Forms received: 10, up 2 on the week before (8)" in body
    assert "- Average overall rating: 4.25, up 0.25 on the week before (4)" in body
    assert "- Satisfied (4 or 5): 75%, down 25 points on the week before (100%)" in body
    assert "- Promises kept: 100%, up 50 points on the week before (50%)" in body
    assert "- Help pages found helpful: none, no figure to compare with" in body
    assert "/staff/insight?from=2026-11-09&to=2026-11-15" in body
    assert "@" not in body
    for later in (WEDNESDAY, WEDNESDAY + timedelta(days=1), WEDNESDAY + timedelta(days=4)):
        notifier.clock = lambda later=later: later
        assert notifier.send_weekly_summary(later.date()) == "skipped"
    assert len(mailbox()) == 1
    sent = [i for i in counted.raw_items() if i["pk"] == "SENT#" + summary.reference(summary.last_week(
        WEDNESDAY.date()))]
    assert [(s["sk"], s["status"], s["about_kind"]) for s in sent] == [(summary.MESSAGE, "sent", "insight")]


def test_the_daily_run_sends_the_summary_and_nothing_when_nothing_was_counted(
        notifier_app: Any, mailbox: Any, moto_account: MotoAccount):  # noqa: F811
    outcomes = notifier_app.digest({"time": "2026-11-18T07:00:00Z", "detail-type": "Scheduled Event",
                                    "source": "aws.events", "resources": [], "detail": {}, "id": "x",
                                    "account": "1", "region": "eu-west-1", "version": "0"}, None)
    assert outcomes["weekly summary"] == "nothing counted" and mailbox() == []
