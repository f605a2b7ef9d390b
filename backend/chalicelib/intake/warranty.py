"""Registered warranties: the one-per-serial record, and the status lookup that reveals no owner."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.crypto.keys import SubjectHasher, subject_hash
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.rules.catalog import Catalog
from chalicelib.store import items
from chalicelib.store.table import SubmissionTable


class NoSuchWarranty(Exception):
    """No warranty matches that serial and email. Deliberately says no more than that."""


@dataclass
class WarrantyLookup:
    """Answers "is this serial under warranty?" to whoever knows both the serial and the owner's email."""

    table: SubmissionTable
    hasher: SubjectHasher
    catalog: Catalog
    clock: Callable[[], datetime]

    def status(self, normalised_serial: str, email: str) -> WarrantyStatus:
        now = self.clock()
        # Hash before reading, so an unknown serial and a wrong email cost the same.
        owner = subject_hash(self.hasher, email)
        record = self.table.get(*items.warranty_key(normalised_serial), now_epoch=items.epoch(now))
        if record is None or not hmac.compare_digest(str(record.get("subject_hash", "")), owner):
            raise NoSuchWarranty()
        product = self.catalog.products.get(record["product"])
        if product is None:
            raise NoSuchWarranty()  # withdrawn from the catalog: nothing we can state about it
        expires_on = date.fromisoformat(record["expires_on"])
        return WarrantyStatus(
            product=product.id,
            product_name=product.name,
            registered_on=date.fromisoformat(record["registered_on"]),
            expires_on=expires_on,
            under_warranty=now.date() <= expires_on,
        )
