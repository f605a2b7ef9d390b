"""Submission references: short, readable, kind-prefixed (ENQ-7K3M-Q9XD)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

# No 0/O, 1/I/L or U: nothing a customer can misread over the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN = re.compile(r"^[A-Z]{2,4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")

# A signed link's token (an unsubscribe or a follow-up link): the reference it was
# made for, when it stops working (epoch seconds) and a keyed MAC over both.
# Plain syntax (no named groups): it is also the API contract's pattern for the field.
SIGNED_LINK_PATTERN = r"^[A-Z]{2,4}-[A-Z0-9]{4}-[A-Z0-9]{4}\.[0-9]{1,12}\.[0-9a-f]{64}$"

Chooser = Callable[[str], str]


def new_reference(prefix: str, choose: Chooser = secrets.choice) -> str:
    """A fresh reference; `choose` picks one character (injectable for tests)."""
    characters = "".join(choose(ALPHABET) for _ in range(8))
    return f"{prefix}-{characters[:4]}-{characters[4:]}"


def is_reference(text: str) -> bool:
    return bool(REFERENCE_PATTERN.fullmatch(text))


def as_stored(typed: str) -> str:
    """A reference however staff or a customer typed it (ann's "enq-7k3m-q9xd "), as stored:
    references are upper case, so they are the same in any case."""
    return typed.strip().upper()
