"""`aftercare subject correct` on a warranty registration: every derived record follows, or none."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from chalicelib.intake.warranty import NoSuchWarranty, WarrantyLookup
from chalicelib.rules.catalog import catalog
from chalicelib.store.items import AUDIT_PREFIX, WARRANTY_PREFIX, submission_key

from tests.staff.conftest import HelpDesk

ANN = "ann@example.com"
OLD_SERIAL = "V55240012345"
NEW_SERIAL = "V55240099999"


def lookup(desk: HelpDesk) -> WarrantyLookup:
    return WarrantyLookup(desk.table, desk.settings.subject_hasher(), catalog(),
                          lambda: datetime.now(UTC))


def register(desk: HelpDesk, **changes: object) -> str:
    bought = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    return desk.submit("warranty_registration", email=ANN, serial_number=OLD_SERIAL,
                       purchase_date=bought, marketing_consent=True, **changes)


def correct(desk: HelpDesk, reference: str, field: str, value: str, email: str = ANN):  # noqa: ANN201
    return desk.run("subject", "correct", "--email", email, "--reference", reference,
                    "--field", field, "--value", value)


def test_correcting_the_serial_moves_the_warranty_record(desk: HelpDesk) -> None:
    reference = register(desk)

    result = correct(desk, reference, "serial_number", NEW_SERIAL)

    assert result.exit_code == 0, result.output
    assert "derived from it (warranty serial)" in result.stdout
    assert lookup(desk).status(NEW_SERIAL, ANN).product == "vista-55-oled"
    with pytest.raises(NoSuchWarranty):
        lookup(desk).status(OLD_SERIAL, ANN)
    (record,) = desk.items(WARRANTY_PREFIX)
    assert record["reference"] == reference and record["subject_hash"] == desk.subject(ANN)


def test_correcting_the_purchase_date_moves_the_expiry(desk: HelpDesk) -> None:
    reference = register(desk)
    earlier = (datetime.now(UTC) - timedelta(days=40)).date()

    correct(desk, reference, "purchase_date", earlier.isoformat())

    expected = catalog().product("vista-55-oled").warranty_expires_on(earlier)
    assert lookup(desk).status(OLD_SERIAL, ANN).expires_on == expected
    (stored,) = desk.items(submission_key(reference)[0])
    assert stored["fields"]["purchase_date"] == earlier.isoformat()


def test_correcting_the_email_keeps_the_warranty_and_consent_with_the_person(desk: HelpDesk) -> None:
    reference = register(desk)

    correct(desk, reference, "email", "new@example.com")

    assert lookup(desk).status(OLD_SERIAL, "new@example.com").under_warranty
    with pytest.raises(NoSuchWarranty):
        lookup(desk).status(OLD_SERIAL, ANN)
    listed = desk.ok("subject", "find", "--email", "new@example.com").stdout
    assert "consent" in listed and "idempotency" not in desk.ok("subject", "find", "--email", ANN).stdout
    assert desk.ok("subject", "find", "--email", ANN).stdout == ""
    (mailing,) = desk.ok("export", "--kind", "consents", "--format", "jsonl").stdout.splitlines()
    assert json.loads(mailing)["email"] == "new@example.com"


def test_a_serial_registered_by_someone_else_is_refused_and_nothing_changes(desk: HelpDesk) -> None:
    reference = register(desk)
    desk.submit("warranty_registration", email="bo@example.com", serial_number=NEW_SERIAL)
    before = sorted(desk.raw_items(), key=lambda item: (item["pk"], item["sk"]))

    result = correct(desk, reference, "serial_number", NEW_SERIAL)

    assert result.exit_code == 1
    assert "already holds that warranty serial" in result.output and "Traceback" not in result.output
    after = sorted((item for item in desk.raw_items() if not item["pk"].startswith(AUDIT_PREFIX)),
                   key=lambda item: (item["pk"], item["sk"]))
    assert after == before
    assert lookup(desk).status(OLD_SERIAL, ANN).registered_on == date.today()
