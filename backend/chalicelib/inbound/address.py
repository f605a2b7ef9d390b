"""The signed reply address of a case, and the threading headers of every email about it.

The address is `reply+<reference>.<mac>@<reply domain>`: the MAC is the subject-hash
key's (crypto.keys.SubjectHasher) over the reference with a prefix of its own, so
nobody can attach mail to a case by guessing or changing a reference. Mail
systems may change the case of an address; both halves are read in any case.
"""

from __future__ import annotations

import hmac
import re

from chalicelib.crypto.keys import SubjectHasher
from chalicelib.store.references import as_stored, is_reference

LOCAL_PART = "reply"
PURPOSE = "reply-address"
# 80 bits of the MAC: ample against guessing, short enough for an address's local part (64 characters).
MAC_CHARACTERS = 20
ADDRESS = re.compile(r"^reply\+([A-Za-z0-9-]{11,14})\.([0-9a-fA-F]{20})@(.+)$", re.IGNORECASE)
# Which email about the case is the first of its conversation: the confirmation.
THREAD_ROOT = "confirmation"


def _mac(hasher: SubjectHasher, reference: str) -> str:
    return hasher.digest(f"{PURPOSE}:{reference}".encode())[:MAC_CHARACTERS]


def reply_address(hasher: SubjectHasher, reference: str, domain: str) -> str:
    return f"{LOCAL_PART}+{reference}.{_mac(hasher, reference)}@{domain}"


def reference_of(hasher: SubjectHasher, address: str, domain: str) -> str | None:
    """The case a reply address names, if it is one of ours and its MAC holds; else None."""
    found = ADDRESS.match(address.strip().strip("<>"))
    if found is None or found.group(3).lower() != domain.lower():
        return None
    reference = as_stored(found.group(1))
    if not is_reference(reference):
        return None
    if not hmac.compare_digest(_mac(hasher, reference), found.group(2).lower()):
        return None
    return reference


def message_id(reference: str, message: str, domain: str) -> str:
    """One email's Message-ID: the same email sent again keeps it."""
    return f"<{reference.lower()}.{message}@{domain}>"


def thread_headers(hasher: SubjectHasher, reference: str, message: str, domain: str) -> dict[str, str]:
    """Reply-To and the threading headers of one email about a case: each follows the confirmation."""
    root = message_id(reference, THREAD_ROOT, domain)
    headers = {"Reply-To": reply_address(hasher, reference, domain),
               "Message-ID": message_id(reference, message, domain)}
    if message != THREAD_ROOT:
        headers.update({"In-Reply-To": root, "References": root})
    return headers
