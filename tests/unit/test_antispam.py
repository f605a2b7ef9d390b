import pytest
from chalicelib.antispam import Verdict, screen
from chalicelib.web import FormPost


def post(**transport: object) -> FormPost:
    return FormPost(fields={}, **{"from_browser_form": False, **transport})  # type: ignore[arg-type]


@pytest.mark.parametrize(("transport", "verdict"), [
    ({}, Verdict.GENUINE),
    ({"honeypot_filled": True}, Verdict.DECOY),
    ({"honeypot_filled": True, "fill_milliseconds": 100}, Verdict.DECOY),
    ({"fill_milliseconds": 1999}, Verdict.TOO_FAST),
    ({"fill_milliseconds": -5}, Verdict.TOO_FAST),
    ({"fill_milliseconds": 2000}, Verdict.GENUINE),
    # Plain HTML forms run no script, so a fill time they carry was not measured by us.
    ({"from_browser_form": True, "fill_milliseconds": 10}, Verdict.GENUINE),
    ({"from_browser_form": True, "honeypot_filled": True}, Verdict.DECOY),
])
def test_screening(transport: dict, verdict: Verdict) -> None:
    assert screen(post(**transport)) is verdict
