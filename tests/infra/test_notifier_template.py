"""The notifier as deployed: the stream drives it, failures retry and go aside, SES sends,
and its role may decrypt recipient addresses and customer messages only (checked against real
ciphertexts)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy
from chalicelib.cases.book import CASE_MESSAGE_CONTEXT, note_context
from chalicelib.crypto.keys import LocalKeyProvider, RecipientSeal, SubmissionCipher
from chalicelib.store import items

from tests.infra.test_template import actions, as_list, refers_to, statements

ROOT = Path(__file__).resolve().parents[2]
POLICY_NOTIFIER = ROOT / "backend" / ".chalice" / "policy-notifier.json"
POLICY_API = ROOT / "backend" / ".chalice" / "policy-api.json"


@pytest.fixture(scope="module")
def notifier_policy() -> dict[str, Any]:
    return json.loads(POLICY_NOTIFIER.read_text(encoding="utf-8"))


def key_statements(resources: dict[str, Any], key: str = "DataKey") -> list[dict[str, Any]]:
    return statements(resources["Resources"][key]["Properties"]["KeyPolicy"])


def principal_of(statement: dict[str, Any]) -> str:
    return json.dumps(statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", ""))


def encryption_context_allows(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM's reading of the kms:EncryptionContext conditions of one statement, for one request."""
    condition = statement.get("Condition", {})
    for name, wanted in condition.get("StringEquals", {}).items():
        key = name.removeprefix("kms:EncryptionContext:")
        if key != name and context.get(key) not in as_list(wanted):
            return False
    keys = condition.get("ForAllValues:StringEquals", {}).get("kms:EncryptionContextKeys")
    return keys is None or set(context) <= set(keys)


def sealed_contexts() -> dict[str, dict[str, str]]:
    """The encryption contexts that the app's ciphertexts really carry (read from their headers)."""
    provider = LocalKeyProvider.from_key(secrets.token_bytes(32))
    cipher = SubmissionCipher(provider)
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    blobs = {
        "submission body": cipher.seal({"email": "a@example.com", "message": "hi"}, kind="complaint",
                                       reference="CMP-AAAA-BBBB"),
        "consent": cipher.seal({"email": "a@example.com"}, kind="consent", reference="CON-AAAA-BBBB"),
        "recipient": RecipientSeal(cipher).seal("a@example.com", kind="complaint", reference="CMP-AAAA-BBBB"),
        "customer message": cipher.seal({"message": "We refunded you."}, kind=CASE_MESSAGE_CONTEXT,
                                        reference="CMP-AAAA-BBBB"),
        "internal note": cipher.seal({"note": "Courier lost it."}, kind=note_context("complaint"),
                                     reference="CMP-AAAA-BBBB"),
    }
    return {name: dict(client.decrypt(source=blob, key_provider=provider)[1].encryption_context)
            for name, blob in blobs.items()}


def test_the_notifier_may_decrypt_the_recipient_and_customer_messages_and_nothing_else(
    resources, notifier_policy
):
    contexts = sealed_contexts()
    in_key_policy = [s for s in key_statements(resources) if principal_of(s).endswith('-notifier"}')]
    in_role = [s for s in statements(notifier_policy) if "kms:Decrypt" in as_list(s["Action"])]
    for granted in (in_key_policy, in_role):
        assert len(granted) == 2 and all(as_list(s["Action"]) == ["kms:Decrypt"] for s in granted)

        def allowed(sealed: str, granted=granted) -> bool:  # any one statement suffices, as in IAM
            return any(encryption_context_allows(s, contexts[sealed]) for s in granted)

        assert allowed("recipient") and allowed("customer message")
        for never in ("submission body", "consent", "internal note"):
            assert not allowed(never), never
    assert actions(notifier_policy) & {"kms:GenerateDataKey", "kms:Encrypt", "kms:ReEncryptFrom"} == set()


def test_the_public_api_may_seal_the_recipient_but_still_decrypts_nothing(resources):
    contexts = sealed_contexts()
    public = json.loads(POLICY_API.read_text(encoding="utf-8"))
    (in_key_policy,) = [s for s in key_statements(resources) if s["Sid"] == "PublicApiEncryptsOnly"]
    (in_role,) = [s for s in statements(public) if s["Sid"] == "EncryptOnly"]
    for statement in (in_key_policy, in_role):
        assert as_list(statement["Action"]) == ["kms:GenerateDataKey"]
        for sealed in ("recipient", "submission body", "consent"):
            assert encryption_context_allows(statement, contexts[sealed]), sealed
    assert not any("kms:Decrypt" in as_list(s["Action"]) and principal_of(s).endswith('-api"}')
                   for s in key_statements(resources))
    assert "kms:Decrypt" not in actions(public)


def test_the_notifier_role_touches_only_its_own_records_and_reads_no_table_scan(notifier_policy):
    granted = actions(notifier_policy)
    assert not {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "kms:*", "ses:*"} & granted
    for statement in statements(notifier_policy):
        assert "*" not in json.dumps(statement["Action"]) and statement["Resource"] != "*", statement["Sid"]
    leading = {
        s["Sid"]: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for s in statements(notifier_policy)
        if {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} & set(as_list(s["Action"]))
    }
    assert leading == {"ReadTheSubmissionItsCaseHistoryFilesAndSentRecords":
                       ["SUB#*", "CASE#*", "UPLOAD#*", "SENT#*"],
                       "ClaimAndMarkEachMessage": ["SENT#*"], "RecordAndWithdrawConsents": ["CONSENT#*"],
                       "RecordTheWithdrawal": ["AUDIT#*"], "RecordEachCaseRatingOnce": ["SUB#*"],
                       "MarkEachChangeCountedOnce": ["AGGMARK#*"], "AddToTheDailyCounters": ["AGG#DAILY"]}


def test_the_notifier_may_set_a_cases_rating_and_no_other_attribute_of_a_submission(notifier_policy):
    (rating,) = [s for s in statements(notifier_policy) if s["Sid"] == "RecordEachCaseRatingOnce"]
    assert as_list(rating["Action"]) == ["dynamodb:UpdateItem"]
    assert set(rating["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]) == {
        "pk", "sk", *items.RATING_ATTRIBUTES}


def test_the_public_api_records_unsubscribe_clicks_by_put_only(resources):
    public = json.loads(POLICY_API.read_text(encoding="utf-8"))
    (writes,) = [s for s in statements(public) if s["Sid"] == "WriteSubmissions"]
    assert "UNSUB#*" in writes["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]


def test_the_stream_drives_the_notifier_with_retries_bisection_and_a_dead_letter_queue(packaged):
    resources = packaged["Resources"]
    stream = resources["SubmissionsTable"]["Properties"]["StreamSpecification"]
    assert stream == {"StreamViewType": "NEW_IMAGE"}
    function = resources["Notifier"]["Properties"]
    assert function["Handler"] == "app.notifier"
    assert refers_to(function["Role"], "NotifierRole")
    (event,) = function["Events"].values()
    assert event["Type"] == "DynamoDB"
    source = event["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]}
    assert source["BisectBatchOnFunctionError"] is True
    assert 0 < source["MaximumRetryAttempts"] <= 10
    assert refers_to(source["DestinationConfig"]["OnFailure"]["Destination"], "NotifierDeadLetters")
    patterns = [json.loads(f["Pattern"]) for f in source["FilterCriteria"]["Filters"]]
    assert {p["eventName"][0] for p in patterns} == {"INSERT", "MODIFY"}
    # Case history reaches the notifier only for moves and messages to the customer (a handler or
    # a note alone, or the customer's own reply, emails no one).
    case_entries = [p for p in patterns if {"prefix": "CASE#"} in p["dynamodb"]["Keys"]["pk"]["S"]]
    assert all(p["eventName"] == ["INSERT"] for p in case_entries)
    assert [p["dynamodb"]["NewImage"] for p in case_entries] == [
        {"moved": {"BOOL": [True]}}, {"customer_message": {"B": [{"exists": True}]}}]
    assert resources["NotifierRole"]["Properties"]["RoleName"] == {"Fn::Sub": "${AWS::StackName}-notifier"}
    variables = function["Environment"]["Variables"]
    assert refers_to(variables["AFTERCARE_MAIL_FROM"], "SenderAddress")
    assert refers_to(variables["AFTERCARE_SES_CONFIGURATION_SET"], "MailConfigurationSet")
    assert refers_to(variables["AFTERCARE_DEAD_LETTER_QUEUE_URL"], "NotifierDeadLetters")
    assert function["CodeUri"] == resources["APIHandler"]["Properties"]["CodeUri"]


def test_ses_sends_from_a_dkim_signed_domain_through_a_configuration_set(resources):
    identity = resources["Resources"]["MailIdentity"]["Properties"]
    assert identity["DkimAttributes"] == {"SigningEnabled": True}
    assert identity["DkimSigningAttributes"]["NextSigningKeyLength"] == "RSA_2048_BIT"
    assert refers_to(identity["EmailIdentity"], "SenderAddress")
    assert refers_to(identity["ConfigurationSetAttributes"], "MailConfigurationSet")
    configuration = resources["Resources"]["MailConfigurationSet"]["Properties"]
    assert configuration["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert set(configuration["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
    assert "Default" not in resources["Parameters"]["SenderAddress"]


def test_alarms_cover_dead_letters_notifier_errors_and_a_stream_falling_behind(resources):
    alarms = {name: r["Properties"] for name, r in resources["Resources"].items()
              if r.get("Type") == "AWS::CloudWatch::Alarm"}
    watched = {(a.get("Namespace"), a.get("MetricName")): a for a in alarms.values()}
    dead = watched[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    assert refers_to(dead["Dimensions"], "NotifierDeadLetters") and dead["Threshold"] == 1
    for metric in ("Errors", "IteratorAge"):
        assert any(refers_to(a["Dimensions"], "Notifier") for (ns, m), a in watched.items()
                   if (ns, m) == ("AWS/Lambda", metric)), metric
    for alarm in alarms.values():
        assert refers_to(alarm["AlarmActions"], "AlarmTopic")


def test_the_daily_digest_runs_on_a_schedule_as_its_own_role_that_decrypts_nothing(packaged):
    resources = packaged["Resources"]
    function = resources["Digest"]["Properties"]
    (event,) = function["Events"].values()
    assert (event["Type"], event["Properties"]["Schedule"]) == ("Schedule", "cron(0 7 * * ? *)")
    assert refers_to(function["Role"], "DigestRole")
    assert refers_to(function["DeadLetterQueue"]["TargetArn"], "NotifierDeadLetters")
    notifier = resources["Notifier"]["Properties"]
    assert function["Environment"]["Variables"] == notifier["Environment"]["Variables"]
    digest_policy = json.loads((ROOT / "backend" / ".chalice" / "policy-digest.json").read_text())
    assert not any(a.startswith("kms:") for a in actions(digest_policy))
    # It lists the day's submissions and the open cases from their indexes: no other table read.
    queried = [s["Resource"] for s in statements(digest_policy) if "dynamodb:Query" in as_list(s["Action"])]
    assert queried == [{"Fn::Sub": "${SubmissionsTable.Arn}/index/by-kind"},
                       {"Fn::Sub": "${SubmissionsTable.Arn}/index/open-cases"},
                       {"Fn::GetAtt": ["SubmissionsTable", "Arn"]}]
    # The table itself only for the daily counters (the weekly summary).
    (counters,) = [s for s in statements(digest_policy)
                   if s["Resource"] == queried[-1] and "dynamodb:Query" in as_list(s["Action"])]
    assert counters["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["AGG#DAILY"]
    assert "dynamodb:Scan" not in actions(digest_policy)
    assert resources["DigestRole"]["Properties"]["RoleName"] == {"Fn::Sub": "${AWS::StackName}-digest"}


def test_a_deploy_without_a_sender_address_stops_before_packaging(deploy_module, monkeypatch):
    monkeypatch.setattr(deploy_module, "package", lambda: pytest.fail("packaged anyway"))
    with pytest.raises(SystemExit, match="SENDER"):
        deploy_module.main(["deploy", "--stage", "dev", "--backup-region", "eu-central-1"])


def test_an_email_claim_s_lease_outlasts_every_function_that_sends() -> None:
    """A claim older than its lease must have no live holder, or a takeover could send twice:
    the lease is longer than the timeout of each function that claims emails."""
    from chalicelib.notify import notifier as notify

    config = json.loads((ROOT / "backend" / ".chalice" / "config.json").read_text(encoding="utf-8"))
    senders = ("notifier", "digest")
    timeouts = [config["lambda_functions"][name].get("lambda_timeout", config["lambda_timeout"])
                for name in senders]
    assert len(timeouts) == len(senders)
    assert notify.CLAIM_LEASE.total_seconds() > max(timeouts)


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filter rules, as far as the notifier's patterns use them."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _matches(rule, value.get(name)) for name, rule in pattern.items())
    for rule in pattern:
        if isinstance(rule, dict) and "prefix" in rule and isinstance(value, str) \
                and value.startswith(rule["prefix"]):
            return True
        if isinstance(rule, dict) and "exists" in rule and (value is not None) == rule["exists"]:
            return True
        if rule == value:
            return True
    return False


def test_the_stream_filter_passes_a_refused_attached_file_and_no_other_upload_change(packaged):
    from chalicelib.notify import attachment_notices
    from chalicelib.store import items
    from chalicelib.store.table import from_dynamodb, to_dynamodb

    (event,) = packaged["Resources"]["Notifier"]["Properties"]["Events"].values()
    patterns = [json.loads(f["Pattern"]) for f in event["Properties"]["FilterCriteria"]["Filters"]]

    def change(**image: Any) -> dict[str, Any]:
        record = {items.PARTITION_KEY: items.upload_key("u" * 24)[0], items.SORT_KEY: "UPLOAD",
                  "upload_id": "u" * 24, **image}
        wire = to_dynamodb(record)
        return {"eventName": "MODIFY", "dynamodb": {
            "Keys": {name: wire[name] for name in (items.PARTITION_KEY, items.SORT_KEY)}, "NewImage": wire}}

    samples = [change(check="refused", reference="RET-AAAA-BBBB"),
               change(check="checked", reference="RET-AAAA-BBBB"), change(check="refused"),
               change(check="issued", used=True, reference="RET-AAAA-BBBB")]
    passed = [any(_matches(p, sample) for p in patterns) for sample in samples]
    assert passed == [True, False, False, False]
    # The filter lets through exactly what the notifier acts on.
    assert passed == [attachment_notices.is_attached_refusal(from_dynamodb(s["dynamodb"]["NewImage"]))
                      for s in samples]
