"""The attachments bucket as packaged: private, encrypted with its own key, TLS only, and the roles' reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.infra.test_template import actions, as_list, refers_to, statements

BACKEND = Path(__file__).resolve().parents[2] / "backend" / ".chalice"


def bucket(packaged: dict[str, Any]) -> dict[str, Any]:
    return packaged["Resources"]["AttachmentsBucket"]["Properties"]  # type: ignore[no-any-return]


def test_the_bucket_is_private_versioned_and_encrypted_with_its_own_key(packaged):
    properties = bucket(packaged)
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert refers_to(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], "AttachmentsKey")
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    assert packaged["Resources"]["AttachmentsKey"]["Properties"]["EnableKeyRotation"] is True


def test_unchecked_uploads_go_after_a_day_and_old_versions_expire(packaged):
    rules = {r["Id"]: r for r in bucket(packaged)["LifecycleConfiguration"]["Rules"]}
    uploads = rules["DeleteUncheckedUploads"]
    assert (uploads["Prefix"], uploads["ExpirationInDays"]) == ("uploads/", 1)
    assert all("NoncurrentVersionExpiration" in rule for rule in rules.values())


def test_the_bucket_refuses_plain_http_and_confines_the_public_role_to_uploads(packaged):
    policy = packaged["Resources"]["AttachmentsBucketPolicy"]["Properties"]["PolicyDocument"]
    denials = {s["Sid"]: s for s in statements(policy) if s["Effect"] == "Deny"}
    assert denials["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert denials["PublicRoleOnlyUploads"]["NotAction"] == "s3:PutObject"
    assert refers_to(denials["PublicRoleUploadsFolderOnly"]["NotResource"], "AttachmentsBucket")


def test_the_public_role_can_create_uploads_and_not_read_or_list(packaged):
    public = json.loads((BACKEND / "policy-api.json").read_text())
    s3_actions = {a for a in actions(public) if a.startswith("s3:")}
    assert s3_actions == {"s3:PutObject"}
    (put,) = [s for s in statements(public) if "s3:PutObject" in as_list(s["Action"])]
    assert put["Resource"]["Fn::Sub"].endswith("/uploads/*")


def test_the_checker_has_its_own_role_and_is_triggered_by_new_uploads(packaged):
    resources = packaged["Resources"]
    assert refers_to(resources["CheckUpload"]["Properties"]["Role"], "CheckUploadRole")
    (policy,) = resources["CheckUploadRole"]["Properties"]["Policies"]
    granted = actions(policy["PolicyDocument"])
    assert "s3:ListBucket" not in granted and "kms:Decrypt" in granted
    (trigger,) = bucket(packaged)["NotificationConfiguration"]["LambdaConfigurations"]
    assert refers_to(trigger["Function"], "CheckUpload")
    assert trigger["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    code = {resources[name]["Properties"]["CodeUri"] for name in ("CheckUpload", "APIHandler")}
    assert code == {"./deployment.zip"}
