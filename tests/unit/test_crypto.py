import secrets
from pathlib import Path

import pytest
from chalicelib.crypto import (
    CiphertextMismatch,
    LocalKeyProvider,
    LocalSubjectHasher,
    SubmissionCipher,
    ensure_local_keys,
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
