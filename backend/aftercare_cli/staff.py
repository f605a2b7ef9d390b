"""Who the staff member is and which table and keys they work on: local stack or AWS."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from chalicelib.crypto.keys import SubjectHasher, SubmissionCipher
from chalicelib.rules.policy import DataPolicy, data_policy
from chalicelib.settings import ConfigurationError, Settings
from chalicelib.store.table import SubmissionTable

# Variables that, once set, mean "work on AWS (or the table they name), not the local stack".
AWS_SELECTORS = ("AFTERCARE_TABLE_NAME",)
LOCAL_ONLY = ("AFTERCARE_LOCAL_KEY_DIR", "AFTERCARE_DYNAMODB_ENDPOINT")


@dataclass(frozen=True)
class Target:
    """What the command line was pointed at (options first, then the environment)."""

    profile: str | None = None
    region: str | None = None
    table_name: str | None = None
    kms_key_id: str | None = None
    subject_key_id: str | None = None

    def settings(self, environ: Mapping[str, str], local_defaults: Callable[[], dict[str, str]],
                 backend_dir: Path) -> Settings:
        explicit = self.profile or self.region or self.table_name
        if not explicit and not any(environ.get(name) for name in AWS_SELECTORS):
            merged = dict(local_defaults())
        else:
            merged = dict(environ)
        if self.profile or self.region:
            # Asking for a profile or region means AWS: leftovers of a local run must not apply.
            for name in LOCAL_ONLY:
                merged.pop(name, None)
        overrides = {
            "AFTERCARE_TABLE_NAME": self.table_name,
            "AFTERCARE_KMS_KEY_ID": self.kms_key_id,
            "AFTERCARE_SUBJECT_KEY_ID": self.subject_key_id,
            "AWS_REGION": self.region,
        }
        merged.update({name: value for name, value in overrides.items() if value})
        settings = Settings.from_environ(merged, base_dir=backend_dir)
        if self.profile:
            settings = Settings(**{**settings.__dict__, "profile": self.profile})
        return settings


@dataclass
class Staff:
    """Everything a staff command needs, built lazily so `--help` touches no AWS service."""

    settings: Settings
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
    def actor(self) -> str:
        """The caller's AWS identity (an ARN); on the local stack, the OS user."""
        if self.settings.uses_local_keys:
            return f"local:{_os_user()}"
        session: Any = self.settings.session() or boto3
        try:
            return str(session.client("sts", region_name=self.settings.region)
                       .get_caller_identity()["Arn"])
        except (BotoCoreError, ClientError) as error:
            raise ConfigurationError(
                f"could not tell who you are from your AWS credentials ({type(error).__name__})"
            ) from None

    def now(self) -> datetime:
        return self.clock()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
