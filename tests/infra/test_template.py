"""The deployed template keeps the design's promises: keys, table, roles, site, limits, backups."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = ROOT / "build" / "site"
DATA_POLICY = ROOT / "backend" / "chalicelib" / "data" / "data_policy.toml"
MANAGED_CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5ccb12148a"


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def refers_to(value: Any, logical_id: str) -> bool:
    """Whether a Ref, GetAtt or Sub in value names the resource."""
    text = json.dumps(value)
    return (
        f'"Ref": "{logical_id}"' in text
        or f'"Fn::GetAtt": ["{logical_id}"' in text
        or f"${{{logical_id}" in text
    )


def data_policy_kinds() -> set[str]:
    return set(tomllib.loads(DATA_POLICY.read_text(encoding="utf-8"))["kinds"])


POLICY_API = ROOT / "backend" / ".chalice" / "policy-api.json"


@pytest.fixture(scope="module")
def public_policy() -> dict[str, Any]:
    return json.loads(POLICY_API.read_text(encoding="utf-8"))


def test_chalice_gives_the_function_the_hand_written_policy(packaged, public_policy):
    role = packaged["Resources"]["ApiHandlerRole"]
    (policy,) = role["Properties"]["Policies"]
    assert policy["PolicyDocument"] == public_policy


# -- Keys and table ----------------------------------------------------------------


def test_table_is_on_demand_encrypted_with_our_key_and_protected(resources):
    table = resources["Resources"]["SubmissionsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["DeletionProtectionEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"]["SSEType"] == "KMS"
    assert refers_to(table["SSESpecification"]["KMSMasterKeyId"], "DataKey")
    assert resources["Resources"]["SubmissionsTable"]["DeletionPolicy"] == "Retain"


def test_table_has_the_export_and_data_subject_indexes(resources):
    table = resources["Resources"]["SubmissionsTable"]["Properties"]
    indexes = {
        index["IndexName"]: [k["AttributeName"] for k in index["KeySchema"]]
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by-kind": ["kind", "created_at"],
        "by-subject": ["subject_hash", "created_at"],
        "open-cases": ["case_queue", "created_at"],
    }


def test_data_key_rotates(resources):
    assert resources["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_subject_hash_key_is_an_hmac_key(resources):
    key = resources["Resources"]["SubjectHashKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")


def test_only_the_staff_role_and_the_services_may_decrypt_with_the_data_key(resources):
    policy = resources["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    for statement in statements(policy):
        granted = as_list(statement["Action"])
        assert "kms:*" not in granted
        if not {"kms:Decrypt", "kms:Decrypt*"} & set(granted):
            continue
        condition = statement["Condition"]
        principals = condition.get("ArnEquals", {}).get("aws:PrincipalArn", [])
        named = [json.dumps(arn) for arn in as_list(principals)]
        through_service = condition.get("StringEquals", {}).get("kms:ViaService")
        if named and all(n.endswith('-notifier"}') for n in named):
            # Recipients and customer messages: test_notifier_template.py.
            assert condition["StringEquals"] in ({"kms:EncryptionContext:aftercare:field": "recipient"},
                                                 {"kms:EncryptionContext:aftercare:kind": "case_message"})
            continue
        # Staff (the command's role, the console's role and its exports function's, which may only
        # decrypt: test_console_template.py); the track page's own role (customer messages only:
        # test_case_messages.py); the services.
        staff = ('-staff"}', '-console"}', '-console-exports"}', '-case-messages"}')
        assert (named and all(n.endswith(staff) for n in named)) \
            or through_service, statement["Sid"]
        if through_service:
            assert all(re.match(r"(dynamodb|backup)\.", s["Fn::Sub"]) for s in through_service)


def test_key_policy_and_public_role_allow_exactly_the_data_policy_kinds(resources, public_policy):
    kinds = data_policy_kinds()
    (in_key_policy,) = [
        s
        for s in statements(resources["Resources"]["DataKey"]["Properties"]["KeyPolicy"])
        if s["Sid"] == "PublicApiEncryptsOnly"
    ]
    (in_role,) = [s for s in statements(public_policy) if s["Sid"] == "EncryptOnly"]
    for statement in (in_key_policy, in_role):
        assert as_list(statement["Action"]) == ["kms:GenerateDataKey"]
        allowed = statement["Condition"]["StringEquals"]["kms:EncryptionContext:aftercare:kind"]
        assert set(allowed) == kinds


# -- Roles ----------------------------------------------------------------


def test_public_role_can_neither_decrypt_nor_read_back_submissions(public_policy):
    granted = actions(public_policy)
    assert "kms:Decrypt" not in granted
    assert not {"dynamodb:Scan", "dynamodb:DeleteItem"} & granted
    # Queries only for the track page, only for a case's open attributes (test_case_messages.py).
    querying = [s for s in statements(public_policy) if "dynamodb:Query" in as_list(s["Action"])]
    assert [s["Sid"] for s in querying] == ["TrackCasesOpenAttributesOnly"]
    # It may change upload records only (marking an upload used), never a submission.
    for statement in statements(public_policy):
        if "dynamodb:UpdateItem" in as_list(statement["Action"]):
            assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["UPLOAD#*"]
    assert granted == {
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "sts:AssumeRole",
        "dynamodb:UpdateItem",
        "kms:GenerateDataKey",
        "kms:GenerateMac",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:PutObject",
    }


def test_public_role_names_every_resource_and_limits_item_keys(public_policy):
    for statement in statements(public_policy):
        assert "*" not in json.dumps(statement["Action"])
        assert statement["Resource"] != "*", statement["Sid"]
        if any(a.startswith("dynamodb:") for a in as_list(statement["Action"])):
            leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert leading and all(re.fullmatch(r"[A-Z]+#\*", k) for k in leading)
    (reads,) = [s for s in statements(public_policy) if s["Sid"] == "ReplayAndWarrantyStatus"]
    assert reads["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "IDEM#*",
        "WARRANTY#*",
    ]


def test_the_function_runs_as_its_own_role_with_the_table_and_keys_in_its_environment(packaged):
    function = packaged["Resources"]["APIHandler"]["Properties"]
    assert refers_to(function["Role"], "ApiHandlerRole")
    variables = function["Environment"]["Variables"]
    assert refers_to(variables["AFTERCARE_TABLE_NAME"], "SubmissionsTable")
    assert refers_to(variables["AFTERCARE_KMS_KEY_ID"], "DataKey")
    assert refers_to(variables["AFTERCARE_SUBJECT_KEY_ID"], "SubjectHashKey")
    role_name = packaged["Resources"]["ApiHandlerRole"]["Properties"]["RoleName"]
    assert role_name == {"Fn::Sub": "${AWS::StackName}-api"}


def test_staff_may_query_decrypt_update_and_delete_and_nothing_else(resources):
    policy = resources["Resources"]["StaffPolicy"]["Properties"]["PolicyDocument"]
    assert actions(policy) == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:GenerateMac",
    }
    for statement in statements(policy):
        assert statement["Resource"] != "*"
    (audit,) = [s for s in statements(policy) if s["Sid"] == "WriteAuditRecordsAndCaseHistory"]
    assert audit["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["AUDIT#*", "CASE#*"]
    staff_role = resources["Resources"]["StaffRole"]["Properties"]
    assert staff_role["RoleName"] == {"Fn::Sub": "${AWS::StackName}-staff"}


# -- Site ----------------------------------------------------------------


def distribution(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]


def test_site_bucket_is_private_and_read_only_through_cloudfront(resources):
    bucket = resources["Resources"]["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    origins = {o["Id"]: o for o in distribution(resources)["Origins"]}
    assert refers_to(origins["site"]["OriginAccessControlId"], "SiteOriginAccessControl")
    policy = resources["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert refers_to(allow["Condition"]["StringEquals"]["AWS:SourceArn"], "SiteDistribution")


def test_cloudfront_serves_https_only_over_http2_and_http3_compressed(resources):
    config = distribution(resources)
    assert config["HttpVersion"] == "http2and3"
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    for behaviour in behaviours:
        assert behaviour["ViewerProtocolPolicy"] in {"https-only", "redirect-to-https"}
        assert behaviour["Compress"] is True
        # The console sets its own, stricter Content-Security-Policy (test_console_template.py).
        own = "ConsoleHeadersPolicy" if behaviour.get("PathPattern") == "/staff/*" else "SiteHeadersPolicy"
        assert refers_to(behaviour["ResponseHeadersPolicyId"], own)


def test_api_path_goes_to_the_api_stage_uncached(resources):
    config = distribution(resources)
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    assert api["CachePolicyId"] == MANAGED_CACHING_DISABLED
    assert "POST" in api["AllowedMethods"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert refers_to(origins[api["TargetOriginId"]]["DomainName"], "RestAPI")
    assert "OriginPath" not in origins[api["TargetOriginId"]]
    config_json = json.loads((ROOT / "backend" / ".chalice" / "config.json").read_text())
    assert config_json["api_gateway_stage"] == "api"


def security_headers(template: dict[str, Any]) -> dict[str, Any]:
    policy = template["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return policy


def test_security_headers_policy_sets_every_header(resources):
    policy = security_headers(resources)
    security = policy["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["ReferrerPolicy"]["ReferrerPolicy"]
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    custom = {h["Header"]: h["Value"] for h in policy["CustomHeadersConfig"]["Items"]}
    assert "camera=()" in custom["Permissions-Policy"]


ATTACHMENTS_HOST = "https://${AWS::StackName}-attachments-${AWS::AccountId}.s3.${AWS::Region}.amazonaws.com"


def csp_text(csp: dict) -> str:
    """The policy's text (a Fn::Sub: it names the attachments bucket)."""
    value = csp["ContentSecurityPolicy"]
    return value["Fn::Sub"] if isinstance(value, dict) else value


def test_content_security_policy_allows_no_other_origin_and_no_framing(packaged):
    csp = security_headers(packaged)["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    directives = dict(
        (d.split()[0], d.split()[1:]) for d in csp_text(csp).split(";") if d.strip()
    )
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    # The one other origin: the retailer's own attachments bucket, which the browser posts files to.
    assert directives["connect-src"] == ["'self'", ATTACHMENTS_HOST]
    directives["connect-src"] = ["'self'"]
    for name, sources in directives.items():
        for source in sources:
            assert not re.match(r"(https?:|\*|[\w-]+\.[\w.-]+)", source), (name, source)
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert len(csp_text(csp)) <= 1783 - 40  # CloudFront's limit, with room for the bucket's name


def test_every_inline_script_of_the_built_site_is_allowed_by_hash(packaged, deploy_module):
    hashes = deploy_module.inline_script_hashes(SITE_DIR)
    assert hashes, "the built site has inline scripts; finding none means the scan is broken"
    csp = security_headers(packaged)["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    script_src = next(d for d in csp_text(csp).split("; ") if d.startswith("script-src"))
    assert set(hashes) <= set(script_src.split())


def test_script_hashes_skip_external_and_data_scripts(tmp_path, deploy_module):
    (tmp_path / "index.html").write_text(
        '<script src="a.js"></script><script type="application/json">{"a":1}</script>'
        "<script>run()</script>",
        encoding="utf-8",
    )
    # sha256("run()"), computed independently.
    assert deploy_module.inline_script_hashes(tmp_path) == [
        "'sha256-AvyuiL0SD1mVY3NNxR+V2uo+lhk6RMFrytWmRt6CrJQ='"
    ]
    with pytest.raises(ValueError):
        deploy_module.with_script_hashes("default-src 'self'", ["'sha256-x'"])


# -- Abuse limits ----------------------------------------------------------------


def test_api_stage_is_throttled_by_parameters(resources):
    api = resources["Resources"]["RestAPI"]["Properties"]
    (setting,) = api["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert {"ApiThrottleRateLimit", "ApiThrottleBurstLimit"} <= set(resources["Parameters"])


def test_waf_limits_each_ip_on_the_api_and_cloudfront_uses_it(resources, side_templates):
    edge = side_templates["edge"]
    acl = edge["Resources"]["WebAcl"]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    (rate_rule,) = [r for r in acl["Rules"] if r["Name"] == "api-rate-per-ip"]
    rate = rate_rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == {"Ref": "ApiRequestsPerIp"}
    # Which requests it counts: tests/infra/test_gate.py evaluates the scope-down.
    assert "ScopeDownStatement" in rate
    assert rate_rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert refers_to(distribution(resources)["WebACLId"], "WebAclArn")


# -- Backups and alarms ----------------------------------------------------------------


def test_daily_backup_is_copied_to_a_vault_in_another_region(
    resources, side_templates, deploy_module
):
    (rule,) = resources["Resources"]["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
    (copy,) = rule["CopyActions"]
    assert copy["DestinationBackupVaultArn"] == {"Ref": "BackupCopyVaultArn"}
    assert copy["Lifecycle"]["DeleteAfterDays"] == {"Ref": "BackupRetentionDays"}
    assert rule["Lifecycle"]["DeleteAfterDays"] == {"Ref": "BackupRetentionDays"}
    selection = resources["Resources"]["BackupSelection"]["Properties"]["BackupSelection"]
    assert refers_to(selection["Resources"], "SubmissionsTable")
    assert side_templates["offsite"]["Outputs"]["BackupVaultArn"]
    options = deploy_module.DeployOptions(
        stage="prod", region="eu-west-1", backup_region="eu-west-1"
    )
    with pytest.raises(SystemExit, match="another region"):
        options.check()


def test_alarms_cover_api_errors_function_errors_throttles_and_table_errors(resources):
    alarms = {
        name: r["Properties"]
        for name, r in resources["Resources"].items()
        if r.get("Type") == "AWS::CloudWatch::Alarm"
    }
    metrics = set()
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        metrics.add(alarm.get("MetricName"))
        for query in alarm.get("Metrics", []):
            if "MetricStat" in query:
                metrics.add(query["MetricStat"]["Metric"]["MetricName"])
    assert {"5XXError", "Errors", "Throttles", "SystemErrors"} <= metrics
    assert resources["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


# -- Reasons for every skipped check ---------------------------------------------------


def test_every_skipped_checkov_check_carries_a_reason(resources, side_templates):
    skipped = [
        (name, skip)
        for template in (resources, *side_templates.values())
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skipped
    for name, skip in skipped:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "").split()) >= 5, (name, skip["id"])


def test_the_lambda_package_carries_bytecode_its_runtime_reads_without_compiling(
    package_dir, deploy_module, packaged, tmp_path
):
    """Lambda's code directory is read-only: without bytecode, every cold start compiles it all."""
    with zipfile.ZipFile(package_dir / deploy_module.LAMBDA_ZIP) as package:
        names = set(package.namelist())
        package.extractall(tmp_path)
    sources = {name for name in names if name.endswith(".py")}
    missing = {name for name in sources if importlib.util.cache_from_source(name) not in names}
    assert "app.py" in sources and "chalicelib/intake/receiving.py" in sources and missing == set()
    runtimes = {r["Properties"]["Runtime"] for r in packaged["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}
    assert runtimes == {f"python{sys.version_info.major}.{sys.version_info.minor}"}
    # Loaded as Lambda loads it, from a read-only directory: the bytecode is what runs.
    for path in tmp_path.rglob("*"):
        path.chmod(path.stat().st_mode & ~0o222)
    done = subprocess.run([sys.executable, "-v", "-c", "import chalicelib.intake.receiving"], cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=60, check=True)
    compiled = importlib.util.cache_from_source(str(tmp_path / "chalicelib" / "intake" / "receiving.py"))
    assert f"code object from '{compiled}'" in done.stderr


def test_the_lambda_package_answers_in_every_language_of_the_site(package_dir, deploy_module, tmp_path):
    """Another language than English needs its catalogs, the site's pages in it (the no-JS form
    again, the page the API draws in) and Babel, all in the package: a Hindi answer from it works."""
    from chalicelib.languages import languages

    with zipfile.ZipFile(package_dir / deploy_module.LAMBDA_ZIP) as package:
        names = set(package.namelist())
        package.extractall(tmp_path)
    for language in languages()[1:]:
        assert {f"chalicelib/locale/{language}/LC_MESSAGES/{domain}.po"
                for domain in ("forms", "site", "answers")} <= names
        assert {f"chalicelib/templates/site/{language}/shell.html",
                f"chalicelib/templates/site/{language}/warranty_registration.html"} <= names
    assert "babel/__init__.py" in names
    # Babel's locales: the site's languages and their root only, not all of CLDR's.
    assert {n for n in names if n.startswith("babel/locale-data/")} == {
        f"babel/locale-data/{name}.dat" for name in ("root", *languages())}
    said = subprocess.run(
        [sys.executable, "-c", "from datetime import date\nfrom chalicelib.web import pages\n"
         "from chalicelib.languages import language_name, number_in_words\n"
         "print(pages.day(date(2026, 12, 7).isoformat(), 'hi'), number_in_words(100000, 'hi'))\n"
         "print(language_name('hi'))\n"
         "print(pages.errors_page([], '/', language='hi'))"],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=True).stdout
    assert "7 दिसंबर 2026 1,00,000" in said and "Hindi (hi)" in said and "आपके फ़ॉर्म में कुछ ठीक करना है" in said
