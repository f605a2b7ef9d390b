import pytest
from chalicelib.web.posts import CROSS_SITE, SAME_SITE, UNKNOWN_SITE, FormPost, origin_of
from chalicelib.web.screening import PlainPostLimit, PlainPostLimits, Verdict, screen


def post(**transport: object) -> FormPost:
    return FormPost(fields={}, **{"from_browser_form": False, **transport})  # type: ignore[arg-type]


@pytest.mark.parametrize(("transport", "verdict"), [
    # No fill time: the no-JavaScript rules, so the browser must say it is our own site.
    ({}, Verdict.CROSS_SITE),
    ({"site": SAME_SITE}, Verdict.GENUINE),
    ({"site": CROSS_SITE, "fill_milliseconds": 5000}, Verdict.CROSS_SITE),
    ({"site": UNKNOWN_SITE, "honeypot_filled": True}, Verdict.CROSS_SITE),
    ({"site": SAME_SITE, "honeypot_filled": True}, Verdict.DECOY),
    ({"honeypot_filled": True, "fill_milliseconds": 100}, Verdict.DECOY),
    ({"fill_milliseconds": 1999}, Verdict.TOO_FAST),
    ({"fill_milliseconds": 2000}, Verdict.GENUINE),
    # Plain HTML forms run no script, so a fill time they carry was not measured by us.
    ({"from_browser_form": True, "fill_milliseconds": 10, "site": SAME_SITE}, Verdict.GENUINE),
    ({"from_browser_form": True, "fill_milliseconds": 5000}, Verdict.CROSS_SITE),
    ({"from_browser_form": True, "honeypot_filled": True, "site": SAME_SITE}, Verdict.DECOY),
])
def test_screening(transport: dict, verdict: Verdict) -> None:
    assert screen(post(**transport)) is verdict


@pytest.mark.parametrize(("headers", "site"), [
    ({"sec-fetch-site": "same-origin"}, SAME_SITE),
    ({"sec-fetch-site": "same-site", "origin": "https://evil.example"}, SAME_SITE),
    ({"sec-fetch-site": "cross-site", "origin": "https://help.example", "host": "help.example"}, CROSS_SITE),
    ({"origin": "https://help.example", "host": "help.example"}, SAME_SITE),
    ({"origin": "https://evil.example", "host": "help.example"}, CROSS_SITE),
    ({"origin": "null"}, UNKNOWN_SITE),
    ({"sec-fetch-site": "none"}, UNKNOWN_SITE),
    ({}, UNKNOWN_SITE),
])
def test_where_a_post_comes_from(headers: dict[str, str], site: str) -> None:
    assert origin_of(headers) == site


def test_behind_the_cdn_the_site_origin_is_configured() -> None:
    headers = {"origin": "https://help.example", "host": "abc.execute-api.eu-west-1.amazonaws.com"}
    assert origin_of(headers) == CROSS_SITE
    assert origin_of(headers, ("https://help.example",)) == SAME_SITE


def test_plain_posts_are_limited_per_address_in_a_sliding_window() -> None:
    now = [0.0]
    limit = PlainPostLimits(every_post=PlainPostLimit(limit=3, window_seconds=60, clock=lambda: now[0]))
    same_site = post(site=SAME_SITE)
    assert [screen(same_site, limit, "192.0.2.1") for _ in range(4)] == [Verdict.GENUINE] * 3 + [
        Verdict.RATE_LIMITED]
    assert screen(same_site, limit, "192.0.2.2") is Verdict.GENUINE  # another address
    assert screen(post(site=SAME_SITE, fill_milliseconds=3000), limit, "192.0.2.1") is Verdict.GENUINE
    now[0] = 61
    assert screen(same_site, limit, "192.0.2.1") is Verdict.GENUINE
