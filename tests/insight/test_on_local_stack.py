"""The insight page after a seeded run on the local stack: a few hundred forms, votes and ratings
through the API, cases moved through their lifecycles, the stream reader counting. The page's
figures equal those computed independently from an export of the same data, and a rebuild from
the table gives the live counters back."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from aftercare_cli.main import cli
from aftercare_local.seed import seed
from chalicelib.console.door import Console
from chalicelib.console.signin import StaffSignIn
from chalicelib.insight import tally
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.staff.desk import StaffDesk
from click.testing import CliRunner

from tests.insight.test_page import tables
from tests.mailstack import MailStack
from tests.staff.conftest import csv_rows
from tests.staff.test_console import GROUPS, ISSUER, SECRET, SITE, Browser, provider

pytestmark = pytest.mark.dynamodb_local

FORMS_SENT = 240
CATCH_UP_SECONDS = 180


def settings_of(stack: MailStack, monkeypatch: pytest.MonkeyPatch) -> Settings:
    stack.point_here(monkeypatch)
    return Settings.from_environ(stack.environment())


def caught_up(stack: MailStack) -> None:
    """Wait until the stream reader has counted everything: the live counters equal a recount."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while tally.rebuild(stack.table(), case_policy(), datetime.now(UTC), write=False):
        assert time.monotonic() < deadline, "the stream reader did not catch up"
        time.sleep(1)


def from_export(rows: list[dict[str, str]]) -> dict[str, Any]:
    """The page's figures, worked out from the exported rows alone."""
    by_kind = Counter(row["kind"] for row in rows)
    votes = [row for row in rows if row["kind"] == "page_feedback" and row["follows_vote"] != "true"]
    overall = Counter(int(row["overall"]) for row in rows if row["kind"] == "feedback")
    pages: dict[str, Counter[str]] = {}
    for row in votes:
        pages.setdefault(row["page"], Counter())["yes" if row["helpful"] == "true" else "no"] += 1
    reasons = Counter((row["kind"], row.get("category") or row.get("wanted_outcome") or row.get("topic")
                       or row.get("need"), row.get("product") or "")
                      for row in rows
                      if row["kind"] in ("complaint", "return_request", "enquiry", "service_visit"))
    closed = Counter(row["kind"] for row in rows if row["status"] == "closed")
    rated = Counter(row["kind"] for row in rows if row.get("rating"))
    return {"by_kind": by_kind, "votes": len(votes), "overall": overall, "pages": pages, "reasons": reasons,
            "closed": closed, "rated": rated}


def test_the_page_after_a_seeded_run_equals_the_export_and_rebuilt_counters_equal_live_ones(
        mail_stack: MailStack, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_of(mail_stack, monkeypatch)
    with mail_stack.reader():
        done = seed(mail_stack.base_url, settings, forms=FORMS_SENT)
        assert sum(done.posted.values()) >= FORMS_SENT and not done.refused, done
        assert done.moves > 20 and done.rated > 3, done
        caught_up(mail_stack)
    now = datetime.now(UTC)
    live = tally.nonzero(tally.stored(mail_stack.table(), now))
    assert live and tally.nonzero(tally.recount(mail_stack.table(), case_policy(), now)) == live

    exported = CliRunner().invoke(cli, ["export", "--format", "csv"], catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    expected = from_export(csv_rows(exported.stdout))

    console = Console(lambda actor: StaffDesk.for_actor(settings, actor),
                      StaffSignIn(ISSUER, "console", SITE + "/staff/callback", provider), SECRET, SITE)
    answer = Browser(console, "sam.lee@shop.example", GROUPS["handlers"]).get("/staff/insight")
    assert answer.status == 200
    shown = tables(answer.body.decode())

    headline = {row[0]: row[1] for row in shown["headline"][1:]}
    forms = sum(expected["by_kind"].values()) - (expected["by_kind"]["page_feedback"] - expected["votes"])
    assert headline["Forms received"] == f"{forms:.1f}"
    overall = next(row for row in shown["satisfaction"] if row[0] == "Overall")
    ratings = expected["overall"]
    count = sum(ratings.values())
    assert overall[1] == f"{sum(v * n for v, n in ratings.items()) / count:.2f}"
    assert overall[3] == f"{count:,}"
    assert {row[0]: row[1] for row in shown["distribution"][1:]} == {
        f"{value} of 5": f"{ratings[value]:,}" for value in range(1, 6)}
    assert {row[0]: (row[1], row[2]) for row in shown["pages"][1:]} == {
        page: (str(counts["yes"]), str(counts["no"])) for page, counts in expected["pages"].items()}
    names = catalog().product_names()
    assert Counter({(row[0], row[1], row[2]): int(row[3]) for row in shown["reasons"][1:]}) == Counter({
        (kind_title(kind), choice.replace("_", " ").replace("-", " "), names.get(product, "No product")): n
        for (kind, choice, product), n in expected["reasons"].items()})
    rated = {row[0]: int(row[3]) for row in shown["case_ratings_kind"][1:]}
    assert rated == {kind_title(kind): n for kind, n in expected["rated"].items()}
    weekly = shown["cases_weekly"]
    for kind, n in expected["closed"].items():
        column = weekly[0].index(f"{kind_title(kind)}: closed")
        assert sum(int(row[column]) for row in weekly[1:]) == n


def kind_title(kind: str) -> str:
    from chalicelib.forms import FORMS

    return FORMS[kind].title
