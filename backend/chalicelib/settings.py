"""Wiring: builds the table, cipher and hasher from the environment (Lambda, local run, staff tools)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from chalicelib.crypto.keys import (
    LOCAL_DATA_KEY_FILE,
    LOCAL_SUBJECT_KEY_FILE,
    KmsDerivedSubjectHasher,
    LocalSubjectHasher,
    SubjectHasher,
    SubmissionCipher,
    kms_key_provider,
    local_key_provider,
    read_local_key,
)
from chalicelib.store.bucket import AttachmentBucket, s3_client
from chalicelib.store.table import SubmissionTable, dynamodb_client

LOCAL_REGION = "eu-west-1"  # DynamoDB Local wants a region; any will do


class ConfigurationError(Exception):
    """The deployment left out a setting the service cannot run without."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    dynamodb_endpoint: str | None = None
    kms_key_id: str | None = None
    subject_key_id: str | None = None
    local_key_dir: Path | None = None
    region: str | None = None
    # A named AWS profile (staff tools); None uses the default credential chain.
    profile: str | None = None
    attachments_bucket: str | None = None
    s3_endpoint: str | None = None
    # Where the console writes exports for download (private, expired within a day); locally the
    # attachments bucket under exports/.
    exports_bucket: str | None = None
    # Where SES stores the raw replies it receives (private, expired within a day); locally none:
    # the SMTP listener hands each message straight to the inbound handler.
    inbound_bucket: str | None = None
    # The function the console invokes to run an export off the request (in AWS); locally none:
    # the local stack runs each job in a thread beside its server.
    exports_function: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], base_dir: Path | None = None) -> Settings:
        table_name = environ.get("AFTERCARE_TABLE_NAME")
        if not table_name:
            raise ConfigurationError("AFTERCARE_TABLE_NAME is not set")
        key_dir = environ.get("AFTERCARE_LOCAL_KEY_DIR")
        local_key_dir = None
        if key_dir:
            local_key_dir = Path(key_dir)
            if not local_key_dir.is_absolute() and base_dir is not None:
                local_key_dir = (base_dir / local_key_dir).resolve()
        settings = cls(
            table_name=table_name,
            dynamodb_endpoint=environ.get("AFTERCARE_DYNAMODB_ENDPOINT") or None,
            kms_key_id=environ.get("AFTERCARE_KMS_KEY_ID") or None,
            subject_key_id=environ.get("AFTERCARE_SUBJECT_KEY_ID") or None,
            local_key_dir=local_key_dir,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            attachments_bucket=environ.get("AFTERCARE_ATTACHMENTS_BUCKET") or None,
            s3_endpoint=environ.get("AFTERCARE_S3_ENDPOINT") or None,
            exports_bucket=(environ.get("AFTERCARE_EXPORTS_BUCKET")
                            or environ.get("AFTERCARE_ATTACHMENTS_BUCKET") or None),
            inbound_bucket=environ.get("AFTERCARE_INBOUND_BUCKET") or None,
            exports_function=environ.get("AFTERCARE_EXPORTS_FUNCTION") or None,
        )
        if not settings.local_key_dir and not (settings.kms_key_id and settings.subject_key_id):
            raise ConfigurationError(
                "set AFTERCARE_KMS_KEY_ID and AFTERCARE_SUBJECT_KEY_ID, "
                "or AFTERCARE_LOCAL_KEY_DIR for a local run"
            )
        return settings

    @property
    def uses_local_keys(self) -> bool:
        return self.local_key_dir is not None

    def session(self) -> boto3.Session | None:
        """The profile's session, or None for the default credential chain (the Lambda's role).

        On the local stack (local keys and a DynamoDB Local endpoint) any
        credentials do, so nobody needs an AWS account to run it.
        """
        if self.profile is not None:
            return boto3.Session(profile_name=self.profile, region_name=self.region)
        if self.local_key_dir and self.dynamodb_endpoint:
            return boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106 - not a secret
                region_name=self.region or LOCAL_REGION,
            )
        return None

    def table(self) -> SubmissionTable:
        return SubmissionTable(
            self.table_name,
            lambda: dynamodb_client(
                self.dynamodb_endpoint, self.region or (LOCAL_REGION if self.local_key_dir else None),
                self.session(),
            ),
        )

    def cipher(self) -> SubmissionCipher:
        if self.local_key_dir:
            return SubmissionCipher(
                local_key_provider(read_local_key(self.local_key_dir, LOCAL_DATA_KEY_FILE))
            )
        assert self.kms_key_id
        session = self.session()
        return SubmissionCipher(
            kms_key_provider(self.kms_key_id, session._session if session else None)
        )

    def subject_hasher(self) -> SubjectHasher:
        """The keyed hash of subjects; build it once per process (it holds its key after first use)."""
        if self.local_key_dir:
            return LocalSubjectHasher(read_local_key(self.local_key_dir, LOCAL_SUBJECT_KEY_FILE))
        assert self.subject_key_id
        return KmsDerivedSubjectHasher(self.subject_key_id, self.region, self.session())

    def caller_arn(self) -> str:
        """Who these credentials are (STS), for a door that acts under its own AWS identity."""
        from botocore.exceptions import BotoCoreError, ClientError

        session: Any = self.session() or boto3
        try:
            return str(session.client("sts", region_name=self.region).get_caller_identity()["Arn"])
        except (BotoCoreError, ClientError) as error:
            raise ConfigurationError(
                f"could not tell who you are from your AWS credentials ({type(error).__name__})"
            ) from None

    def export_bucket(self) -> AttachmentBucket:
        if not self.exports_bucket:
            raise ConfigurationError("AFTERCARE_EXPORTS_BUCKET is not set")
        return self._bucket(self.exports_bucket)

    def inbound_mail_bucket(self) -> AttachmentBucket:
        if not self.inbound_bucket:
            raise ConfigurationError("AFTERCARE_INBOUND_BUCKET is not set")
        return self._bucket(self.inbound_bucket)

    def attachment_bucket(self) -> AttachmentBucket:
        if not self.attachments_bucket:
            raise ConfigurationError("AFTERCARE_ATTACHMENTS_BUCKET is not set")
        return self._bucket(self.attachments_bucket)

    def _bucket(self, name: str) -> AttachmentBucket:
        return AttachmentBucket(
            name,
            lambda: s3_client(
                self.s3_endpoint, self.region or (LOCAL_REGION if self.local_key_dir else None),
                self.session(),
            ),
        )
