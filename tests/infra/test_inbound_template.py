"""Replies in AWS as packaged: the receipt rule on the reply subdomain behind the gate, the private
mail bucket that forgets within a day, and the inbound function's own narrow role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.inbound.gate import disposition

from tests.infra.test_template import actions, as_list, refers_to, statements

CHALICE = Path(__file__).resolve().parents[2] / "backend" / ".chalice"


def inbound_policy() -> dict[str, Any]:
    return json.loads((CHALICE / "policy-inbound.json").read_text())  # type: ignore[no-any-return]


def test_the_mail_bucket_is_private_encrypted_with_its_own_key_and_forgets_within_a_day(packaged):
    resources = packaged["Resources"]
    properties = resources["InboundMailBucket"]["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert refers_to(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], "InboundMailKey")
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    (expiry,) = properties["LifecycleConfiguration"]["Rules"]
    assert "Prefix" not in expiry and expiry["ExpirationInDays"] == 1
    assert expiry["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    policy = resources["InboundMailBucketPolicy"]["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in statements(policy)}
    assert by_sid["TlsOnly"]["Effect"] == "Deny"
    allowed = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allowed] == [{"Service": "ses.amazonaws.com"}]
    assert as_list(allowed[0]["Action"]) == ["s3:PutObject"]
    assert allowed[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert resources["InboundMailKey"]["Properties"]["EnableKeyRotation"] is True
    (trigger,) = properties["NotificationConfiguration"]["LambdaConfigurations"]
    assert refers_to(trigger["Function"], "Inbound")


def test_the_receipt_rule_takes_the_reply_subdomain_scans_and_asks_the_gate_before_storing(packaged):
    rule = packaged["Resources"]["InboundReceiptRule"]["Properties"]["Rule"]
    assert rule["ScanEnabled"] is True and rule["TlsPolicy"] == "Require" and rule["Enabled"] is True
    (recipient,) = rule["Recipients"]
    assert json.dumps(recipient).startswith('{"Fn::Sub": ["reply.${Domain}"')
    gate, store = rule["Actions"]
    assert refers_to(gate["LambdaAction"]["FunctionArn"], "InboundGate")
    assert gate["LambdaAction"]["InvocationType"] == "RequestResponse"  # its answer can stop the rule
    assert refers_to(store["S3Action"]["BucketName"], "InboundMailBucket")
    assert store["S3Action"]["ObjectKeyPrefix"] == "mail/"


def verdicts(**failed: str) -> dict[str, Any]:
    receipt = {check: {"status": "PASS"} for check in ("spfVerdict", "dkimVerdict", "dmarcVerdict",
                                                       "virusVerdict", "spamVerdict")}
    receipt.update({check: {"status": status} for check, status in failed.items()})
    return {"Records": [{"ses": {"receipt": receipt, "mail": {}}}]}


def test_the_gate_stops_spf_dkim_dmarc_failures_and_viruses_and_lets_the_rest_through() -> None:
    assert disposition(verdicts()) == {"disposition": "CONTINUE"}
    assert disposition(verdicts(spfVerdict="GRAY")) == {"disposition": "CONTINUE"}
    for check in ("spfVerdict", "dkimVerdict", "dmarcVerdict", "virusVerdict"):
        assert disposition(verdicts(**{check: "FAIL"})) == {"disposition": "STOP_RULE_SET"}, check


def test_the_gate_runs_as_a_role_that_reaches_nothing(packaged):
    resources = packaged["Resources"]
    assert refers_to(resources["InboundGate"]["Properties"]["Role"], "InboundGateRole")
    (policy,) = resources["InboundGateRole"]["Properties"]["Policies"]
    assert actions(policy["PolicyDocument"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_the_inbound_function_has_its_own_role_that_cannot_read_other_submissions(packaged):
    resources = packaged["Resources"]
    function = resources["Inbound"]["Properties"]
    assert function["Handler"] == "app.inbound"
    assert refers_to(function["Role"], "InboundRole")
    assert resources["InboundRole"]["Properties"]["RoleName"] == {"Fn::Sub": "${AWS::StackName}-inbound"}
    policy = inbound_policy()
    granted = actions(policy)
    # It opens nothing: no decryption with the data key, no reading of attachments, no listing.
    assert not {"dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "s3:ListBucket"} & granted
    for statement in statements(policy):
        resource = json.dumps(statement["Resource"])
        if "kms:Decrypt" in as_list(statement["Action"]):
            assert "InboundMailKey" in resource  # the raw mail it was handed, through S3 only
        if "s3:GetObject" in as_list(statement["Action"]):
            assert resource.endswith('-inbound-${AWS::AccountId}/mail/*"}')
        if statement["Action"] == "kms:GenerateDataKey" and "DataKey" in resource:
            assert statement["Condition"]["StringLike"] == {"kms:EncryptionContext:aftercare:kind":
                                                            "*#customer_reply"}
    reads = [s for s in statements(policy) if "dynamodb:GetItem" in as_list(s["Action"])]
    assert [s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in reads] == [["SUB#*"]]
    (moves,) = [s for s in statements(policy) if "dynamodb:UpdateItem" in as_list(s["Action"])]
    assert "personal" not in moves["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]


def test_the_data_key_lets_the_inbound_role_seal_replies_and_open_nothing(resources):
    policy = resources["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    for statement in statements(policy):
        principals = json.dumps(statement.get("Condition", {}).get("ArnEquals", {}))
        if '-inbound"' not in principals:
            continue
        assert as_list(statement["Action"]) == ["kms:GenerateDataKey"]
        kinds = statement["Condition"]["StringEquals"]["kms:EncryptionContext:aftercare:kind"]
        assert all(kind.endswith("#customer_reply") for kind in kinds)


def test_the_notifier_and_the_inbound_function_know_the_reply_domain(packaged):
    resources = packaged["Resources"]
    for name in ("Notifier", "Inbound"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert json.dumps(variables["AFTERCARE_REPLY_DOMAIN"]).startswith('{"Fn::Sub": ["reply.${Domain}"')
