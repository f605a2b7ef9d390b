import secrets
from pathlib import Path

import pytest
from chalicelib.crypto.exceptions import CiphertextMismatch
from chalicelib.crypto.keys import (
    CACHE_MAX_AGE_SECONDS,
    LocalKeyProvider,
    LocalSubjectHasher,
    SubmissionCipher,
    ensure_local_keys,
    local_key_provider,
    normalise_email,
    read_local_key,
    subject_hash,
)


@pytest.fixture
def cipher() -> SubmissionCipher:
    return SubmissionCipher(LocalKeyProvider.from_key(secrets.token_bytes(32)))


def test_sealed_fields_open_under_the_same_reference(cipher: SubmissionCipher) -> None:
    blob = cipher.seal({"email": "ann@example.com"}, kind="enquiry", reference="ENQ-AAAA-BBBB")
    assert b"ann@example.com" not in blob
    assert cipher.open(blob, kind="enquiry", reference="ENQ-AAAA-BBBB") == {
        "email": "ann@example.com"
    }


def test_a_blob_moved_to_another_item_does_not_open(cipher: SubmissionCipher) -> None:
    blob = cipher.seal({"name": "Ann"}, kind="enquiry", reference="ENQ-AAAA-BBBB")
    with pytest.raises(CiphertextMismatch):
        cipher.open(blob, kind="enquiry", reference="ENQ-CCCC-DDDD")
    with pytest.raises(CiphertextMismatch):
        cipher.open(blob, kind="complaint", reference="ENQ-AAAA-BBBB")


def test_another_key_cannot_open_it(cipher: SubmissionCipher) -> None:
    blob = cipher.seal({"name": "Ann"}, kind="enquiry", reference="ENQ-AAAA-BBBB")
    stranger = SubmissionCipher(LocalKeyProvider.from_key(secrets.token_bytes(32)))
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error types
        stranger.open(blob, kind="enquiry", reference="ENQ-AAAA-BBBB")


def test_subject_hash_is_keyed_and_ignores_case_and_spaces() -> None:
    hasher = LocalSubjectHasher(b"k" * 32)
    assert subject_hash(hasher, " Ann@Example.COM ") == subject_hash(hasher, "ann@example.com")
    assert subject_hash(hasher, "ann@example.com") != subject_hash(
        LocalSubjectHasher(b"x" * 32), "ann@example.com"
    )
    assert "ann" not in subject_hash(hasher, "ann@example.com")
    assert normalise_email("ＡＮＮ@example.com") == "ann@example.com"


def test_local_keys_are_made_once_and_kept(tmp_path: Path) -> None:
    ensure_local_keys(tmp_path)
    first = read_local_key(tmp_path, "submissions.key")
    ensure_local_keys(tmp_path)
    assert read_local_key(tmp_path, "submissions.key") == first
    assert (tmp_path / "submissions.key").stat().st_mode & 0o777 == 0o600


def test_the_reference_is_sealed_inside_not_in_the_context(cipher: SubmissionCipher) -> None:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    blob = cipher.seal({"name": "Ann"}, kind="enquiry", reference="ENQ-AAAA-BBBB")
    header = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    ).stream(mode="d", source=blob, key_provider=cipher._materials.master_key_provider).header
    # One context per kind is what lets the data-key cache hit across submissions.
    assert dict(header.encryption_context) == {"aftercare:kind": "enquiry"}


def test_one_data_key_seals_many_submissions_of_a_kind() -> None:
    cipher = SubmissionCipher(local_key_provider(secrets.token_bytes(32)))
    blobs = [
        cipher.seal({"n": str(n)}, kind="enquiry", reference=f"ENQ-AAAA-{n:04d}") for n in range(20)
    ]
    other_kind = cipher.seal({"n": "x"}, kind="complaint", reference="CMP-AAAA-0000")
    # The serialised header carries the wrapped data key: equal wrapped keys, one data key.
    wrapped_keys = {_wrapped_data_key(blob) for blob in blobs}
    assert len(wrapped_keys) == 1
    assert _wrapped_data_key(other_kind) not in wrapped_keys
    assert [cipher.open(blob, kind="enquiry", reference=f"ENQ-AAAA-{n:04d}")
            for n, blob in enumerate(blobs)] == [{"n": str(n)} for n in range(20)]


def _wrapped_data_key(blob: bytes) -> bytes:
    import io

    from aws_encryption_sdk.internal.formatting.deserialize import deserialize_header

    header, _ = deserialize_header(io.BytesIO(blob))
    (encrypted_key,) = header.encrypted_data_keys
    return bytes(encrypted_key.encrypted_data_key)


def test_the_app_loads_without_the_encryption_sdk_until_it_seals() -> None:
    # Cold start: a health check or a page never pays for the SDK's import.
    import subprocess
    import sys

    from aftercare_local.paths import BACKEND

    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app; "
        "print('aws_encryption_sdk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(BACKEND)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


def test_an_export_opens_each_data_key_once_however_many_rows_it_seals() -> None:
    cipher = SubmissionCipher(local_key_provider(secrets.token_bytes(32)))
    blobs = [cipher.seal({"n": str(n)}, kind="enquiry", reference=f"ENQ-AAAA-{n:04d}") for n in range(30)]
    other = cipher.seal({"n": "x"}, kind="complaint", reference="CMP-AAAA-0000")
    asked: list[object] = []
    inner = cipher._materials._inner
    real = inner.decrypt_materials
    inner.decrypt_materials = lambda request: asked.append(request) or real(request)
    opened = [cipher.open(blob, kind="enquiry", reference=f"ENQ-AAAA-{n:04d}")
              for n, blob in enumerate(blobs)]
    assert opened == [{"n": str(n)} for n in range(30)]
    assert cipher.open(other, kind="complaint", reference="CMP-AAAA-0000") == {"n": "x"}
    # One look-up in the SDK's cache per data key (enquiry, complaint), not one per row.
    assert len(asked) == 2


def test_a_remembered_data_key_is_asked_for_again_once_it_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    cipher = SubmissionCipher(local_key_provider(secrets.token_bytes(32)))
    blob = cipher.seal({"n": "1"}, kind="enquiry", reference="ENQ-AAAA-0001")
    asked: list[object] = []
    inner = cipher._materials._inner
    real = inner.decrypt_materials
    inner.decrypt_materials = lambda request: asked.append(request) or real(request)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    cipher.open(blob, kind="enquiry", reference="ENQ-AAAA-0001")
    cipher.open(blob, kind="enquiry", reference="ENQ-AAAA-0001")
    assert len(asked) == 1
    monkeypatch.setattr(time, "monotonic", lambda: now + CACHE_MAX_AGE_SECONDS + 1)
    cipher.open(blob, kind="enquiry", reference="ENQ-AAAA-0001")
    assert len(asked) == 2
