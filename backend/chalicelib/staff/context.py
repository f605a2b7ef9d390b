"""What every staff operation works with: the acting staff member, the table, the keys, the clock.

The door that builds it says who is acting (the command from its AWS identity, the console from
the signed-in person's ID token); nothing in the staff desk works that out for itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from chalicelib.crypto.keys import SubjectHasher, SubmissionCipher
from chalicelib.rules.policy import DataPolicy, data_policy
from chalicelib.settings import Settings
from chalicelib.store.bucket import AttachmentBucket
from chalicelib.store.table import SubmissionTable


@dataclass
class StaffContext:
    """Everything a staff operation needs, built lazily so a door can start without AWS."""

    settings: Settings
    actor: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    policy: DataPolicy = field(default_factory=data_policy)

    @cached_property
    def table(self) -> SubmissionTable:
        return self.settings.table()

    @cached_property
    def cipher(self) -> SubmissionCipher:
        return self.settings.cipher()

    @cached_property
    def hasher(self) -> SubjectHasher:
        return self.settings.subject_hasher()

    @cached_property
    def bucket(self) -> AttachmentBucket:
        return self.settings.attachment_bucket()

    def now(self) -> datetime:
        return self.clock()

