"""The local staff sign-in: an OpenID Connect provider (npm `oidc-provider`) and its accounts file.

In AWS the console signs staff in through a Cognito user pool; locally this
provider stands in for it, on 127.0.0.1, with the same ID token claims. Its
accounts are a JSON file in its state folder, written here (`staff add`) and
read by the provider at each sign-in.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.console.signin import STAFF_GROUPS

from aftercare_local.paths import LOCAL_STATE, NODE_MODULES
from aftercare_local.processes import first_line, start, stop

LAUNCHER = Path(__file__).with_name("oidc_provider.js")
DEFAULT_STATE_DIR = LOCAL_STATE / "oidc"
ACCOUNTS_FILE = "accounts.json"
START_SECONDS = 30
# scrypt's costs for the stored password hashes; the provider reads them from each hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PASSWORD_BYTES = 18  # 24 characters, 144 bits: strong enough that no policy needs checking
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class LocalSignInError(Exception):
    """The local provider could not start, or a staff account could not be written."""


@dataclass(frozen=True)
class LocalProvider:
    """A running local provider: its issuer and the console's client there."""

    issuer: str
    client_id: str
    site_port: int

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.site_port}/staff/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.site_port}/staff/signed-out"


@contextlib.contextmanager
def running(port: int, state_dir: Path, site_port: int) -> Iterator[LocalProvider]:
    """The provider on 127.0.0.1:port for the console on site_port; keys and accounts in state_dir."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "oidc-provider").is_dir():
        raise LocalSignInError("oidc-provider is missing: `make setup` installs it (npm)")
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Its own output (warnings, failures) goes to a file: nothing reads a pipe once it has started.
    log_path = state_dir / "provider.log"
    with log_path.open("w") as log:
        process = start(
            [node, str(LAUNCHER), str(port), str(state_dir), str(site_port)],
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=NODE_MODULES.parent,
        )
    try:
        ready = _wait_ready(process, log_path)
        yield LocalProvider(str(ready["ready"]), str(ready["client_id"]), site_port)
    finally:
        stop(process)  # type: ignore[arg-type]


def console_environment(provider: LocalProvider) -> dict[str, str]:
    """Where the console finds its provider and its client there, as its AWS stage sets them for Cognito."""
    return {"AFTERCARE_STAFF_ISSUER": provider.issuer, "AFTERCARE_STAFF_CLIENT_ID": provider.client_id}


def _wait_ready(process: subprocess.Popen[str], log_path: Path) -> dict[str, Any]:
    line = first_line(process, START_SECONDS)
    if not line:
        process.wait()
        # Its warnings (Node's version, the in-memory store for its own sessions) are not why.
        lines = [line for line in log_path.read_text().splitlines() if "oidc-provider WARNING" not in line]
        detail = "\n".join(lines)[-2000:]
        raise LocalSignInError(f"the local sign-in provider did not start: {detail}")
    return dict(json.loads(line))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The stored form the provider checks: scrypt$N$r$p$salt$hash (base64url, unpadded)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def add_account(state_dir: Path, email: str, groups: Iterable[str]) -> tuple[str, bool]:
    """Create the account, or reset its password and groups: (the new password, whether it existed)."""
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise LocalSignInError("that is not an email address")
    groups = sorted(set(groups))
    unknown = [group for group in groups if group not in STAFF_GROUPS]
    if not groups or unknown:
        raise LocalSignInError(f"a staff account needs one of the groups {', '.join(STAFF_GROUPS)}")
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(state_dir):
        path = state_dir / ACCOUNTS_FILE
        content = json.loads(path.read_text()) if path.exists() else {"accounts": {}}
        existing = content["accounts"].get(email)
        content["accounts"][email] = {
            # The subject stays when the password is reset: the audit trail knows the person by it.
            "sub": existing["sub"] if existing else str(uuid.uuid4()),
            "groups": groups,
            "password_hash": hash_password(password),
        }
        _write_atomically(path, json.dumps(content, indent=2, sort_keys=True) + "\n")
    return password, existing is not None


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Two `staff add` at once must not lose one of the accounts."""
    with (state_dir / "accounts.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    """The provider reads the file at any moment: it sees the old one or the new one, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".accounts-")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
