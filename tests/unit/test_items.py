"""The stored-item layout: the keys the table holds, which the staff policy's LeadingKeys also name."""

from datetime import UTC, datetime

from chalicelib.store import items

MOMENT = datetime(2026, 11, 22, 9, 30, 5, 123456, tzinfo=UTC)


def test_each_record_has_its_own_key_prefix_and_sort_key() -> None:
    assert items.submission_key("ENQ-AAAA-BBBB") == ("SUB#ENQ-AAAA-BBBB", "SUBMISSION")
    assert items.warranty_key("V55240012345") == ("WARRANTY#V55240012345", "REGISTRATION")
    assert items.consent_key("abc", "CON-AAAA-BBBB") == ("CONSENT#abc#CON-AAAA-BBBB", "CONSENT")
    assert items.audit_key(MOMENT, "f00") == ("AUDIT#2026-11", "2026-11-22T09:30:05.123456Z#f00")


def test_an_idempotency_key_is_stored_hashed_and_per_kind() -> None:
    partition, sort = items.idempotency_key("enquiry", "my key with an email@example.com")
    assert partition.startswith("IDEM#enquiry#") and "example" not in partition
    assert sort == "IDEMPOTENCY"
    assert items.idempotency_key("feedback", "k")[0] != items.idempotency_key("enquiry", "k")[0]
    assert items.idempotency_kind({"pk": partition}) == "enquiry"


def test_record_type_reads_the_partition_key() -> None:
    assert [items.record_type({"pk": pk}) for pk, _ in (
        items.submission_key("R"), items.consent_key("s", "R"), items.idempotency_key("k", "x"),
        items.warranty_key("S"),
    )] == ["submission", "consent", "idempotency", "warranty"]


def test_a_unique_claim_takes_the_key_its_guard_names() -> None:
    assert items.claim_key(items.WARRANTY_GUARD, "S1") == items.warranty_key("S1")


def test_times_are_sortable_utc_text_and_whole_epoch_seconds() -> None:
    assert items.timestamp(MOMENT) == "2026-11-22T09:30:05.123456Z"
    assert items.epoch(MOMENT) == 1795339805


def test_a_stored_submission_reads_back_as_the_body_it_came_from() -> None:
    item = items.submission_item(
        kind="enquiry", reference="ENQ-AAAA-BBBB", created=MOMENT, status=items.RECEIVED,
        expires=MOMENT, subject=None, sealed=b"x", fields={"topic": "other"},
    )
    assert (item["pk"], item["sk"]) == items.submission_key("ENQ-AAAA-BBBB")
    assert item["expires_at"] == items.epoch(MOMENT)
    assert items.submission_payload(item, {"name": "N"}) == {"topic": "other", "name": "N"}
