from datetime import UTC, datetime

from chalicelib.rules.policy import add_months, data_policy, parse_policy


def test_enquiries_are_kept_24_months_by_default() -> None:
    created = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
    assert data_policy().expires_at("enquiry", created) == datetime(2028, 3, 15, 10, 0, tzinfo=UTC)


def test_month_ends_are_clamped() -> None:
    assert add_months(datetime(2026, 1, 31), 1) == datetime(2026, 2, 28)
    assert add_months(datetime(2027, 11, 30), 3) == datetime(2028, 2, 29)


def test_retention_comes_from_the_policy_file() -> None:
    policy = parse_policy(
        'notice_version = "v9"\n[kinds.enquiry]\nretention_months = 6\n'
        "[technical]\nidempotency_hours = 1\n"
    )
    created = datetime(2026, 1, 10, tzinfo=UTC)
    assert policy.expires_at("enquiry", created) == datetime(2026, 7, 10, tzinfo=UTC)
    assert policy.notice_version == "v9"


def test_every_form_kind_has_a_retention_period() -> None:
    from chalicelib.forms import FORMS

    assert set(FORMS) <= set(data_policy().retention_months)
