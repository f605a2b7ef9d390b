"""How often the intake calls KMS: a count per 1,000 submissions, not a timing."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import boto3
from aftercare_local import dynamodb as dynamodb_local
from chalicelib.crypto.keys import SUBJECT_KEY_LABEL, subject_hash
from chalicelib.settings import Settings

from tests.api.posting import post_json
from tests.bench.kms_calls import counting_kms_calls

SUBMISSIONS = 1_000
KMS_CALLS_ALLOWED = 5
# moto copies the whole table for every transaction: a fresh table every
# batch keeps the test linear in time (KMS's state, and the app's, carry on).
BATCH = 100


def enquiry(number: int) -> dict[str, Any]:
    return {
        "name": f"Person {number}",
        "email": f"person{number}@example.com",
        "topic": "installation",
        "message": "Which wall bracket fits the Vista 55?",
        "marketing_consent": number % 10 == 0,  # consents are sealed under a kind of their own
    }


def test_a_thousand_submissions_make_at_most_five_kms_calls_and_never_decrypt(
    api: Any, moto_account: Any
) -> None:
    subject_hashes = set()
    with counting_kms_calls() as calls:
        for number in range(SUBMISSIONS):
            headers = {"Idempotency-Key": f"key-{number}"} if number % 3 == 0 else None
            response = post_json(api, "/enquiries", enquiry(number), headers)
            assert response.status_code == 201
            if (number + 1) % BATCH == 0:
                stored = moto_account.submissions("enquiry")
                assert len(stored) == BATCH
                subject_hashes.update(item["subject_hash"] for item in stored)
                fresh_table(moto_account)
    assert sum(calls.values()) <= KMS_CALLS_ALLOWED, dict(calls)
    assert "Decrypt" not in calls  # the public function can only encrypt
    assert len(subject_hashes) == SUBMISSIONS


def fresh_table(account: Any) -> None:
    dynamodb = account.dynamodb()
    dynamodb.delete_table(TableName=account.table_name)
    dynamodb.create_table(TableName=account.table_name, **dynamodb_local.table_definition())


def test_every_container_derives_the_same_subject_key_with_one_call(moto_account: Any) -> None:
    environ = {"AFTERCARE_TABLE_NAME": moto_account.table_name,
               "AFTERCARE_KMS_KEY_ID": moto_account.data_key_id,
               "AFTERCARE_SUBJECT_KEY_ID": moto_account.subject_key_id,
               "AWS_REGION": "eu-west-1"}
    with counting_kms_calls() as calls:
        first, second = (Settings.from_environ(environ).subject_hasher() for _ in range(2))
        hashes = {subject_hash(hasher, "Ann@Example.com ") for hasher in (first, second, first)}
    assert len(hashes) == 1
    assert calls == {"GenerateMac": 2}  # one per container, none per hash
    # The hash is an HMAC under KMS's own HMAC of the fixed label: keyed by the KMS key.
    kms = boto3.client("kms", region_name="eu-west-1")
    derived = kms.generate_mac(KeyId=moto_account.subject_key_id, Message=SUBJECT_KEY_LABEL,
                               MacAlgorithm="HMAC_SHA_256")["Mac"]
    expected = hmac.new(derived, b"subject:email:ann@example.com", hashlib.sha256).hexdigest()
    assert hashes == {expected}
