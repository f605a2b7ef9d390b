"""The data policy: how long each kind of submission is kept, and what the privacy notice says of it."""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


class PolicySettingError(ValueError):
    """data_policy.toml leaves out something the notice needs, or names what it does not define."""


@dataclass(frozen=True)
class LawfulBasis:
    """The ground in law a purpose rests on, and why it fits that purpose."""

    name: str
    article: str
    why: str


@dataclass(frozen=True)
class KindNotice:
    """What the privacy notice tells of one kind: why it is collected, on what basis, and who sees it."""

    title: str
    purpose: str
    who_can_see: str
    lawful_basis: LawfulBasis


@dataclass(frozen=True)
class DataPolicy:
    notice_version: str
    retention_months: dict[str, int]
    idempotency_hours: int
    storage: str = ""
    backups: str = ""
    notices: dict[str, KindNotice] = field(default_factory=dict)
    field_labels: dict[str, str] = field(default_factory=dict)
    consent_record_labels: dict[str, str] = field(default_factory=dict)
    # The emails we send (name -> what it is, for the notice) and the service that sends them.
    mail_service: str = ""
    mail_processor: str = ""
    emails: dict[str, str] = field(default_factory=dict)

    def expires_at(self, kind: str, created: datetime) -> datetime:
        """When an item of `kind` created at `created` is due for deletion."""
        return add_months(created, self.retention_months[kind])

    def idempotency_expires_at(self, created: datetime) -> datetime:
        return created + timedelta(hours=self.idempotency_hours)

    def label(self, field_name: str) -> str:
        """How the notice names a form field, or a PolicySettingError naming the field."""
        try:
            return self.field_labels[field_name]
        except KeyError:
            raise PolicySettingError(
                f"data_policy.toml: [field_labels] has no name for the form field '{field_name}'"
            ) from None

    def collected(self, model: type[BaseModel]) -> tuple[str, ...]:
        """Everything a form's model collects, in the form's order, as the notice names it."""
        return tuple(
            self.label(name) + ("" if info.is_required() else " (optional)")
            for name, info in model.model_fields.items()
        )


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _lawful_basis(kind: str, spec: dict[str, Any], bases: dict[str, Any]) -> LawfulBasis:
    key = spec.get("lawful_basis")
    if key not in bases:
        raise PolicySettingError(
            f"data_policy.toml: kinds.{kind}.lawful_basis must be one of {', '.join(sorted(bases))}"
        )
    why = spec.get("lawful_basis_why")
    if not isinstance(why, str) or not why.strip():
        raise PolicySettingError(f"data_policy.toml: kinds.{kind}.lawful_basis_why must say why it fits")
    return LawfulBasis(bases[key]["name"], bases[key]["article"], why.strip())


def parse_policy(text: str | dict[str, Any]) -> DataPolicy:
    """The policy from its TOML text, or from that text already read (in another language's words)."""
    raw = tomllib.loads(text) if isinstance(text, str) else text
    kinds = raw["kinds"]
    bases = raw.get("lawful_bases", {})
    return DataPolicy(
        notice_version=raw["notice_version"],
        retention_months={kind: int(spec["retention_months"]) for kind, spec in kinds.items()},
        idempotency_hours=int(raw["technical"]["idempotency_hours"]),
        storage=raw.get("storage", ""),
        backups=raw.get("backups", ""),
        notices={
            kind: KindNotice(
                spec["title"], spec["purpose"], spec["who_can_see"], _lawful_basis(kind, spec, bases)
            )
            for kind, spec in kinds.items() if "title" in spec
        },
        field_labels=dict(raw.get("field_labels", {})),
        consent_record_labels=dict(raw.get("consent_record_labels", {})),
        mail_service=raw.get("emails", {}).get("service", ""),
        mail_processor=raw.get("emails", {}).get("processor", ""),
        emails=dict(raw.get("emails", {}).get("messages", {})),
    )


@cache
def data_policy() -> DataPolicy:
    return parse_policy(resources.files("chalicelib").joinpath("data/data_policy.toml").read_text())
