"""The retailer's own facts: its names, and how customers reach a person (data/retailer.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ]{5,}[0-9]")


class RetailerSettingError(ValueError):
    """retailer.toml leaves out a setting or gives one in an unusable form."""


@dataclass(frozen=True)
class Contact:
    phone: str
    email: str
    hours: tuple[str, ...]
    address: tuple[str, ...]

    @property
    def phone_link(self) -> str:
        """The phone number as a `tel:` link wants it: digits and a leading plus only."""
        return "tel:" + self.phone.replace(" ", "")


@dataclass(frozen=True)
class Privacy:
    """The law the privacy notice cites and the authority a person may complain to."""

    law: str
    supervisory_authority: str
    supervisory_authority_url: str


@dataclass(frozen=True)
class Retailer:
    name: str
    legal_name: str
    contact: Contact
    privacy_email: str
    privacy: Privacy


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RetailerSettingError(f"retailer.toml: '{where}{key}' must be a non-empty string")
    return value.strip()


def _lines(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RetailerSettingError(f"retailer.toml: '{where}{key}' must be a list of lines")
    return tuple(line.strip() for line in value)


def _email(table: dict[str, Any], key: str, where: str) -> str:
    value = _text(table, key, where)
    if not _EMAIL.fullmatch(value):
        raise RetailerSettingError(f"retailer.toml: '{where}{key}' is not an email address")
    return value


def _web_address(table: dict[str, Any], key: str, where: str) -> str:
    value = _text(table, key, where)
    if not value.startswith("https://") or any(c.isspace() for c in value):
        raise RetailerSettingError(f"retailer.toml: '{where}{key}' must be an https:// address")
    return value


def parse_retailer(text: str) -> Retailer:
    raw = tomllib.loads(text)
    contact = raw.get("contact") or {}
    privacy = raw.get("privacy") or {}
    phone = _text(contact, "phone", "contact.")
    if not _PHONE.fullmatch(phone):
        raise RetailerSettingError(
            "retailer.toml: 'contact.phone' must be digits, spaces and an optional leading +"
        )
    return Retailer(
        name=_text(raw, "name", ""),
        legal_name=_text(raw, "legal_name", ""),
        contact=Contact(
            phone=phone,
            email=_email(contact, "email", "contact."),
            hours=_lines(contact, "hours", "contact."),
            address=_lines(contact, "address", "contact."),
        ),
        privacy_email=_email(privacy, "email", "privacy."),
        privacy=Privacy(
            law=_text(privacy, "law", "privacy."),
            supervisory_authority=_text(privacy, "supervisory_authority", "privacy."),
            supervisory_authority_url=_web_address(privacy, "supervisory_authority_url", "privacy."),
        ),
    )


@cache
def retailer() -> Retailer:
    return parse_retailer(resources.files("chalicelib").joinpath("data/retailer.toml").read_text())
