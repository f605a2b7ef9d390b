"""Where the command works (the local stack or AWS) and who is acting there."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.settings import Settings

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


def actor_of(settings: Settings) -> str:
    """The caller's AWS identity (an ARN); on the local stack, the OS user."""
    if settings.uses_local_keys:
        return f"local:{_os_user()}"
    return settings.caller_arn()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
