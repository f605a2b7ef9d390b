"""Staff sign-in by OpenID Connect (code flow, PKCE S256): one path for Cognito and the local provider.

Discovery, the authorize URL (state, nonce, PKCE), the token exchange of a
public client, and every check of the ID token (signature against the
provider's JWKS, issuer, audience, expiry, nonce). There is no local mode that
skips one: the local provider passes the same checks as Cognito. HTTP comes in
as a callable, the clock as an argument.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from chalicelib.console.exceptions import (
    IdTokenRejected,
    ProviderUnavailable,
    SignInAttemptInvalid,
    SignInRefused,
)

if TYPE_CHECKING:
    from jwt import PyJWK

# The console's groups, named as the Cognito user pool's groups are.
STAFF_GROUPS = ("handlers", "privacy", "admins")
GROUPS_CLAIM = "cognito:groups"
SCOPE = "openid email"
SIGNING_ALGORITHM = "RS256"
# Clocks of the provider and of Lambda drift a little; a minute covers it without keeping a stale token.
LEEWAY_SECONDS = 60
# Keys the provider withdrew stop being trusted within this long.
JWKS_MAX_AGE_SECONDS = 3600
ANSWER_LIMIT_BYTES = 1_000_000
HOME_PATH = "/staff/"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


# GET `url` when the body is None, else POST the body as an application/x-www-form-urlencoded form.
Fetch = Callable[[str, "bytes | None"], HttpAnswer]


@dataclass(frozen=True)
class StaffIdentity:
    """Who signed in, as the ID token says: the audit trail records the subject and email."""

    subject: str
    email: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class SignInAttempt:
    """What the callback needs to finish a sign-in; carried in a short-lived signed cookie."""

    state: str
    nonce: str
    code_verifier: str
    started_at: int
    return_to: str = HOME_PATH


class StaffSignIn:
    """The console as an OpenID Connect client of one provider (a public client: PKCE, no secret)."""

    def __init__(
        self, issuer: str, client_id: str, redirect_uri: str, fetch: Fetch, *,
        random_token: Callable[[int], str] = secrets.token_urlsafe,
    ):
        _require_secure_url(issuer, "issuer")
        # Kept exactly as given: the discovery document and the ID tokens must name it so.
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._fetch = fetch
        self._random_token = random_token
        self._metadata: ProviderMetadata | None = None
        self._keys: dict[str, PyJWK] = {}
        self._keys_fetched_at: float | None = None

    # -- discovery -----------------------------------------------------------------

    def metadata(self) -> ProviderMetadata:
        """The provider's discovery document, fetched once and kept."""
        if self._metadata is None:
            self._metadata = self._discover()
        return self._metadata

    def _discover(self) -> ProviderMetadata:
        document = self._get_json(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration",
                                  "discovery document")
        # A document that names another issuer is not this provider's (OpenID Connect Discovery 4.3).
        if document.get("issuer") != self.issuer:
            raise ProviderUnavailable("the sign-in provider's discovery document names another issuer")
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise ProviderUnavailable("the sign-in provider does not offer PKCE with S256")
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str):
                raise ProviderUnavailable(f"the sign-in provider's discovery document has no {name}")
            _require_secure_url(value, name)
            endpoints[name] = value
        end_session = document.get("end_session_endpoint")
        return ProviderMetadata(
            issuer=self.issuer, end_session_endpoint=end_session if isinstance(end_session, str) else None,
            **endpoints,
        )

    # -- the redirect to the provider -----------------------------------------------

    def begin(self, now: float, return_to: str = HOME_PATH) -> tuple[SignInAttempt, str]:
        """A new attempt (to keep in the sign-in cookie) and the provider's URL to send the browser to."""
        attempt = SignInAttempt(
            state=self._random_token(32), nonce=self._random_token(32),
            code_verifier=self._random_token(48),  # 64 characters: RFC 7636 asks for 43 to 128
            started_at=int(now), return_to=safe_return_path(return_to),
        )
        query = urlencode({
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": code_challenge(attempt.code_verifier),
            "code_challenge_method": "S256",
        })
        return attempt, _with_query(self.metadata().authorization_endpoint, query)

    # -- the callback --------------------------------------------------------------

    def complete(self, query: Mapping[str, str], attempt: SignInAttempt, now: float) -> StaffIdentity:
        """The callback's query checked against the attempt, the code exchanged, the ID token verified."""
        if not hmac.compare_digest(query.get("state", "").encode(), attempt.state.encode()):
            raise SignInAttemptInvalid("this sign-in is not the one this browser started: start again")
        # RFC 9207: an answer that names another issuer was meant for another provider (mix-up).
        if "iss" in query and query["iss"] != self.issuer:
            raise SignInAttemptInvalid("this sign-in answer came from another provider: start again")
        if "error" in query:
            reason = query["error"] if _ERROR_CODE.fullmatch(query["error"]) else "refused"
            raise SignInRefused(f"the sign-in provider ended the sign-in ({reason})")
        code = query.get("code")
        if not code:
            raise SignInAttemptInvalid("the sign-in answer carries no code: start again")
        id_token = self.exchange_code(code, attempt.code_verifier)
        return self.verify_id_token(id_token, attempt.nonce, now)

    def exchange_code(self, code: str, code_verifier: str) -> str:
        """The authorization code and PKCE verifier for an ID token, at the token endpoint."""
        form = urlencode({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier,
        }).encode()
        answer = self._fetch(self.metadata().token_endpoint, form)
        if 400 <= answer.status < 500:
            error = _json_object(answer.body).get("error")
            code_name = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "refused"
            raise SignInRefused(f"the sign-in provider did not accept the code ({code_name}): start again")
        if answer.status != 200:
            raise ProviderUnavailable(f"the sign-in provider's token endpoint answered {answer.status}")
        id_token = _json_object(answer.body).get("id_token")
        if not isinstance(id_token, str):
            raise ProviderUnavailable("the sign-in provider sent no ID token")
        return id_token

    # -- the ID token --------------------------------------------------------------

    def verify_id_token(self, id_token: str, nonce: str, now: float) -> StaffIdentity:
        """Every check, or IdTokenRejected: signature (RS256, the provider's JWKS), issuer, audience,
        expiry and issue time (with a small leeway), nonce."""
        import jwt  # the console's sign-in alone needs it: no other cold start pays for its import

        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise IdTokenRejected("the ID token is not a signed token") from None
        if header.get("alg") != SIGNING_ALGORITHM:
            raise IdTokenRejected(f"the ID token is not signed with {SIGNING_ALGORITHM}")
        key = self._signing_key(header.get("kid"), now)
        try:
            claims = jwt.decode(
                id_token, key=key, algorithms=[SIGNING_ALGORITHM], audience=self.client_id,
                issuer=self.issuer,
                # Time is checked below against the clock passed in, not the library's own.
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError:
            raise IdTokenRejected("the ID token's signature does not match the provider's key") from None
        except jwt.InvalidAudienceError:
            raise IdTokenRejected("the ID token was issued to another client") from None
        except jwt.InvalidIssuerError:
            raise IdTokenRejected("the ID token was issued by another provider") from None
        except jwt.PyJWTError as error:
            raise IdTokenRejected(f"the ID token is not valid: {error}") from None
        _check_times(claims, now)
        _check_party(claims, self.client_id)
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
                claims["nonce"].encode(), nonce.encode()):
            raise IdTokenRejected("the ID token's nonce is not this sign-in's")
        return _identity(claims)

    def _signing_key(self, key_id: object, now: float) -> PyJWK:
        if not isinstance(key_id, str):
            raise IdTokenRejected("the ID token names no signing key")
        stale = self._keys_fetched_at is None or now - self._keys_fetched_at > JWKS_MAX_AGE_SECONDS
        if stale or key_id not in self._keys:
            # An unknown key is fetched for once: the provider may have rotated its keys since.
            self._keys = self._fetch_keys()
            self._keys_fetched_at = now
        if key_id not in self._keys:
            raise IdTokenRejected("the ID token is signed with a key the provider does not publish")
        return self._keys[key_id]

    def _fetch_keys(self) -> dict[str, PyJWK]:
        from jwt import PyJWK
        from jwt.exceptions import PyJWKError

        document = self._get_json(self.metadata().jwks_uri, "signing keys")
        keys: dict[str, PyJWK] = {}
        for entry in document.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            if not isinstance(entry.get("kid"), str):
                continue
            try:
                keys[entry["kid"]] = PyJWK(entry, algorithm=SIGNING_ALGORITHM)
            except PyJWKError:
                continue  # one unusable key must not hide the others
        return keys

    # -- signing out ---------------------------------------------------------------

    def sign_out_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too, then come back; None if unknown."""
        metadata = self.metadata()
        if metadata.end_session_endpoint:
            # Cognito's end_session_endpoint (its /logout) reads logout_uri; OpenID providers read
            # post_logout_redirect_uri: both are sent, each ignores the other's.
            query = urlencode({"client_id": self.client_id,
                               "post_logout_redirect_uri": post_logout_redirect_uri,
                               "logout_uri": post_logout_redirect_uri})
            return _with_query(metadata.end_session_endpoint, query)
        # Cognito's managed login publishes no end_session_endpoint: its /logout is beside /oauth2/authorize.
        authorize = urlsplit(metadata.authorization_endpoint)
        if authorize.path == "/oauth2/authorize":
            query = urlencode({"client_id": self.client_id, "logout_uri": post_logout_redirect_uri})
            return f"{authorize.scheme}://{authorize.netloc}/logout?{query}"
        return None

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        answer = self._fetch(url, None)
        if answer.status != 200:
            raise ProviderUnavailable(f"the sign-in provider's {what} answered {answer.status}")
        document = _json_object(answer.body)
        if not document:
            raise ProviderUnavailable(f"the sign-in provider's {what} is not a JSON object")
        return document


def code_challenge(code_verifier: str) -> str:
    """PKCE S256: the base64url SHA-256 of the verifier, unpadded (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def safe_return_path(path: str) -> str:
    """A console path to come back to after sign-in; anything else (another site, a trick) goes home."""
    if (
        not path.startswith(HOME_PATH) or "//" in path or "\\" in path
        # Browsers resolve `..` (and `%2e%2e`) segments: /staff/../ would leave the console.
        or ".." in path or "%2e" in path.lower()
        or any(ord(character) < 0x20 or ord(character) == 0x7F for character in path)
    ):
        return HOME_PATH
    return path


def _with_query(endpoint: str, query: str) -> str:
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        raise IdTokenRejected("the ID token's times are not numbers")
    if now > expires + LEEWAY_SECONDS:
        raise IdTokenRejected("the ID token has expired")
    if issued > now + LEEWAY_SECONDS:
        raise IdTokenRejected("the ID token was issued in the future")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and not_before > now + LEEWAY_SECONDS:
        raise IdTokenRejected("the ID token is not valid yet")


def _check_party(claims: Mapping[str, Any], client_id: str) -> None:
    """Several audiences: `azp` must be us (OpenID Connect Core 3.1.3.7); an access token is no ID token."""
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise IdTokenRejected("the ID token was issued to another client")
    if claims.get("token_use", "id") != "id":
        raise IdTokenRejected("the token is not an ID token")


def _identity(claims: Mapping[str, Any]) -> StaffIdentity:
    subject, email = claims.get("sub"), claims.get("email")
    if not isinstance(subject, str) or not subject:
        raise IdTokenRejected("the ID token names no subject")
    if not isinstance(email, str) or "@" not in email:
        raise IdTokenRejected("the ID token carries no email")
    groups = claims.get(GROUPS_CLAIM) or []
    if not isinstance(groups, list):
        raise IdTokenRejected("the ID token's groups are not a list")
    # Only the console's own groups count: a pool may hold others (federated users' groups, for example).
    return StaffIdentity(subject, email, tuple(group for group in STAFF_GROUPS if group in groups))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _require_secure_url(url: str, what: str) -> None:
    """HTTPS, except plain HTTP on this machine (the local provider of `make run`)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return
    raise ProviderUnavailable(f"the sign-in provider's {what} is not an https URL")


def urllib_fetch(url: str, form: bytes | None = None, *, timeout: float = 5.0) -> HttpAnswer:
    """The real fetcher: urllib, no redirects followed, answers capped in size."""
    import urllib.error
    import urllib.request

    _require_secure_url(url, "address")
    headers = {"Accept": "application/json"}
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    # https, or http on this machine only: checked above.
    request = urllib.request.Request(  # noqa: S310
        url, data=form, headers=headers, method="GET" if form is None else "POST")
    opener = _opener()
    try:
        with opener.open(request, timeout=timeout) as answer:
            return HttpAnswer(answer.status, answer.read(ANSWER_LIMIT_BYTES))
    except urllib.error.HTTPError as error:
        with error:
            return HttpAnswer(error.code, error.read(ANSWER_LIMIT_BYTES))
    except (urllib.error.URLError, OSError) as error:
        raise ProviderUnavailable("the sign-in provider could not be reached") from error


@functools.cache
def _opener() -> Any:
    """Follows no redirect: discovery, keys and tokens come from the URLs named, or not at all."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)
