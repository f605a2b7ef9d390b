"""The local staff sign-in on its real engine: oidc-provider on a free port, an account made by `staff add`,
and the whole code flow over plain HTTP, finished and verified by the console's own sign-in code."""

from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from aftercare_local import oidc
from aftercare_local.processes import free_port
from chalicelib.console.exceptions import SignInRefused
from chalicelib.console.signin import StaffIdentity, StaffSignIn, urllib_fetch

pytestmark = pytest.mark.slow

EMAIL = "ravi.handler@shop.example"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oidc")


@pytest.fixture(scope="module")
def provider(state_dir: Path) -> Iterator[oidc.LocalProvider]:
    with oidc.running(free_port(), state_dir, site_port=free_port()) as running:
        yield running


def staff_add(state_dir: Path, email: str, *groups: str) -> str:
    """The command as a person runs it; its last word is the password."""
    options = [option for group in groups for option in ("--group", group)]
    finished = subprocess.run(
        [sys.executable, "-m", "aftercare_local", "staff", "add", email, *options,
         "--state-dir", str(state_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return finished.stdout.split()[-1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Browser:
    """Plain HTTP with a cookie jar, following no redirect by itself: each step of the flow is seen."""

    opener: urllib.request.OpenerDirector

    @classmethod
    def new(cls) -> Browser:
        return cls(urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                               NoRedirect))

    def request(self, url: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        data = urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read().decode()

    def follow(self, url: str, form: dict[str, str] | None = None, stop_at: str = "") -> tuple[int, str, str]:
        """Request, then follow redirects until a page, or a redirect to `stop_at` (not requested)."""
        status, headers, body = self.request(url, form)
        for _ in range(10):
            if status not in (302, 303) or (stop_at and headers["Location"].startswith(stop_at)):
                return status, headers.get("Location", url), body
            url = urljoin(url, headers["Location"])
            status, headers, body = self.request(url)
        raise AssertionError("too many redirects")


def form_of(page: str, base: str) -> tuple[str, dict[str, str]]:
    """The page's form: where it posts, and its hidden fields."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return urljoin(base, unescape(action.group(1))), {name: unescape(value) for name, value in hidden.items()}


def sign_in(provider: oidc.LocalProvider, browser: Browser, email: str, password: str,
            ) -> tuple[StaffSignIn, Any, int, str, str]:
    """Up to the provider's answer: (client, attempt, status, where it points, page)."""
    client = StaffSignIn(provider.issuer, provider.client_id, provider.redirect_uri, urllib_fetch)
    attempt, authorize_url = client.begin(time.time())
    status, url, page = browser.follow(authorize_url)
    assert status == 200 and 'name="password"' in page, page
    action, _ = form_of(page, url)
    status, location, page = browser.follow(action, {"email": email, "password": password},
                                            stop_at=provider.redirect_uri)
    return client, attempt, status, location, page


def test_a_staff_account_added_while_running_signs_in_with_its_groups(
        provider: oidc.LocalProvider, state_dir: Path) -> None:
    password = staff_add(state_dir, EMAIL, "handlers", "privacy")

    client, attempt, status, location, _ = sign_in(provider, Browser.new(), EMAIL, password)

    assert status in (302, 303) and location.startswith(provider.redirect_uri)
    identity = client.complete(dict(parse_qsl(urlsplit(location).query)), attempt, time.time())
    subject = json.loads((state_dir / oidc.ACCOUNTS_FILE).read_text())["accounts"][EMAIL]["sub"]
    assert identity == StaffIdentity(subject, EMAIL, ("handlers", "privacy"))


def test_a_wrong_password_is_refused(provider: oidc.LocalProvider, state_dir: Path) -> None:
    staff_add(state_dir, "asha.privacy@shop.example", "privacy")

    _, _, status, _, page = sign_in(provider, Browser.new(), "asha.privacy@shop.example", "not-the-password")

    assert status == 200
    assert "Wrong email or password" in page and 'name="password"' in page


def test_a_login_posted_without_the_interactions_cookie_is_refused(
        provider: oidc.LocalProvider, state_dir: Path) -> None:
    password = staff_add(state_dir, "kofi@shop.example", "handlers")
    client = StaffSignIn(provider.issuer, provider.client_id, provider.redirect_uri, urllib_fetch)
    _, authorize_url = client.begin(time.time())
    status, url, page = Browser.new().follow(authorize_url)
    action, _ = form_of(page, url)

    # Another site's page posting the form: the browser sends no cookie of the provider with it (Lax).
    credentials = {"email": "kofi@shop.example", "password": password}
    status, headers, page = Browser.new().request(action, credentials)

    assert status == 400 and "Location" not in headers
    assert "expired" in page


def test_re_adding_an_account_resets_its_password_and_group(
        provider: oidc.LocalProvider, state_dir: Path) -> None:
    first = staff_add(state_dir, "omar@shop.example", "handlers")
    second = staff_add(state_dir, "Omar@Shop.example", "admins")

    _, _, old_status, _, old_page = sign_in(provider, Browser.new(), "omar@shop.example", first)
    client, attempt, status, location, _ = sign_in(provider, Browser.new(), "omar@shop.example", second)

    assert old_status == 200 and "Wrong email or password" in old_page
    identity = client.complete(dict(parse_qsl(urlsplit(location).query)), attempt, time.time())
    assert identity.groups == ("admins",)


def test_a_code_is_exchanged_once_only(provider: oidc.LocalProvider, state_dir: Path) -> None:
    password = staff_add(state_dir, "lena@shop.example", "handlers")
    client, attempt, _, location, _ = sign_in(provider, Browser.new(), "lena@shop.example", password)
    answer = dict(parse_qsl(urlsplit(location).query))
    client.complete(answer, attempt, time.time())

    with pytest.raises(SignInRefused, match="invalid_grant"):
        client.complete(answer, attempt, time.time())


def test_sign_out_ends_the_providers_session(provider: oidc.LocalProvider, state_dir: Path) -> None:
    password = staff_add(state_dir, "mei@shop.example", "handlers")
    browser = Browser.new()
    client, _, _, _, _ = sign_in(provider, browser, "mei@shop.example", password)
    # Signed in at the provider: a second sign-in goes straight back to the console.
    _, again = client.begin(time.time())
    status, location, _ = browser.follow(again, stop_at=provider.redirect_uri)
    assert location.startswith(provider.redirect_uri)

    sign_out = client.sign_out_url(provider.post_logout_redirect_uri)
    assert sign_out is not None
    status, url, page = browser.follow(sign_out)
    assert status == 200 and "Sign out" in page
    action, fields = form_of(page, url)
    status, location, _ = browser.follow(action, {**fields, "logout": "yes"},
                                         stop_at=provider.post_logout_redirect_uri)

    assert location == provider.post_logout_redirect_uri
    _, after = client.begin(time.time())
    status, _, page = browser.follow(after)
    assert status == 200 and 'name="password"' in page


def test_the_providers_pages_load_nothing_from_elsewhere_and_run_no_script(
        provider: oidc.LocalProvider) -> None:
    client = StaffSignIn(provider.issuer, provider.client_id, provider.redirect_uri, urllib_fetch)
    _, authorize_url = client.begin(time.time())
    browser = Browser.new()
    status, headers, _ = browser.request(authorize_url)
    status, headers, page = browser.request(urljoin(authorize_url, headers["Location"]))

    assert status == 200
    assert "<script" not in page and "http" not in page.replace(provider.issuer, "")
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_a_restart_keeps_the_signing_key(state_dir: Path, provider: oidc.LocalProvider) -> None:
    def key_ids(issuer: str) -> list[str]:
        with urllib.request.urlopen(f"{issuer}/jwks", timeout=10) as answer:
            return [key["kid"] for key in json.load(answer)["keys"]]

    before = key_ids(provider.issuer)
    with oidc.running(free_port(), state_dir, site_port=free_port()) as restarted:
        assert key_ids(restarted.issuer) == before


def test_a_busy_port_stops_the_provider_with_one_plain_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(oidc.LocalSignInError) as refused, \
                oidc.running(busy, tmp_path, site_port=free_port()):
            pass

    assert str(refused.value).splitlines() == [
        f"the local sign-in provider did not start: cannot listen on 127.0.0.1:{busy}: EADDRINUSE"]
