"""Encryption of personal fields (AWS Encryption SDK) and keyed hashing of subjects.

The one module that talks to KMS. In AWS, data keys come from the retailer's
KMS key and subject hashes from a KMS HMAC key, so neither key ever leaves
KMS. Locally, the same SDK wraps data keys with an AES key kept on disk, so
what was stored before a restart still decrypts after it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import aws_encryption_sdk
import boto3
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.base import MasterKeyProvider
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider
from botocore.exceptions import BotoCoreError, ClientError

# Key-committing and unsigned: every party that encrypts is also ours, so a
# signature per message would only add milliseconds to every export row.
ALGORITHM = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
CONTEXT_KIND = "aftercare:kind"
CONTEXT_REFERENCE = "aftercare:reference"
LOCAL_DATA_KEY_FILE = "submissions.key"
LOCAL_SUBJECT_KEY_FILE = "subject.key"


class KeyServiceUnavailable(Exception):
    """KMS (or the local key) could not be used just now; nothing was stored."""


class CiphertextMismatch(Exception):
    """A ciphertext was opened under a reference or kind it was not sealed for."""


class LocalKeyProvider(RawMasterKeyProvider):  # type: ignore[misc]
    """Wraps data keys with a 256-bit AES key read from a file on disk."""

    provider_id = "aftercare-local"
    wrapping_key_bytes: bytes = b""

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        return WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=self.wrapping_key_bytes,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )

    @classmethod
    def from_key(cls, key: bytes) -> LocalKeyProvider:
        provider = cls()
        provider.wrapping_key_bytes = key
        provider.add_master_key(b"submissions-v1")
        return provider


def kms_key_provider(key_id: str, botocore_session: Any = None) -> MasterKeyProvider:
    """The KMS key provider; `botocore_session` carries a staff profile's credentials."""
    if botocore_session is None:
        return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_id])
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[key_id], botocore_session=botocore_session
    )


class SubmissionCipher:
    """Seals a submission's personal fields into one envelope-encrypted blob.

    The kind and the reference are bound in as encryption context: a blob
    copied onto another item will not open.
    """

    def __init__(self, key_provider: MasterKeyProvider):
        self._key_provider = key_provider
        self._client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )

    def seal(self, fields: Mapping[str, Any], *, kind: str, reference: str) -> bytes:
        plaintext = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
        try:
            ciphertext, _ = self._client.encrypt(
                source=plaintext,
                key_provider=self._key_provider,
                encryption_context=_context(kind, reference),
                algorithm=ALGORITHM,
            )
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        return bytes(ciphertext)

    def open(self, blob: bytes, *, kind: str, reference: str) -> dict[str, Any]:
        plaintext, header = self._client.decrypt(source=blob, key_provider=self._key_provider)
        expected = _context(kind, reference)
        if {k: header.encryption_context.get(k) for k in expected} != expected:
            raise CiphertextMismatch("encryption context does not match the item")
        fields: dict[str, Any] = json.loads(plaintext)
        return fields


def _context(kind: str, reference: str) -> dict[str, str]:
    return {CONTEXT_KIND: kind, CONTEXT_REFERENCE: reference}


def normalise_email(email: str) -> str:
    """One person, one form of their address, however they typed it."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class SubjectHasher(Protocol):
    def digest(self, message: bytes) -> str: ...


class LocalSubjectHasher:
    def __init__(self, key: bytes):
        self._key = key

    def digest(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class KmsSubjectHasher:
    """HMAC-SHA-256 computed inside KMS; the key cannot be exported."""

    def __init__(self, key_id: str, region: str | None = None, session: Any = None):
        self._key_id = key_id
        self._region = region
        self._session = session  # a boto3 Session for a staff profile; None: the default chain
        self._client: Any = None

    def digest(self, message: bytes) -> str:
        if self._client is None:
            self._client = (self._session or boto3).client("kms", region_name=self._region)
        try:
            answer = self._client.generate_mac(
                KeyId=self._key_id, Message=message, MacAlgorithm="HMAC_SHA_256"
            )
        except (BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        return bytes(answer["Mac"]).hex()


def subject_hash(hasher: SubjectHasher, email: str) -> str:
    """The keyed hash that finds one person's items without storing their email in an index."""
    return hasher.digest(b"subject:email:" + normalise_email(email).encode())


def ensure_local_keys(key_dir: Path) -> None:
    """Create the local keys once; later runs reuse them (data stays readable)."""
    key_dir.mkdir(parents=True, exist_ok=True)
    for name in (LOCAL_DATA_KEY_FILE, LOCAL_SUBJECT_KEY_FILE):
        path = key_dir / name
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as key_file:
                key_file.write(secrets.token_bytes(32))


def read_local_key(key_dir: Path, name: str) -> bytes:
    key = (key_dir / name).read_bytes()
    if len(key) != 32:
        raise ValueError(f"local key {name} must be 32 bytes")
    return key


# The recipient address is sealed a second time, alone, under a context of its
# own: the key policy lets the notifier decrypt only ciphertexts that carry
# this context, so the function that sends email can read where to send and
# nothing else of a submission.
CONTEXT_FIELD = "aftercare:field"
RECIPIENT_FIELD = "recipient"


class RecipientSeal:
    """Seals and opens one submission's email address for the notifier.

    The reference travels inside the sealed payload and is checked on opening,
    so an address copied onto another item will not open as that item's.
    """

    def __init__(self, cipher: SubmissionCipher):
        self._client = cipher._client
        self._key_provider = cipher._key_provider

    @staticmethod
    def context(kind: str) -> dict[str, str]:
        return {CONTEXT_KIND: kind, CONTEXT_FIELD: RECIPIENT_FIELD}

    def seal(self, email: str, *, kind: str, reference: str) -> bytes:
        plaintext = json.dumps({"email": email, "reference": reference}, separators=(",", ":")).encode()
        try:
            ciphertext, _ = self._client.encrypt(
                source=plaintext, key_provider=self._key_provider,
                encryption_context=self.context(kind), algorithm=ALGORITHM,
            )
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        return bytes(ciphertext)

    def open(self, blob: bytes, *, kind: str, reference: str) -> str:
        try:
            plaintext, header = self._client.decrypt(source=blob, key_provider=self._key_provider)
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        expected = self.context(kind)
        payload = json.loads(plaintext)
        if {k: header.encryption_context.get(k) for k in expected} != expected \
                or payload.get("reference") != reference:
            raise CiphertextMismatch("the recipient was not sealed for this item")
        return str(payload["email"])
