"""The thank-you page's receipt: what the API answered a browser, signed and short-lived.

A plain form post is answered with a redirect to `/api/thanks?receipt=...`. The
receipt carries the reference and what the API worked out (a warranty's end, a
return window), signed with an HMAC, so the thank-you page shows them only to
the browser that was just sent there, for a short while, without reading the
table back (the public functions never do). A reference typed into the address
bar, a forged or altered receipt and an old one all get the same page, which
shows no reference.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

RECEIPT_SECONDS = 15 * 60  # long enough to read and note the reference; a reload later shows none


class NoReceipt(Exception):
    """The receipt is missing, altered, not ours or too old."""


@dataclass(frozen=True)
class Thanks:
    kind: str
    answer: dict[str, Any]

    @property
    def reference(self) -> str:
        return str(self.answer["reference"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, b"aftercare-receipt:" + payload.encode(), hashlib.sha256).digest())


def sign(key: bytes, thanks: Thanks, now: datetime) -> str:
    body = {"k": thanks.kind, "a": thanks.answer, "x": int(now.timestamp()) + RECEIPT_SECONDS}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(key, payload)}"


def read(key: bytes, receipt: str, now: datetime) -> Thanks:
    """The thanks a receipt signed by `key` carries, or NoReceipt."""
    payload, _, mac = receipt.partition(".")
    if not payload or not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        raise NoReceipt()
    try:
        body = json.loads(_unb64(payload))
        expired = int(body["x"]) < now.timestamp()
        thanks = Thanks(str(body["k"]), dict(body["a"]))
        thanks.reference  # noqa: B018 - a receipt without one is not ours
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise NoReceipt() from None
    if expired:
        raise NoReceipt()
    return thanks
