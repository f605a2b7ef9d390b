"""Encryption of personal fields (AWS Encryption SDK) and keyed hashing of subjects.

The one module that talks to KMS. In AWS, data keys come from the retailer's
KMS key, and the subject-hash key is derived once per container from a KMS
HMAC key. Locally, the same SDK wraps data keys with an AES key kept on disk,
and subject hashes use a second key file, so what was stored before a restart
still decrypts and is still found after it.

The Encryption SDK is imported on first use, not with this module: a cold
start that only answers a health check or a page never pays for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.crypto.exceptions import CiphertextMismatch, KeyServiceUnavailable

if TYPE_CHECKING:
    from aws_encryption_sdk.key_providers.base import MasterKeyProvider

CONTEXT_KIND = "aftercare:kind"
LOCAL_DATA_KEY_FILE = "submissions.key"
LOCAL_SUBJECT_KEY_FILE = "subject.key"
# KMS answers in milliseconds; botocore's default 60 s would outlive the Lambda
# (15 s). Two attempts of at most 1 s to connect and 2 s to read: a hung KMS
# is a 503 with Retry-After in under 6 s.
KMS_CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=1, read_timeout=2,
)

# Data keys are reused within these bounds, per kind (the encryption context
# is the cache's partition). A Lambda container then calls GenerateDataKey
# about once per kind every five minutes instead of once per submission. The
# bounds limit what one data key protects if it ever leaked from memory.
CACHE_MAX_AGE_SECONDS = 300.0
CACHE_MAX_MESSAGES = 10_000
CACHE_MAX_BYTES = 64 * 1024 * 1024
# Entries: a handful for encryption (one per kind), the rest for decryption
# (one per distinct data key an export meets).
CACHE_CAPACITY = 1_000

# The label whose KMS HMAC is the subject-hash key. It is a fixed string and
# the KMS HMAC key never rotates (KMS cannot rotate HMAC keys; the template
# retains it), so every container of every deployment derives the same key and
# every stored hash keeps matching. Rotating the data key does not touch it.
# Replacing the HMAC key would need every stored hash recomputed from the
# decrypted emails, which only staff can do; "v1" names this derivation.
SUBJECT_KEY_LABEL = b"aftercare:subject-hash-key:v1"


@cache
def _local_key_provider_class() -> type:
    """The raw-AES key provider, built on first use so the SDK loads only when needed."""
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

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

    return LocalKeyProvider


def __getattr__(name: str) -> Any:
    # `LocalKeyProvider` stays importable by name without importing the SDK with this module.
    if name == "LocalKeyProvider":
        return _local_key_provider_class()
    raise AttributeError(name)


def local_key_provider(key: bytes) -> MasterKeyProvider:
    """Data keys wrapped with a local 256-bit AES key (the local run and tests)."""
    return _local_key_provider_class().from_key(key)  # type: ignore[attr-defined]


@cache
def _budgeted_kms_provider_class() -> type:
    """The SDK's KMS provider with our timeouts and retries, built on first use like the local one."""
    import aws_encryption_sdk

    class BudgetedKmsProvider(aws_encryption_sdk.StrictAwsKmsMasterKeyProvider):  # type: ignore[misc]
        """The SDK's KMS provider, with our timeouts and retries on the clients it creates."""

        def add_regional_client(self, region_name: str) -> None:
            config: Config = getattr(self, "_user_agent_adding_config")  # noqa: B009 - set by the SDK first
            self._user_agent_adding_config = config.merge(KMS_CLIENT_CONFIG)
            super().add_regional_client(region_name)

    return BudgetedKmsProvider


@cache
def _remembering_materials_class() -> type:
    """A materials manager that remembers the last data keys it opened, built on first use."""
    import time
    from collections import OrderedDict

    from aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager

    class RememberedDecryptions(CryptoMaterialsManager):  # type: ignore[misc]
        """The caching manager's decryptions, remembered by the data key's own bytes.

        The SDK's cache finds a data key by a SHA-512 over the encrypted keys and
        the context, which it recomputes for every message; an export meets the
        same few data keys on thousands of rows. This looks them up in a small
        dict first, within the same age bound, and asks the cache on a miss.
        """

        def __init__(self, inner: Any, entries: int = 64, max_age: float = CACHE_MAX_AGE_SECONDS):
            self._inner, self._entries, self._max_age = inner, entries, max_age
            self._opened: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
            self._lock = threading.Lock()

        @property
        def master_key_provider(self) -> Any:
            return self._inner.master_key_provider

        def get_encryption_materials(self, request: Any) -> Any:
            return self._inner.get_encryption_materials(request)

        def decrypt_materials(self, request: Any) -> Any:
            key = (request.algorithm, frozenset(request.encryption_context.items()), frozenset(
                (edk.key_provider.provider_id, edk.key_provider.key_info, edk.encrypted_data_key)
                for edk in request.encrypted_data_keys))
            now = time.monotonic()
            with self._lock:
                remembered = self._opened.get(key)
            if remembered is not None and now - remembered[0] < self._max_age:
                return remembered[1]
            materials = self._inner.decrypt_materials(request)
            with self._lock:
                self._opened[key] = (now, materials)
                while len(self._opened) > self._entries:
                    self._opened.popitem(last=False)
            return materials

    return RememberedDecryptions


def kms_key_provider(key_id: str, botocore_session: Any = None) -> MasterKeyProvider:
    """The KMS key provider; `botocore_session` carries a staff profile's credentials."""
    provider_class = _budgeted_kms_provider_class()
    if botocore_session is None:
        return provider_class(key_ids=[key_id])
    return provider_class(key_ids=[key_id], botocore_session=botocore_session)


class SubmissionCipher:
    """Seals a submission's personal fields into one envelope-encrypted blob.

    The kind is the encryption context (the KMS key policy checks it, and it
    partitions the data-key cache); the reference is sealed inside the blob
    and checked on opening, so a blob copied onto another item will not open.
    The reference stays out of the context because a context that differs per
    submission would make every cache lookup miss.
    """

    def __init__(self, key_provider: MasterKeyProvider):
        import aws_encryption_sdk
        from aws_encryption_sdk.caches.local import LocalCryptoMaterialsCache
        from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

        # Key-committing and unsigned: every party that encrypts is also ours,
        # so a signature per message would only add milliseconds to every export row.
        self._algorithm = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
        self._materials = _remembering_materials_class()(aws_encryption_sdk.CachingCryptoMaterialsManager(
            master_key_provider=key_provider,
            cache=LocalCryptoMaterialsCache(CACHE_CAPACITY),
            max_age=CACHE_MAX_AGE_SECONDS,
            max_messages_encrypted=CACHE_MAX_MESSAGES,
            max_bytes_encrypted=CACHE_MAX_BYTES,
        ))
        self._client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )

    def seal(self, fields: Mapping[str, Any], *, kind: str, reference: str) -> bytes:
        from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError

        sealed = {"reference": reference, "fields": dict(fields)}
        plaintext = json.dumps(sealed, separators=(",", ":"), sort_keys=True).encode()
        try:
            ciphertext, _ = self._client.encrypt(
                source=plaintext,
                materials_manager=self._materials,
                encryption_context={CONTEXT_KIND: kind},
                algorithm=self._algorithm,
            )
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        return bytes(ciphertext)

    def open(self, blob: bytes, *, kind: str, reference: str) -> dict[str, Any]:
        plaintext, header = self._client.decrypt(source=blob, materials_manager=self._materials)
        context = header.encryption_context
        if context.get(CONTEXT_KIND) != kind:
            raise CiphertextMismatch("encryption context does not match the item")
        sealed = json.loads(plaintext)
        if not isinstance(sealed, dict) or sealed.get("reference") != reference:
            raise CiphertextMismatch("the sealed reference does not match the item")
        fields: dict[str, Any] = sealed["fields"]
        return fields


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


class KmsDerivedSubjectHasher:
    """HMAC-SHA-256 under a key derived once per container from the KMS HMAC key.

    The first digest asks KMS for the HMAC of `SUBJECT_KEY_LABEL`; that
    32-byte MAC is the key for every later digest, computed in memory. Only a
    role allowed kms:GenerateMac on the HMAC key can derive it, so a hash
    still cannot be computed (or an email guessed from it) without the key.
    """

    def __init__(self, key_id: str, region: str | None = None, session: Any = None):
        self._key_id = key_id
        self._region = region
        self._session = session  # a boto3 Session for a staff profile; None: the default chain
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _derived_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                client = (self._session or boto3).client(
                    "kms", region_name=self._region, config=KMS_CLIENT_CONFIG
                )
                try:
                    answer = client.generate_mac(
                        KeyId=self._key_id, Message=SUBJECT_KEY_LABEL, MacAlgorithm="HMAC_SHA_256"
                    )
                except (BotoCoreError, ClientError) as error:
                    raise KeyServiceUnavailable(type(error).__name__) from None
                self._key = bytes(answer["Mac"])
            return self._key

    def digest(self, message: bytes) -> str:
        return hmac.new(self._derived_key(), message, hashlib.sha256).hexdigest()


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

    It shares the cipher's cached data keys: its context is the same for every
    submission of a kind, so sealing the address costs no call to KMS on a
    warm cache. The reference travels inside the sealed payload and is checked
    on opening, so an address copied onto another item will not open as that item's.
    """

    def __init__(self, cipher: SubmissionCipher):
        self._client = cipher._client
        self._materials = cipher._materials
        self._algorithm = cipher._algorithm

    @staticmethod
    def context(kind: str) -> dict[str, str]:
        return {CONTEXT_KIND: kind, CONTEXT_FIELD: RECIPIENT_FIELD}

    def seal(self, email: str, *, kind: str, reference: str) -> bytes:
        from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError

        plaintext = json.dumps({"email": email, "reference": reference}, separators=(",", ":")).encode()
        try:
            ciphertext, _ = self._client.encrypt(
                source=plaintext, materials_manager=self._materials,
                encryption_context=self.context(kind), algorithm=self._algorithm,
            )
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        return bytes(ciphertext)

    def open(self, blob: bytes, *, kind: str, reference: str) -> str:
        from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError

        try:
            plaintext, header = self._client.decrypt(source=blob, materials_manager=self._materials)
        except (AWSEncryptionSDKClientError, BotoCoreError, ClientError) as error:
            raise KeyServiceUnavailable(type(error).__name__) from None
        expected = self.context(kind)
        payload = json.loads(plaintext)
        if {k: header.encryption_context.get(k) for k in expected} != expected \
                or not isinstance(payload, dict) or payload.get("reference") != reference:
            raise CiphertextMismatch("the recipient was not sealed for this item")
        return str(payload["email"])
