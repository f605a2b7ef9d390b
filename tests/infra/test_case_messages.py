"""The track page's access: it reads a case's open attributes and opens customer messages, nothing more."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalicelib.cases.book import CASE_MESSAGE_CONTEXT
from chalicelib.cases.tracking import CASE_ATTRIBUTES, HISTORY_ATTRIBUTES
from chalicelib.store.items import EXPIRY_ATTRIBUTE, PARTITION_KEY, SORT_KEY

from tests.infra.test_template import POLICY_API, actions, as_list, statements

CONTEXT_KIND = "kms:EncryptionContext:aftercare:kind"


@pytest.fixture(scope="module")
def public_policy() -> dict[str, Any]:
    return json.loads(POLICY_API.read_text(encoding="utf-8"))


def key_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return statements(resources["Resources"]["DataKey"]["Properties"]["KeyPolicy"])


def principal_of(statement: dict[str, Any]) -> str:
    return json.dumps(statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn"))


def test_the_public_function_still_cannot_decrypt(public_policy: dict[str, Any]) -> None:
    assert not {action for action in actions(public_policy) if "Decrypt" in action}
    (assume,) = [s for s in statements(public_policy) if "sts:AssumeRole" in as_list(s["Action"])]
    assert assume["Resource"] == {"Fn::GetAtt": ["CaseMessageRole", "Arn"]}


def test_only_staff_and_the_case_message_role_may_decrypt_with_the_key(resources: dict[str, Any]) -> None:
    deciders = [s for s in key_statements(resources)
                if "kms:Decrypt" in as_list(s["Action"]) and "kms:ViaService" not in json.dumps(s)]
    # And the notifier, for recipient addresses and customer messages only (test_notifier_template.py);
    # and the console's exports function, for the staff member who started the export
    # (test_console_template.py).
    assert {s["Sid"] for s in deciders} == {"StaffDecrypts", "TrackOpensCaseMessagesOnly",
                                            "NotifierDecryptsRecipientsOnly", "NotifierOpensCaseMessagesOnly",
                                            "ConsoleExportsDecrypt"}
    (track,) = [s for s in deciders if s["Sid"] == "TrackOpensCaseMessagesOnly"]
    assert as_list(track["Action"]) == ["kms:Decrypt"]
    assert "-case-messages" in principal_of(track) and "-api" not in principal_of(track)
    # Only ciphertexts sealed as customer messages: never a submission (kind context) or a note.
    assert track["Condition"]["StringEquals"] == {CONTEXT_KIND: CASE_MESSAGE_CONTEXT}


def test_the_case_message_role_is_the_public_functions_alone_and_opens_messages_only(
    resources: dict[str, Any]
) -> None:
    role = resources["Resources"]["CaseMessageRole"]["Properties"]
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert "-api" in json.dumps(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    (policy,) = role["Policies"]
    (opens,) = statements(policy["PolicyDocument"])
    assert as_list(opens["Action"]) == ["kms:Decrypt"]
    assert opens["Condition"]["StringEquals"] == {CONTEXT_KIND: CASE_MESSAGE_CONTEXT}
    assert "ManagedPolicyArns" not in role
    api = resources["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api["AFTERCARE_CASE_MESSAGE_ROLE_ARN"] == {"Fn::GetAtt": ["CaseMessageRole", "Arn"]}


def test_the_public_function_reads_only_the_attributes_the_tracker_asks_for(
    public_policy: dict[str, Any]
) -> None:
    (track,) = [s for s in statements(public_policy) if s["Sid"] == "TrackCasesOpenAttributesOnly"]
    allowed = set(track["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    assert allowed == {PARTITION_KEY, SORT_KEY, EXPIRY_ATTRIBUTE, *CASE_ATTRIBUTES, *HISTORY_ATTRIBUTES}
    assert not allowed & {"personal", "note", "fields"}
    assert track["Condition"]["StringEqualsIfExists"] == {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
    assert set(track["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]) == {"SUB#*", "CASE#*"}
