"""What one stored item adds to the daily counters: only closed-list values, never a person or free text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.insight import counters
from chalicelib.rules.lifecycles import case_policy
from chalicelib.store import items

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def submission(kind: str, fields: dict, at: datetime = MONDAY, **more) -> dict:
    return {"pk": f"SUB#{kind}", "sk": "SUBMISSION", "kind": kind, "reference": "CMP-AAAA-BBBB",
            "created_at": items.timestamp(at), "fields": fields, "subject_hash": "h" * 64,
            "personal": b"sealed", **more}


def names(adds: counters.Adds) -> set[str]:
    return {name for counts in adds.values() for name in counts}


def test_a_feedback_counts_its_kind_and_each_rating_and_nothing_it_was_told():
    adds = counters.of_submission(submission("feedback", {
        "overall": 4, "staff_attitude": 2, "comment": "Ann Lee was rude", "case_reference": "ENQ-7K3M-Q9XD",
        "page": "Ann's page"}))
    assert adds == {("2026-11-02", "forms"): {"sub|feedback|-": 1, "rate|overall|4": 1,
                                               "rate|staff_attitude|2": 1}}


def test_a_listed_choice_is_counted_and_anything_else_is_other():
    good = counters.of_submission(submission("complaint", {"category": "delivery"}))
    odd = counters.of_submission(submission("complaint", {"category": "ann.lee@example.com"}))
    assert "detail|complaint|category|delivery|-" in names(good)
    assert "detail|complaint|category|other|-" in names(odd)
    assert not any("ann" in name for name in names(odd))


def test_products_outside_the_catalog_and_odd_pages_are_other():
    ret = counters.of_submission(submission("return_request", {"product": "my-own-thing",
                                                               "wanted_outcome": "refund"}))
    assert names(ret) == {"sub|return_request|other", "detail|return_request|wanted_outcome|refund|other"}
    vote = counters.of_submission(submission("page_feedback", {"page": "/guides/x/?email=a@b.c#top",
                                                               "helpful": False}))
    assert "vote|/guides/x/|no" in names(vote)
    bad = counters.of_submission(submission("page_feedback", {"page": "javascript:alert(1)",
                                                              "helpful": True}))
    assert "vote|other|yes" in names(bad)


def test_a_comment_after_a_no_counts_as_a_comment_not_a_second_vote():
    adds = counters.of_submission(submission("page_feedback", {"page": "/guides/x/", "helpful": False,
                                                               "follows_vote": True, "comment": "words"}))
    assert adds == {("2026-11-02", "pages"): {"missing|/guides/x/": 1}}


def test_ratings_out_of_range_or_not_whole_numbers_are_not_counted():
    for value in (0, 6, 2.5, True, "5", None):
        assert counters.rating_of(value) is None
    assert counters.rating_of(5) == 5


def test_buckets_are_the_first_limit_a_time_fits_under():
    assert counters.bucket(0.5) == "1"
    assert counters.bucket(1) == "4"
    assert counters.bucket(47.9) == "48"
    assert counters.bucket(24 * 40) == counters.OVER


def entry(version: int, status: str, at: datetime, moved: bool = True, window: str | None = None) -> dict:
    return {"pk": "CASE#CMP-AAAA-BBBB", "sk": f"HISTORY#{version:06d}", "case_kind": "complaint",
            "reference": "CMP-AAAA-BBBB", "version": version, "created_at": items.timestamp(at),
            "status": status, "moved": moved, "visit_window": window}


def test_a_case_move_counts_the_status_the_promise_of_the_status_left_and_the_times():
    policy = case_policy()
    case = submission("complaint", {"category": "delivery"})
    acknowledged = entry(1, "acknowledged", MONDAY + timedelta(hours=3))
    first = counters.of_case_entry(case, [], acknowledged, policy)
    assert first == {("2026-11-02", "cases"): {"move|complaint|-|acknowledged": 1, "first|complaint|4": 1,
                                               "promise|complaint|kept": 1}}
    note = entry(2, "acknowledged", MONDAY + timedelta(days=1), moved=False)
    assert counters.of_case_entry(case, [acknowledged], note, policy) == {}
    # Resolve is 10 working days from acknowledging (Monday 2 November): due Monday 16 November.
    late = entry(3, "resolved", datetime(2026, 11, 17, 10, tzinfo=UTC))
    adds = counters.of_case_entry(case, [acknowledged, note], late, policy)
    assert adds == {("2026-11-17", "cases"): {"move|complaint|-|resolved": 1, "promise|complaint|missed": 1}}
    closed = entry(4, "closed", datetime(2026, 11, 18, 10, tzinfo=UTC))
    adds = counters.of_case_entry(case, [acknowledged, note, late], closed, policy)
    assert adds == {("2026-11-18", "cases"): {"move|complaint|-|closed": 1, "close|complaint|720": 1}}


def test_a_case_rating_and_a_follow_up_sent_count_on_their_own_days():
    case = submission("return_request", {"product": "purewash-8"}, rating=5,
                      rated_at=items.timestamp(MONDAY + timedelta(days=3)))
    assert counters.of_case_rating(case) == {
        ("2026-11-05", "cases"): {"caserate|return_request|purewash-8|5": 1}}
    sent = {"pk": "SENT#RET-AAAA-BBBB", "sk": "follow-up", "status": "sent", "about_kind": "return_request",
            "updated_at": items.timestamp(MONDAY)}
    assert counters.of_follow_up_sent(sent) == {("2026-11-02", "cases"): {"followup|return_request": 1}}
    assert counters.of_follow_up_sent({**sent, "status": "sending"}) == {}
