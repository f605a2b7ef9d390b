"""The deploy path, end to end, against moto's server on 127.0.0.1.

moto's CloudFormation creates what it models (KMS keys and aliases, the
DynamoDB table, IAM roles and managed policies, S3 buckets, the log group, the
SNS topic) and skips the rest with a warning: the SAM transform (so the Lambda
function and API Gateway), CloudFront (distribution, OAC, function, headers
policy), WAFv2, AWS Backup, CloudWatch alarms, S3 bucket policies, SNS
subscriptions and Cognito (the staff user pool, its groups, domain and
client). A modelled resource that names a skipped one (the Lambda
permission) is left out, and outputs that name a skipped resource are replaced
by placeholders (the distribution id by one created in
moto beforehand, so the invalidation is real). moto also has no AWS Backup
region settings, so that step is switched off. Key policies, IAM conditions,
throttling and headers are not enforced by moto, and its DescribeKey fails on
keys created from a template: test_template.py and
test_lint.py check those from the template itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml
from aftercare_local import processes
from moto.cloudformation.parsing import resource_class_from_type

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = ROOT / "build" / "site"
REGION = "eu-west-1"
BACKUP_REGION = "eu-central-1"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = processes.start(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("moto's server did not start within 30 s")
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        processes.stop(server)
        log.close()


@pytest.fixture
def fake_aws(moto_endpoint, monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return moto_endpoint


def names_a_skipped_resource(value, skipped: set[str]) -> bool:
    text = json.dumps(value)
    return any(
        f'"Ref": "{name}"' in text or f'"Fn::GetAtt": ["{name}"' in text or f"${{{name}" in text
        for name in skipped
    )


def for_moto(template: dict, placeholders: dict[str, str]) -> dict:
    """The template as far as moto models it.

    Resources moto models but that name a skipped one (the Lambda permission
    names the function) are left out; outputs that name a skipped resource
    become placeholders.
    """
    resources = template["Resources"]
    skipped = {n for n, r in resources.items() if resource_class_from_type(r["Type"]) is None}
    # Left out in turn: what names a left-out resource (the attachments bucket's policy
    # names the bucket, which names the checker function).
    while doomed := [
        n for n in resources if n not in skipped and names_a_skipped_resource(resources[n], skipped)
    ]:
        for name in doomed:
            del resources[name]
        skipped.update(doomed)
    for key, output in template.get("Outputs", {}).items():
        if names_a_skipped_resource(output["Value"], skipped):
            output["Value"] = placeholders.get(key, f"not-modelled-by-moto-{key}")
    return template


@pytest.fixture
def moto_templates(tmp_path, package_dir, deploy_module, fake_aws, read_cfn):
    """Side templates and the packaged main template, adapted as described above."""
    cloudfront = boto3.client("cloudfront")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "aftercare-e2e",
            "Comment": "stands in for the stack's distribution, which moto cannot create",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": "api.example",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "MinTTL": 0,
            },
        }
    )["Distribution"]
    placeholders = {
        "WebAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/e2e/0",
        "BackupVaultArn": f"arn:aws:backup:{BACKUP_REGION}:123456789012:backup-vault:e2e",
        "SiteDistributionId": distribution["Id"],
        "SiteUrl": f"https://{distribution['DomainName']}/",
    }
    templates_dir = tmp_path / "infra"
    templates_dir.mkdir()
    for name in ("artifacts", "edge", "offsite"):
        template = for_moto(read_cfn(ROOT / "infra" / f"{name}.yaml"), placeholders)
        (templates_dir / f"{name}.yaml").write_text(yaml.safe_dump(template), encoding="utf-8")
    main_dir = tmp_path / "package"
    main_dir.mkdir()
    shutil.copy(package_dir / deploy_module.LAMBDA_ZIP, main_dir)
    main = yaml.safe_load((package_dir / deploy_module.MAIN_TEMPLATE).read_text(encoding="utf-8"))
    (main_dir / deploy_module.MAIN_TEMPLATE).write_text(
        yaml.safe_dump(for_moto(main, placeholders)), encoding="utf-8"
    )
    return templates_dir, main_dir, distribution["Id"]


def test_deploy_creates_the_stacks_uploads_the_site_and_invalidates(moto_templates, deploy_module):
    templates_dir, main_dir, distribution_id = moto_templates
    options = deploy_module.DeployOptions(
        stage="e2e", region=REGION, backup_region=BACKUP_REGION, account_settings=False,
        sender_address="help@aftercare.example",
    )

    outputs = deploy_module.deploy(
        options, package_dir=main_dir, site_dir=SITE_DIR, templates_dir=templates_dir
    )

    cfn = boto3.client("cloudformation")
    (stack,) = cfn.describe_stacks(StackName="aftercare-e2e")["Stacks"]
    # Created, then updated once the distribution's name was known: the console needs it.
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["BackupCopyVaultArn"].split(":")[3] == BACKUP_REGION
    assert parameters["ConsoleSiteUrl"] == outputs["SiteUrl"].rstrip("/")
    assert parameters["ConsoleSiteUrl"].startswith("https://")
    assert "cloudfront" in parameters["ConsoleSiteUrl"]
    edge = boto3.client("cloudformation", region_name="us-east-1")
    edge_outputs = deploy_module.stack_outputs(edge, "aftercare-e2e-edge")
    assert parameters["ConsoleBodyHashArn"] == edge_outputs["ConsoleBodyHashVersionArn"]
    for side, region in (("edge", "us-east-1"), ("offsite", BACKUP_REGION)):
        client = boto3.client("cloudformation", region_name=region)
        (side_stack,) = client.describe_stacks(StackName=f"aftercare-e2e-{side}")["Stacks"]
        assert side_stack["StackStatus"] == "CREATE_COMPLETE"

    table = boto3.client("dynamodb").describe_table(TableName=outputs["SubmissionsTableName"])
    table = table["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    indexes = {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {"by-kind", "by-subject", "open-cases"}
    assert table["DeletionProtectionEnabled"] is True

    # moto's DescribeKey fails on keys whose policy came from a template (it
    # stores the policy as an object), so the keys are checked through
    # rotation status and the alias instead.
    kms = boto3.client("kms")
    assert kms.get_key_rotation_status(KeyId=outputs["DataKeyArn"])["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert outputs["DataKeyArn"].endswith(aliases["alias/aftercare-e2e-data"])
    assert outputs["SubjectHashKeyArn"] != outputs["DataKeyArn"]

    iam = boto3.client("iam")
    assert iam.get_role(RoleName="aftercare-e2e-api")["Role"]["Arn"].endswith("/aftercare-e2e-api")
    assert outputs["StaffRoleArn"].endswith(":role/aftercare-e2e-staff")

    s3 = boto3.client("s3")
    bucket = outputs["SiteBucketName"]
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    built = {p.relative_to(SITE_DIR).as_posix() for p in SITE_DIR.rglob("*") if p.is_file()}
    assert stored == built
    page = s3.get_object(Bucket=bucket, Key="index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["Body"].read() == (SITE_DIR / "index.html").read_bytes()

    invalidations = boto3.client("cloudfront").list_invalidations(DistributionId=distribution_id)
    assert invalidations["InvalidationList"]["Quantity"] == 1

    # A second upload keeps the bucket equal to the build: stale pages go.
    s3.put_object(Bucket=bucket, Key="old-page/index.html", Body=b"gone")
    deploy_module.upload_site(s3, bucket, SITE_DIR)
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stored == built
