"""`aftercare rehash`: items hashed the first way (one KMS GenerateMac each) are found by email
again once recomputed, and only then; the run is resumable, audited and has a dry run."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from chalicelib.catalog import catalog
from chalicelib.crypto import KmsMacSubjectHasher, subject_hash
from chalicelib.forms import FORMS
from chalicelib.intake import Intake
from chalicelib.items import HASH_SCHEME, HASH_SCHEME_ATTRIBUTE
from chalicelib.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.warranty import NoSuchWarranty, WarrantyLookup

from tests.samples import payload_for, validated
from tests.staff.conftest import NOW, HelpDesk

ANN = "ann@example.com"
BO = "bo@example.com"


@pytest.fixture
def desk(moto_account: Any) -> HelpDesk:
    """On moto only: the first scheme was KMS's GenerateMac, which the local keys never used."""
    settings = Settings.from_environ(os.environ)
    return HelpDesk("moto", settings, moto_account.table())


def first_scheme_hasher(desk: HelpDesk) -> KmsMacSubjectHasher:
    assert desk.settings.subject_key_id
    return KmsMacSubjectHasher(desk.settings.subject_key_id, desk.settings.region)


def submit_the_first_way(desk: HelpDesk, kind: str, *, at: datetime = NOW,
                         idempotency_key: str | None = None, **changes: Any) -> str:
    """Stored as the intake did before the derived key: every hash a GenerateMac, no scheme mark."""
    form = FORMS[kind]
    intake = Intake(table=desk.table, cipher=desk.settings.cipher(), hasher=first_scheme_hasher(desk),
                    policy=data_policy(), clock=lambda: at)
    reference = intake.receive(form, validated(form, payload_for(form, NOW.date(), **changes), NOW.date()),
                               idempotency_key).reference
    desk.record_consents(reference)
    for item in desk.raw_items():
        if HASH_SCHEME_ATTRIBUTE in item:
            desk.table.client.update_item(
                TableName=desk.table.table_name, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                UpdateExpression="REMOVE #scheme",
                ExpressionAttributeNames={"#scheme": HASH_SCHEME_ATTRIBUTE})
    return reference


def warranty_status(desk: HelpDesk, reference: str) -> Any:
    (claim,) = [i for i in desk.raw_items()
                if i.get("reference") == reference and i["pk"].startswith("WARRANTY#")]
    lookup = WarrantyLookup(table=desk.table, hasher=desk.settings.subject_hasher(), catalog=catalog(),
                            clock=lambda: NOW)
    return lookup.status(claim["pk"].removeprefix("WARRANTY#"), ANN)


def found(desk: HelpDesk, email: str) -> list[tuple[str, str]]:
    lines = [line.split("\t") for line in desk.ok("subject", "find", "--email", email).stdout.splitlines()]
    return sorted((line[0], line[2]) for line in lines)


def test_items_hashed_the_first_way_are_found_by_email_after_the_rehash_and_not_before(
    desk: HelpDesk,
) -> None:
    registration = submit_the_first_way(desk, "warranty_registration", email=ANN, marketing_consent=True,
                                        idempotency_key="retry-me")
    enquiry = submit_the_first_way(desk, "enquiry", email=ANN, at=datetime(2026, 4, 1, tzinfo=UTC))
    current = desk.submit("enquiry", email=BO)  # written the current way: marked, left alone
    old = subject_hash(first_scheme_hasher(desk), ANN)
    assert {i["subject_hash"] for i in desk.raw_items() if i.get("reference") in (registration, enquiry)
            and i.get("subject_hash")} == {old}
    assert found(desk, ANN) == []
    with pytest.raises(NoSuchWarranty):
        warranty_status(desk, registration)

    dry = desk.ok("rehash", "--dry-run")
    assert dry.stdout.strip() == ("would rewrite 5 item(s) (1 consent, 1 idempotency, 2 submission, "
                                  "1 warranty); 0 unmatched; nothing written (dry run)")
    assert found(desk, ANN) == []
    assert "checked" in dry.stderr

    result = desk.ok("rehash")
    assert result.stdout.strip() == ("rewrote 5 item(s) (1 consent, 1 idempotency, 2 submission, "
                                     "1 warranty); 0 unmatched")
    records = found(desk, ANN)
    assert records == sorted([("consent", records[0][1]), ("idempotency", registration),
                              ("submission", enquiry), ("submission", registration),
                              ("warranty", registration)])
    assert found(desk, BO) == [("submission", current)]
    assert all(i.get(HASH_SCHEME_ATTRIBUTE) == HASH_SCHEME for i in desk.raw_items()
               if str(i["pk"]).startswith(("SUB#", "CONSENT#")))
    # The status page finds the warranty by serial and its owner's email again.
    assert warranty_status(desk, registration).product == payload_for(
        FORMS["warranty_registration"], NOW.date())["product"]
    # A retry under the same Idempotency-Key, computed the current way, is still recognised.
    form = FORMS["warranty_registration"]
    intake = Intake(table=desk.table, cipher=desk.settings.cipher(), hasher=desk.settings.subject_hasher(),
                    policy=data_policy(), clock=lambda: NOW)
    retry = intake.receive(form, validated(form, payload_for(form, NOW.date(), email=ANN,
                                                             marketing_consent=True), NOW.date()), "retry-me")
    assert (retry.reference, retry.replayed) == (registration, True)

    again = desk.ok("rehash")  # resumable: a second run finds nothing left to do
    assert again.stdout.strip() == "rewrote 0 item(s); 0 unmatched"
    audits = [a for a in desk.audit_records() if a["action"] == "rehash"]
    assert [(a["item_count"], a["outcome"]) for a in audits] == [(5, "done"), (0, "done")]
    assert audits[0]["detail"]["people moved"] == "1" and audits[0]["detail"]["fingerprints"] == "3"
    assert ANN not in str(audits)


def test_a_run_cut_short_is_finished_by_the_next(desk: HelpDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    first = submit_the_first_way(desk, "enquiry", email=ANN)
    second = submit_the_first_way(desk, "complaint", email=BO)
    from aftercare_cli import rehash

    real_move = rehash.Rehash._move
    moves: list[str] = []

    def stop_after_one(self: rehash.Rehash, old: str, new: str) -> None:
        if moves:
            raise KeyboardInterrupt
        moves.append(old)
        real_move(self, old, new)

    monkeypatch.setattr(rehash.Rehash, "_move", stop_after_one)
    assert desk.run("rehash").exit_code == 1  # Ctrl-C: click says "Aborted!"
    monkeypatch.setattr(rehash.Rehash, "_move", real_move)
    assert len([r for r in (found(desk, ANN) + found(desk, BO)) if r[0] == "submission"]) == 1
    desk.ok("rehash")
    assert found(desk, ANN) == [("submission", first)] and found(desk, BO) == [("submission", second)]
    audits = [a for a in desk.audit_records() if a["action"] == "rehash"]
    assert [a["outcome"] for a in audits] == ["failed", "done"]


@pytest.mark.parametrize("args, says", [
    (["--kind", "parcel"], "Invalid value for '--kind'"),
    (["--dry"], "No such option '--dry'"),
])
def test_a_bad_option_is_one_plain_error_and_touches_nothing(
    desk: HelpDesk, args: list[str], says: str,
) -> None:
    submit_the_first_way(desk, "enquiry", email=ANN)
    result = desk.run("rehash", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert says in error
    assert desk.audit_records() == []
    assert found(desk, ANN) == []
