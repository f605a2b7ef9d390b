"""The recipient address is sealed apart, under a context only it carries (least privilege)."""

from __future__ import annotations

import secrets

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy
from chalicelib.crypto.exceptions import CiphertextMismatch
from chalicelib.crypto.keys import CONTEXT_FIELD, LocalKeyProvider, RecipientSeal, SubmissionCipher


@pytest.fixture
def provider() -> LocalKeyProvider:
    return LocalKeyProvider.from_key(secrets.token_bytes(32))


def context_of(blob: bytes, provider: LocalKeyProvider) -> dict[str, str]:
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    _, header = client.decrypt(source=blob, key_provider=provider)
    return dict(header.encryption_context)


def test_the_recipient_opens_for_its_own_item_only(provider: LocalKeyProvider) -> None:
    seal = RecipientSeal(SubmissionCipher(provider))
    blob = seal.seal("ann@example.com", kind="enquiry", reference="ENQ-AAAA-BBBB")
    assert b"ann@example.com" not in blob
    assert seal.open(blob, kind="enquiry", reference="ENQ-AAAA-BBBB") == "ann@example.com"
    with pytest.raises(CiphertextMismatch):
        seal.open(blob, kind="enquiry", reference="ENQ-CCCC-DDDD")
    with pytest.raises(CiphertextMismatch):
        seal.open(blob, kind="complaint", reference="ENQ-AAAA-BBBB")


def test_only_the_recipient_carries_the_context_the_notifier_may_decrypt(provider: LocalKeyProvider) -> None:
    """The key policy lets the notifier decrypt when aftercare:field is "recipient": the
    submission's body never carries that key, so it stays out of the notifier's reach."""
    cipher = SubmissionCipher(provider)
    body = cipher.seal({"email": "ann@example.com", "message": "hi"}, kind="enquiry",
                       reference="ENQ-AAAA-BBBB")
    recipient = RecipientSeal(cipher).seal("ann@example.com", kind="enquiry", reference="ENQ-AAAA-BBBB")
    assert context_of(recipient, provider)[CONTEXT_FIELD] == "recipient"
    assert CONTEXT_FIELD not in context_of(body, provider)
    with pytest.raises(CiphertextMismatch):
        RecipientSeal(cipher).open(body, kind="enquiry", reference="ENQ-AAAA-BBBB")
