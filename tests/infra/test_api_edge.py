"""What CloudFront passes on to the API, and what the function knows of the site it serves."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from chalicelib.web.posts import VIEWER_HEADERS

from tests.infra.conftest import ROOT
from tests.infra.test_template import MANAGED_CACHING_DISABLED, refers_to


def api_behavior(resources: dict[str, Any]) -> dict[str, Any]:
    config = resources["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    return api


def origin_request_policy(resources: dict[str, Any]) -> dict[str, Any]:
    api = api_behavior(resources)
    assert refers_to(api["OriginRequestPolicyId"], "ApiOriginRequestPolicy")
    resource = resources["Resources"]["ApiOriginRequestPolicy"]
    assert resource["Type"] == "AWS::CloudFront::OriginRequestPolicy"
    return resource["Properties"]["OriginRequestPolicyConfig"]


def test_the_api_gets_the_viewers_own_address_for_the_per_address_limit(resources: dict[str, Any]) -> None:
    headers = origin_request_policy(resources)["HeadersConfig"]
    assert headers["HeaderBehavior"] == "whitelist"
    assert "cloudfront-viewer-address" in {name.lower() for name in headers["Headers"]}


def test_the_api_gets_every_header_it_reads_and_never_the_viewers_host(resources: dict[str, Any]) -> None:
    config = origin_request_policy(resources)
    forwarded = {name.lower() for name in config["HeadersConfig"]["Headers"]}
    assert forwarded == {*VIEWER_HEADERS, "cloudfront-viewer-address"}
    assert "host" not in forwarded  # API Gateway answers only to its own Host
    assert config["QueryStringsConfig"]["QueryStringBehavior"] == "all"  # ?token=, ?receipt=, ?page=
    assert config["CookiesConfig"]["CookieBehavior"] == "none"
    assert api_behavior(resources)["CachePolicyId"] == MANAGED_CACHING_DISABLED


def test_every_header_the_app_reads_is_one_the_cdn_passes_on() -> None:
    """The app's own reads of request headers, found in its source, are all in VIEWER_HEADERS
    (or are set by the CDN itself). The staff console is not the API: its behaviour passes on
    every viewer header (test_console_template.py)."""
    import re

    chalicelib = ROOT / "backend" / "chalicelib"
    read = set()
    for path in [ROOT / "backend" / "app.py", *chalicelib.rglob("*.py")]:
        if path.is_relative_to(chalicelib / "console"):
            continue
        read |= {name.lower() for name in re.findall(r'headers\.get\("([A-Za-z-]+)"', path.read_text())}
    set_by_the_cdn = {"cloudfront-viewer-address", "host", "x-aftercare-origin"}
    assert read - set_by_the_cdn <= set(VIEWER_HEADERS)
    assert read >= {"sec-fetch-site", "origin", "cloudfront-viewer-address"}


def test_the_function_is_told_the_sites_origin_under_the_name_the_app_reads(
    resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = resources["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    value = variables["AFTERCARE_SITE_ORIGINS"]
    condition, with_domain, _ = value["Fn::If"]
    assert condition == "HasCustomDomain"
    assert json.dumps(with_domain) == json.dumps({"Fn::Sub": "https://${DomainName}"})
    if str(ROOT / "backend") not in sys.path:
        sys.path.insert(0, str(ROOT / "backend"))
    import app as app_module

    monkeypatch.setenv("AFTERCARE_SITE_ORIGINS", "https://help.example")
    app_module.site_origins.cache_clear()
    try:
        assert app_module.site_origins() == ("https://help.example",)
    finally:
        app_module.site_origins.cache_clear()
