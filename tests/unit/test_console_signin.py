"""The console's sign-in and session, pure: a provider made of canned answers and keys made here."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from aftercare_local.paths import BACKEND
from chalicelib.console import session as sessions
from chalicelib.console.exceptions import (
    CsrfTokenMismatch,
    IdTokenRejected,
    ProviderUnavailable,
    SessionExpired,
    SessionInvalid,
    SignInAttemptInvalid,
    SignInError,
    SignInRefused,
)
from chalicelib.console.signin import HttpAnswer, SignInAttempt, StaffIdentity, StaffSignIn, safe_return_path
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
CLIENT_ID = "console-client"
REDIRECT_URI = "https://help.shop.example/staff/callback"
NOW = 1_800_000_000.0
SECRET = b"s" * 32
FIRST_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SECOND_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class FakeProvider:
    """Answers by URL, as Cognito would; records what the console sent."""

    keys: list[dict[str, Any]] = field(default_factory=lambda: [public_jwk(FIRST_KEY, "k1")])
    discovery: dict[str, Any] = field(default_factory=lambda: {
        "issuer": ISSUER,
        "authorization_endpoint": "https://staff-login.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
        "token_endpoint": "https://staff-login.auth.eu-west-1.amazoncognito.com/oauth2/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
    })
    token_answer: HttpAnswer = HttpAnswer(200, b"{}")
    requests: list[tuple[str, bytes | None]] = field(default_factory=list)

    def __call__(self, url: str, form: bytes | None) -> HttpAnswer:
        self.requests.append((url, form))
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return HttpAnswer(200, json.dumps(self.discovery).encode())
        if url == self.discovery["jwks_uri"]:
            return HttpAnswer(200, json.dumps({"keys": self.keys}).encode())
        if url == self.discovery["token_endpoint"]:
            return self.token_answer
        return HttpAnswer(404, b"")

    def fetched(self, url: str) -> int:
        return sum(1 for requested, _ in self.requests if requested == url)


def id_token(key: rsa.RSAPrivateKey = FIRST_KEY, kid: str = "k1", algorithm: str = "RS256",
             **overrides: Any) -> str:
    claims = {
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "5f1c-staff", "email": "ravi@shop.example",
        "cognito:groups": ["handlers", "eu-west-1_Example_Google"], "token_use": "id",
        "iat": int(NOW) - 5, "exp": int(NOW) + 3600, "nonce": "the-nonce", **overrides,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def client(provider: FakeProvider, issuer: str = ISSUER) -> StaffSignIn:
    return StaffSignIn(issuer, CLIENT_ID, REDIRECT_URI, provider)


# -- the redirect to the provider ------------------------------------------------------

def test_the_authorize_url_carries_state_nonce_and_an_s256_challenge_of_the_verifier() -> None:
    attempt, url = client(FakeProvider()).begin(NOW, return_to="/staff/cases/CP-7K3M-Q9XD")

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    endpoint = FakeProvider().discovery["authorization_endpoint"]
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == endpoint
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI and query["scope"] == "openid email"
    assert query["state"] == attempt.state and query["nonce"] == attempt.nonce
    assert query["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(attempt.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode()
    assert 43 <= len(attempt.code_verifier) <= 128
    assert attempt.return_to == "/staff/cases/CP-7K3M-Q9XD" and attempt.started_at == int(NOW)


def test_two_attempts_never_share_state_nonce_or_verifier() -> None:
    sign_in = client(FakeProvider())
    first, _ = sign_in.begin(NOW)
    second, _ = sign_in.begin(NOW)
    assert {first.state, first.nonce, first.code_verifier}.isdisjoint(
        {second.state, second.nonce, second.code_verifier})


@pytest.mark.parametrize("path", ["https://evil.example/", "//evil.example/staff/", "/staff/\\evil",
                                  "/api/enquiries", "/staff/x\r\nSet-Cookie: a=b", "javascript:alert(1)",
                                  "/staff/../api/health", "/staff/%2E%2e/api/health"])
def test_a_return_path_outside_the_console_goes_home(path: str) -> None:
    assert safe_return_path(path) == "/staff/"


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    provider = FakeProvider()
    provider.discovery["issuer"] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"
    with pytest.raises(ProviderUnavailable, match="another issuer"):
        client(provider).begin(NOW)


def test_an_issuer_with_a_trailing_slash_is_matched_exactly() -> None:
    provider = FakeProvider()
    provider.discovery["issuer"] = f"{ISSUER}/"
    assert client(provider, issuer=f"{ISSUER}/").metadata().issuer == f"{ISSUER}/"
    assert provider.fetched(f"{ISSUER}/.well-known/openid-configuration") == 1


def test_a_return_path_inside_the_console_is_kept() -> None:
    assert safe_return_path("/staff/queues?kind=complaint&page=2") == "/staff/queues?kind=complaint&page=2"


def test_discovery_is_fetched_once() -> None:
    provider = FakeProvider()
    sign_in = client(provider)
    sign_in.begin(NOW)
    sign_in.begin(NOW)
    assert provider.fetched(f"{ISSUER}/.well-known/openid-configuration") == 1


@pytest.mark.parametrize("issuer", ["http://idp.shop.example", "ftp://127.0.0.1"])
def test_a_plain_http_issuer_off_this_machine_is_refused(issuer: str) -> None:
    with pytest.raises(ProviderUnavailable, match="https"):
        StaffSignIn(issuer, CLIENT_ID, REDIRECT_URI, FakeProvider())


# -- the callback ------------------------------------------------------------------------

def attempt_for(state: str = "the-state") -> SignInAttempt:
    return SignInAttempt(state=state, nonce="the-nonce", code_verifier="v" * 64, started_at=int(NOW))


def test_the_callback_exchanges_the_code_as_a_public_client_and_returns_the_staff_identity() -> None:
    provider = FakeProvider(token_answer=HttpAnswer(200, json.dumps({"id_token": id_token()}).encode()))

    identity = client(provider).complete({"code": "abc", "state": "the-state"}, attempt_for(), NOW)

    assert identity == StaffIdentity("5f1c-staff", "ravi@shop.example", ("handlers",))
    [(_, form)] = [request for request in provider.requests if request[0].endswith("/oauth2/token")]
    assert form is not None
    assert dict(parse_qsl(form.decode())) == {
        "grant_type": "authorization_code", "code": "abc", "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "code_verifier": "v" * 64,
    }


@pytest.mark.parametrize(("query", "error", "message"), [
    ({"code": "abc", "state": "another-state"}, SignInAttemptInvalid, "not the one"),
    ({"code": "abc"}, SignInAttemptInvalid, "not the one"),
    ({"code": "abc", "state": "the-state", "iss": "https://idp.evil.example"}, SignInAttemptInvalid,
     "another"),
    ({"error": "access_denied", "state": "the-state"}, SignInRefused, r"\(access_denied\)"),
    ({"error": "<b>x</b>", "state": "the-state"}, SignInRefused, r"\(refused\)"),
    ({"state": "the-state"}, SignInAttemptInvalid, "no code"),
])
def test_a_callback_that_is_not_this_attempts_answer_is_refused_before_any_exchange(
        query: Mapping[str, str], error: type[SignInError], message: str) -> None:
    provider = FakeProvider()
    with pytest.raises(error, match=message):
        client(provider).complete(query, attempt_for(), NOW)
    assert provider.fetched(provider.discovery["token_endpoint"]) == 0


def test_a_code_the_provider_refuses_is_a_plain_refusal() -> None:
    provider = FakeProvider(token_answer=HttpAnswer(400, b'{"error": "invalid_grant"}'))
    with pytest.raises(SignInRefused, match="invalid_grant"):
        client(provider).complete({"code": "used", "state": "the-state"}, attempt_for(), NOW)


def test_a_provider_failing_at_the_token_endpoint_is_unavailable_not_refused() -> None:
    provider = FakeProvider(token_answer=HttpAnswer(503, b"busy"))
    with pytest.raises(ProviderUnavailable, match="503"):
        client(provider).complete({"code": "abc", "state": "the-state"}, attempt_for(), NOW)


# -- the ID token ------------------------------------------------------------------------

def verify(token: str, provider: FakeProvider | None = None, now: float = NOW) -> StaffIdentity:
    return client(provider or FakeProvider()).verify_id_token(token, "the-nonce", now)


def test_a_valid_id_token_is_accepted() -> None:
    assert verify(id_token()).subject == "5f1c-staff"


def test_a_tampered_signature_is_rejected() -> None:
    header, payload, signature = id_token().split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["cognito:groups"] = ["admins"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(IdTokenRejected, match="signature"):
        verify(f"{header}.{forged_payload}.{signature}")


def test_a_token_signed_by_another_key_under_the_known_kid_is_rejected() -> None:
    with pytest.raises(IdTokenRejected, match="signature"):
        verify(id_token(key=SECOND_KEY, kid="k1"))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"}, "another provider"),
    ({"aud": "another-client"}, "another client"),
    ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "another client"),
    ({"exp": int(NOW) - 61}, "expired"),
    ({"iat": int(NOW) + 120}, "future"),
    ({"nonce": "another-nonce"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"email": None}, "no email"),
    ({"token_use": "access"}, "not an ID token"),
    ({"cognito:groups": "admins"}, "not a list"),
])
def test_an_id_token_failing_a_check_is_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(IdTokenRejected, match=message):
        verify(id_token(**overrides))


def test_expiry_has_a_small_leeway() -> None:
    assert verify(id_token(exp=int(NOW) - 30)).email == "ravi@shop.example"


def test_an_unsigned_or_symmetric_token_is_rejected_whatever_it_claims() -> None:
    claims = {"iss": ISSUER, "aud": CLIENT_ID}
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers={"kid": "k1"})
    symmetric = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    for token in (unsigned, symmetric, "not.a.token"):
        with pytest.raises(IdTokenRejected):
            verify(token)


def test_an_unknown_kid_fetches_the_keys_again_once_and_accepts_the_rotated_key() -> None:
    provider = FakeProvider()
    sign_in = client(provider)
    sign_in.verify_id_token(id_token(), "the-nonce", NOW)
    provider.keys = [public_jwk(FIRST_KEY, "k1"), public_jwk(SECOND_KEY, "k2")]

    identity = sign_in.verify_id_token(id_token(key=SECOND_KEY, kid="k2"), "the-nonce", NOW + 10)
    sign_in.verify_id_token(id_token(key=SECOND_KEY, kid="k2"), "the-nonce", NOW + 20)

    assert identity.subject == "5f1c-staff"
    assert provider.fetched(provider.discovery["jwks_uri"]) == 2


def test_a_kid_the_provider_does_not_publish_is_rejected_after_one_fetch() -> None:
    provider = FakeProvider()
    sign_in = client(provider)
    sign_in.verify_id_token(id_token(), "the-nonce", NOW)

    with pytest.raises(IdTokenRejected, match="does not publish"):
        sign_in.verify_id_token(id_token(key=SECOND_KEY, kid="k-unknown"), "the-nonce", NOW)
    assert provider.fetched(provider.discovery["jwks_uri"]) == 2


def test_a_withdrawn_key_stops_being_trusted_once_the_cached_keys_are_old() -> None:
    provider = FakeProvider()
    sign_in = client(provider)
    sign_in.verify_id_token(id_token(), "the-nonce", NOW)
    provider.keys = [public_jwk(SECOND_KEY, "k2")]

    later = NOW + 2 * 3600
    with pytest.raises(IdTokenRejected, match="does not publish"):
        sign_in.verify_id_token(id_token(iat=int(later), exp=int(later) + 60), "the-nonce", later)


# -- signing out -------------------------------------------------------------------------

def test_sign_out_uses_the_end_session_endpoint_when_the_provider_publishes_one() -> None:
    provider = FakeProvider()
    provider.discovery["end_session_endpoint"] = "https://idp.shop.example/session/end"
    url = client(provider).sign_out_url("https://help.shop.example/staff/signed-out")
    back = "https%3A%2F%2Fhelp.shop.example%2Fstaff%2Fsigned-out"
    # Cognito's /logout (its published end_session_endpoint) reads logout_uri; the others read the first.
    assert url == ("https://idp.shop.example/session/end?client_id=console-client"
                   f"&post_logout_redirect_uri={back}&logout_uri={back}")


def test_sign_out_uses_cognitos_logout_beside_its_authorize_endpoint() -> None:
    url = client(FakeProvider()).sign_out_url("https://help.shop.example/staff/signed-out")
    assert url == ("https://staff-login.auth.eu-west-1.amazoncognito.com/logout?client_id=console-client"
                   "&logout_uri=https%3A%2F%2Fhelp.shop.example%2Fstaff%2Fsigned-out")


# -- the session cookie ------------------------------------------------------------------

IDENTITY = StaffIdentity("5f1c-staff", "ravi@shop.example", ("handlers",))


def test_a_session_survives_its_cookie() -> None:
    session = sessions.start_session(IDENTITY, NOW)
    opened = sessions.open_session(sessions.seal_session(session, SECRET), SECRET, NOW + 60)
    assert opened == session and opened.identity == IDENTITY and len(opened.csrf_token) >= 32


def test_a_tampered_session_cookie_is_refused() -> None:
    value = sessions.seal_session(sessions.start_session(IDENTITY, NOW), SECRET)
    payload, _, signature = value.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=="))
    fields["groups"] = ["admins"]
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()

    for tampered in (f"{forged}.{signature}", f"{payload}.{signature[:-2]}AA", payload, "", None):
        with pytest.raises(SessionInvalid):
            sessions.open_session(tampered, SECRET, NOW)
    with pytest.raises(SessionInvalid):
        sessions.open_session(value, b"another secret of thirty-two bytes", NOW)


def test_a_sign_in_cookie_cannot_pass_for_a_session() -> None:
    attempt_value = sessions.seal_attempt(attempt_for(), SECRET)
    with pytest.raises(SessionInvalid):
        sessions.open_session(attempt_value, SECRET, NOW)
    # Even with a session's fields: the two kinds are signed under different keys.
    session_value = sessions.seal_session(sessions.start_session(IDENTITY, NOW), SECRET)
    fields = json.loads(base64.urlsafe_b64decode(session_value.partition(".")[0] + "=="))
    with pytest.raises(SessionInvalid):
        sessions.open_session(sessions._seal(sessions._ATTEMPT_PURPOSE, SECRET, fields), SECRET, NOW)


def test_a_session_idle_for_more_than_30_minutes_has_expired() -> None:
    value = sessions.seal_session(sessions.start_session(IDENTITY, NOW), SECRET)
    assert sessions.open_session(value, SECRET, NOW + 30 * 60).identity == IDENTITY
    with pytest.raises(SessionExpired, match="idle"):
        sessions.open_session(value, SECRET, NOW + 30 * 60 + 1)


def test_a_session_in_use_ends_after_8_hours() -> None:
    session = sessions.start_session(IDENTITY, NOW)
    now = NOW
    while now + 20 * 60 <= NOW + 8 * 3600:
        now += 20 * 60
        opened = sessions.open_session(sessions.seal_session(session, SECRET), SECRET, now)
        session = sessions.touch(opened, now)
    value = sessions.seal_session(session, SECRET)
    with pytest.raises(SessionExpired, match="8 hours"):
        sessions.open_session(value, SECRET, NOW + 8 * 3600 + 1)
    assert session.issued_at == int(NOW)


def test_a_session_is_sent_back_only_once_a_minute() -> None:
    session = sessions.start_session(IDENTITY, NOW)
    assert not sessions.needs_refresh(session, NOW + 59)
    assert sessions.needs_refresh(session, NOW + 60)


def test_a_post_without_the_sessions_csrf_token_is_refused() -> None:
    session = sessions.start_session(IDENTITY, NOW)
    other = sessions.start_session(IDENTITY, NOW)
    sessions.check_csrf(session, session.csrf_token)
    for submitted in (other.csrf_token, "", None):
        with pytest.raises(CsrfTokenMismatch):
            sessions.check_csrf(session, submitted)


def test_the_session_cookie_is_httponly_lax_and_secure_off_this_machine() -> None:
    session = sessions.start_session(IDENTITY, NOW)
    header = sessions.session_cookie(session, SECRET, "help.shop.example", NOW + 3600)
    attributes = header.split("; ")
    name, _, value = attributes[0].partition("=")
    assert name == "aftercare_staff" and sessions.open_session(value, SECRET, NOW + 60) == session
    assert {"HttpOnly", "SameSite=Lax", "Secure", "Path=/staff", f"Max-Age={7 * 3600}"} <= set(attributes)

    local = sessions.session_cookie(session, SECRET, "127.0.0.1:8000", NOW).split("; ")
    assert "Secure" not in local and "HttpOnly" in local
    cleared = sessions.clear_session_cookie("help.shop.example").split("; ")
    assert cleared[0] == "aftercare_staff=" and "Max-Age=0" in cleared


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("127.0.0.1:8000", True), ("localhost:8000", True), ("[::1]:8000", True),
    ("help.shop.example", False), ("127.0.0.1.evil.example", False), ("localhost.evil.example:443", False),
])
def test_only_this_machine_gets_cookies_without_secure(host: str, local: bool) -> None:
    assert sessions.is_local_host(host) is local


def test_a_cookie_is_read_from_the_cookie_header() -> None:
    header = "theme=dark; aftercare_staff=abc.def; aftercare_signin=xyz"
    assert sessions.cookie_value(header, "aftercare_staff") == "abc.def"
    assert sessions.cookie_value(header, "missing") is None
    assert sessions.cookie_value(None, "aftercare_staff") is None


def test_a_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sessions.seal_session(sessions.start_session(IDENTITY, NOW), b"short")


# -- the sign-in in progress -------------------------------------------------------------

def test_the_sign_in_in_progress_survives_its_cookie_for_ten_minutes() -> None:
    attempt = SignInAttempt("the-state", "the-nonce", "v" * 64, int(NOW), "/staff/cases/CP-1")
    value = sessions.seal_attempt(attempt, SECRET)

    assert sessions.open_attempt(value, SECRET, NOW + 600) == attempt
    for later, tampered in ((NOW + 601, value), (NOW, value[:-3] + "AAA"), (NOW, None)):
        with pytest.raises(SignInAttemptInvalid):
            sessions.open_attempt(tampered, SECRET, later)
    session_value = sessions.seal_session(sessions.start_session(IDENTITY, NOW), SECRET)
    with pytest.raises(SignInAttemptInvalid):
        sessions.open_attempt(session_value, SECRET, NOW)


def test_the_sign_in_cookie_is_short_lived_httponly_and_lax() -> None:
    attributes = sessions.attempt_cookie(attempt_for(), SECRET, "help.shop.example").split("; ")
    name, _, value = attributes[0].partition("=")
    assert name == "aftercare_signin" and sessions.open_attempt(value, SECRET, NOW) == attempt_for()
    assert {"HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600"} <= set(attributes)


def test_the_real_clock_is_never_read_by_the_checks() -> None:
    # A token that expired long ago still passes at the time given: only the clock passed in counts.
    old = NOW - 10 * 365 * 86400
    assert old < time.time()
    assert verify(id_token(iat=int(old), exp=int(old) + 60), now=old).subject == "5f1c-staff"


def test_checking_a_session_loads_no_token_library_and_no_aws_library() -> None:
    # Every console request checks its session; only the sign-in callback needs PyJWT and cryptography.
    probe = ("import json, sys; import chalicelib.console.session, chalicelib.console.signin; "
             "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=BACKEND, capture_output=True,
                                       text=True, check=True).stdout)
    assert "chalicelib" in loaded
    assert [name for name in ("jwt", "cryptography", "boto3", "botocore", "aws_encryption_sdk")
            if name in loaded] == []
