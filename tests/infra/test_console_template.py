"""The staff console in AWS: its sign-in, its role, and the one way to reach it (CloudFront)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from tests.infra.conftest import INFRA, ROOT
from tests.infra.test_gate import matches
from tests.infra.test_template import (
    MANAGED_CACHING_DISABLED,
    actions,
    as_list,
    distribution,
    refers_to,
    statements,
)

# CloudFront's managed origin request policy "AllViewerExceptHostHeader".
MANAGED_ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CONSOLE = ROOT / "backend" / "chalicelib" / "console"


@pytest.fixture(scope="module")
def console(read_cfn) -> dict[str, Any]:
    return read_cfn(INFRA / "console.yaml")


@pytest.fixture(scope="module")
def public_policy() -> dict[str, Any]:
    return json.loads((ROOT / "backend" / ".chalice" / "policy-api.json").read_text(encoding="utf-8"))


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def groups_the_console_knows() -> set[str]:
    (names,) = re.findall(r"STAFF_GROUPS = \(([^)]*)\)", (CONSOLE / "signin.py").read_text())
    return set(re.findall(r'"([a-z]+)"', names))


# -- Sign-in ---------------------------------------------------------------------------


def test_staff_sign_in_requires_a_totp_app_and_no_one_signs_themselves_up(console):
    pool = resource(console, "StaffUserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["DeletionProtection"] == "ACTIVE"
    assert console["Resources"]["StaffUserPool"]["DeletionPolicy"] == "Retain"


def test_staff_passwords_are_long_and_use_every_class_of_character(console):
    policy = resource(console, "StaffUserPool")["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    for kind in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[kind] is True, kind


def test_the_pool_has_exactly_the_groups_the_console_checks(console):
    groups = {
        r["Properties"]["GroupName"]
        for r in console["Resources"].values()
        if r.get("Type") == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == groups_the_console_knows() == {"handlers", "privacy", "admins"}
    for r in console["Resources"].values():
        if r.get("Type") == "AWS::Cognito::UserPoolGroup":
            assert refers_to(r["Properties"]["UserPoolId"], "StaffUserPool")


def test_the_console_is_a_public_client_of_the_code_flow_only(console):
    client = resource(console, "StaffConsoleClient")
    # No secret: the console proves itself with PKCE, which Cognito supports on the code flow.
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    (callback,) = client["CallbackURLs"]
    (signed_out,) = client["LogoutURLs"]
    assert callback["Fn::Sub"][0] == "${Site}/staff/callback"
    assert signed_out["Fn::Sub"][0] == "${Site}/staff/signed-out"
    # The paths the console serves them on.
    door = (CONSOLE / "door.py").read_text()
    assert '"/staff/callback"' in (CONSOLE / "function.py").read_text()
    assert 'r"/staff/signed-out"' in door


def test_tokens_live_minutes_since_the_console_keeps_its_own_session(console):
    client = resource(console, "StaffConsoleClient")
    units = client["TokenValidityUnits"]
    assert units == {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "minutes"}
    assert client["IdTokenValidity"] <= 15
    assert client["AccessTokenValidity"] <= 15
    assert client["RefreshTokenValidity"] <= 60


def test_sign_in_is_managed_login_on_a_cognito_domain_of_the_pool(console):
    domain = resource(console, "StaffSignInDomain")
    assert refers_to(domain["UserPoolId"], "StaffUserPool")
    assert domain["ManagedLoginVersion"] == 2
    style = resource(console, "StaffConsoleSignInStyle")
    assert refers_to(style["ClientId"], "StaffConsoleClient")
    assert {"StaffUserPoolId", "StaffSignInIssuer", "StaffConsoleClientId"} <= set(console["Outputs"])


# -- The function and its role -----------------------------------------------------------


def test_the_console_is_told_its_issuer_client_site_table_keys_and_bucket(packaged):
    variables = packaged["Resources"]["Console"]["Properties"]["Environment"]["Variables"]
    assert set(variables) == {
        "AFTERCARE_TABLE_NAME", "AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID",
        "AFTERCARE_ATTACHMENTS_BUCKET", "AFTERCARE_STAFF_ISSUER", "AFTERCARE_STAFF_CLIENT_ID",
        "AFTERCARE_SITE_URL", "AFTERCARE_EXPORTS_BUCKET", "AFTERCARE_EXPORTS_FUNCTION",
    }
    assert refers_to(variables["AFTERCARE_EXPORTS_BUCKET"], "ExportsBucket")
    assert refers_to(variables["AFTERCARE_EXPORTS_FUNCTION"], "ConsoleExports")
    assert '"AFTERCARE_EXPORTS_FUNCTION"' in (ROOT / "backend" / "chalicelib" / "settings.py").read_text()
    # Under the names the console reads.
    source = (CONSOLE / "function.py").read_text()
    for name in ("AFTERCARE_STAFF_ISSUER", "AFTERCARE_STAFF_CLIENT_ID", "AFTERCARE_SITE_URL"):
        assert f'"{name}"' in source
    assert variables["AFTERCARE_STAFF_ISSUER"] == {"Fn::Sub": "https://${StaffUserPool.ProviderURL}"}
    assert refers_to(variables["AFTERCARE_STAFF_CLIENT_ID"], "StaffConsoleClient")
    assert refers_to(variables["AFTERCARE_TABLE_NAME"], "SubmissionsTable")
    assert refers_to(variables["AFTERCARE_KMS_KEY_ID"], "DataKey")
    assert refers_to(variables["AFTERCARE_SUBJECT_KEY_ID"], "SubjectHashKey")
    site = variables["AFTERCARE_SITE_URL"]["Fn::If"]
    assert site == ["HasCustomDomain", {"Fn::Sub": "https://${DomainName}"}, {"Ref": "ConsoleSiteUrl"}]
    assert packaged["Resources"]["Console"]["Properties"]["Handler"] == "app.console"


def role_policies(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy document that applies to the role: inline, managed in the stack, attached."""
    resources = template["Resources"]
    properties = resources[role]["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        (name,) = [n for n in resources if arn == {"Ref": n}]
        documents.append(resources[name]["Properties"]["PolicyDocument"])
    for r in resources.values():
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]:
            documents.append(r["Properties"]["PolicyDocument"])
    return documents


def test_the_console_role_holds_the_staff_roles_permissions_and_its_log_group_only(packaged):
    console = role_policies(packaged, "ConsoleRole")
    granted = set().union(*map(actions, console))
    assert granted == {
        "dynamodb:Query", "dynamodb:GetItem", "dynamodb:DescribeTable",
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem",
        "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateMac",
        "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
        "s3:ListBucket", "s3:ListBucketVersions",
        "logs:CreateLogStream", "logs:PutLogEvents",
        # Its downloads: the job's state written to and read from their bucket, the file written
        # there by the exports function it starts.
        "s3:PutObject", "lambda:InvokeFunction",
    }
    # The same documents as the staff role's, so the two cannot drift; and its own log group.
    staff = role_policies(packaged, "StaffRole")
    assert all(document in console for document in staff)
    (own,) = [d for d in console if d not in staff]
    logs, exports, exports_key, starts = statements(own)
    assert refers_to(logs["Resource"], "ConsoleLogGroup")
    assert exports["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-exports-${AWS::AccountId}/*"}
    assert refers_to(exports_key["Resource"], "AttachmentsKey") and "kms:ViaService" in str(exports_key)
    assert starts["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-console-exports")
    assert packaged["Resources"]["Console"]["Properties"]["FunctionName"] == {
        "Fn::Sub": "${AWS::StackName}-console"}
    properties = packaged["Resources"]["ConsoleRole"]["Properties"]
    assert properties["RoleName"] == {"Fn::Sub": "${AWS::StackName}-console"}
    assert properties["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert refers_to(packaged["Resources"]["Console"]["Properties"]["Role"], "ConsoleRole")


# -- The exports function ------------------------------------------------------------------------

EXPORTS_ARN = ("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
               ":function:${AWS::StackName}-console-exports")


def test_exports_run_in_a_function_of_their_own_with_the_time_a_large_one_needs(packaged):
    function = packaged["Resources"]["ConsoleExports"]
    properties = function["Properties"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert properties["Handler"] == "app.console_exports"
    assert properties["CodeUri"] == packaged["Resources"]["Console"]["Properties"]["CodeUri"]
    assert properties["Timeout"] == 900 > packaged["Resources"]["Console"]["Properties"]["Timeout"]
    assert properties["MemorySize"] >= 1024  # a 100,000-row spreadsheet, and the CPU to write it
    assert properties["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-console-exports"}
    assert properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert refers_to(properties["Role"], "ConsoleExportsRole")
    assert packaged["Resources"]["ConsoleExportsRole"]["Properties"]["RoleName"] == {
        "Fn::Sub": "${AWS::StackName}-console-exports"}
    assert refers_to(properties["LoggingConfig"]["LogGroup"], "ConsoleExportsLogGroup")
    logs = packaged["Resources"]["ConsoleExportsLogGroup"]["Properties"]
    assert logs["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-console-exports"}
    assert logs["RetentionInDays"] == 30
    variables = properties["Environment"]["Variables"]
    assert set(variables) == {"AFTERCARE_TABLE_NAME", "AFTERCARE_KMS_KEY_ID", "AFTERCARE_SUBJECT_KEY_ID",
                              "AFTERCARE_EXPORTS_BUCKET"}
    assert refers_to(variables["AFTERCARE_EXPORTS_BUCKET"], "ExportsBucket")
    # The page gives a job up once it is older than this timeout (chalicelib.console.function).
    assert "EXPORT_SECONDS = 900" in (CONSOLE / "function.py").read_text()


def test_the_console_may_invoke_the_exports_function_and_nothing_else(packaged):
    invoking = [s for d in role_policies(packaged, "ConsoleRole") for s in statements(d)
                if any(a.startswith("lambda:") for a in as_list(s["Action"]))]
    (only,) = invoking
    assert only["Effect"] == "Allow" and as_list(only["Action"]) == ["lambda:InvokeFunction"]
    assert only["Resource"] == {"Fn::Sub": EXPORTS_ARN}
    assert "lambda:" not in json.dumps(role_policies(packaged, "ConsoleExportsRole"))


def test_the_exports_role_reads_decrypts_and_writes_the_export_and_nothing_else(packaged):
    documents = role_policies(packaged, "ConsoleExportsRole")
    assert "ManagedPolicyArns" not in packaged["Resources"]["ConsoleExportsRole"]["Properties"]
    granted = set().union(*map(actions, documents))
    assert granted == {
        "logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:Query", "dynamodb:PutItem",
        "kms:Decrypt", "kms:GenerateDataKey", "s3:GetObject", "s3:PutObject",
    }
    by_sid = {s["Sid"]: s for d in documents for s in statements(d)}
    assert refers_to(by_sid["OwnLogGroup"]["Resource"], "ConsoleExportsLogGroup")
    audit = by_sid["WritesItsAuditRecord"]
    assert audit["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["AUDIT#*"]
    assert as_list(by_sid["OpensWhatItExports"]["Action"]) == ["kms:Decrypt"]
    assert refers_to(by_sid["OpensWhatItExports"]["Resource"], "DataKey")
    for statement in by_sid.values():
        if any(a.startswith("s3:") for a in as_list(statement["Action"])):
            assert statement["Resource"] == {
                "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-exports-${AWS::AccountId}/*"}
    # Not the attachments bucket (its key, AttachmentsKey, also encrypts the exports bucket:
    # the key's policy holds this role to that bucket), nor the subject key.
    text = json.dumps(documents)
    assert "-attachments-" not in text and "AttachmentsBucket" not in text and "SubjectHashKey" not in text
    # Nor does any policy elsewhere in the stack reach it (the attachments read policy names its roles).
    for name, r in packaged["Resources"].items():
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            assert "ConsoleExportsRole" not in json.dumps(r["Properties"].get("Roles", [])), name


def statements_naming(policy: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [s for s in statements(policy) if name in principal_names(s)]


def test_the_keys_let_the_exports_function_open_submissions_and_use_the_exports_bucket_only(packaged):
    keys = {key: packaged["Resources"][key]["Properties"]["KeyPolicy"]
            for key in ("DataKey", "SubjectHashKey", "AttachmentsKey")}
    (data,) = statements_naming(keys["DataKey"], "exports")
    assert as_list(data["Action"]) == ["kms:Decrypt"]
    assert statements_naming(keys["SubjectHashKey"], "exports") == []
    (files,) = statements_naming(keys["AttachmentsKey"], "exports")
    assert set(as_list(files["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert "kms:ViaService" in files["Condition"]["StringEquals"]
    assert files["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-exports-${AWS::AccountId}*"}


def principal_names(statement: dict[str, Any]) -> set[str]:
    arns = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", [])
    return {json.dumps(arn).rpartition("-")[2].rstrip('"}') for arn in as_list(arns)}


@pytest.mark.parametrize("key", ["DataKey", "SubjectHashKey", "AttachmentsKey"])
def test_every_key_lets_the_console_do_what_it_lets_staff_do(packaged, key):
    policy = packaged["Resources"][key]["Properties"]["KeyPolicy"]
    naming_staff = [s for s in statements(policy) if "staff" in principal_names(s)]
    assert naming_staff
    for statement in naming_staff:
        assert "console" in principal_names(statement), statement["Sid"]
    for statement in statements(policy):
        if "console" in principal_names(statement):
            assert "staff" in principal_names(statement), statement["Sid"]


def test_the_public_role_gains_nothing_from_the_console(packaged, public_policy):
    role = packaged["Resources"]["ApiHandlerRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert [p["PolicyDocument"] for p in role["Policies"]] == [public_policy]
    assert role_policies(packaged, "ApiHandlerRole") == [public_policy]
    assert "console" not in json.dumps(public_policy).lower()
    assert "StaffPolicy" not in json.dumps(public_policy)


# -- Reaching it -----------------------------------------------------------------------------


def test_the_function_url_takes_signed_requests_and_only_cloudfront_may_sign_them(packaged):
    resources = packaged["Resources"]
    url = resources["ConsoleUrl"]["Properties"]
    assert url["AuthType"] == "AWS_IAM"
    assert refers_to(url["TargetFunctionArn"], "Console")
    permissions = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and refers_to(r["Properties"]["FunctionName"], "Console")
    ]
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for permission in permissions:
        assert permission["Principal"] == "cloudfront.amazonaws.com"
        assert refers_to(permission["SourceArn"], "SiteDistribution")
        assert permission["SourceArn"]["Fn::Sub"].startswith("arn:${AWS::Partition}:cloudfront::")
    (through_url,) = [p for p in permissions if p["Action"] == "lambda:InvokeFunction"]
    assert through_url["InvokedViaFunctionUrl"] is True
    (url_permission,) = [p for p in permissions if p["Action"] == "lambda:InvokeFunctionUrl"]
    assert url_permission["FunctionUrlAuthType"] == "AWS_IAM"


def staff_behaviour(template: dict[str, Any]) -> dict[str, Any]:
    (behaviour,) = [b for b in distribution(template)["CacheBehaviors"] if b["PathPattern"] == "/staff/*"]
    return behaviour


def test_staff_paths_go_to_the_console_uncached_with_every_method_and_viewer_header(packaged):
    behaviour = staff_behaviour(packaged)
    origins = {o["Id"]: o for o in distribution(packaged)["Origins"]}
    origin = origins[behaviour["TargetOriginId"]]
    assert refers_to(origin["DomainName"], "ConsoleUrl")
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert refers_to(origin["OriginAccessControlId"], "ConsoleOriginAccessControl")
    control = packaged["Resources"]["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (control["OriginAccessControlOriginType"], control["SigningBehavior"]) == ("lambda", "always")
    assert behaviour["CachePolicyId"] == MANAGED_CACHING_DISABLED
    # Cookies, query strings and every viewer header but Host (a function URL answers to its own).
    assert behaviour["OriginRequestPolicyId"] == MANAGED_ALL_VIEWER_EXCEPT_HOST
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert behaviour["ViewerProtocolPolicy"] in {"https-only", "redirect-to-https"}
    # Only the console's paths: the API and the site keep theirs.
    assert [b["PathPattern"] for b in distribution(packaged)["CacheBehaviors"]
            if b["TargetOriginId"] == behaviour["TargetOriginId"]] == ["/staff/*"]


def test_the_console_keeps_its_own_content_security_policy_behind_cloudfront(packaged):
    behaviour = staff_behaviour(packaged)
    assert refers_to(behaviour["ResponseHeadersPolicyId"], "ConsoleHeadersPolicy")
    config = packaged["Resources"]["ConsoleHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    headers = config["SecurityHeadersConfig"]
    assert "ContentSecurityPolicy" not in headers
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_form_posts_get_their_body_hash_at_the_edge_before_cloudfront_signs_them(packaged, side_templates):
    (association,) = staff_behaviour(packaged)["LambdaFunctionAssociations"]
    assert association["EventType"] == "origin-request"
    assert association["IncludeBody"] is True
    assert association["LambdaFunctionARN"] == {"Ref": "ConsoleBodyHashArn"}
    edge = side_templates["edge"]
    version = [n for n, r in edge["Resources"].items() if r["Type"] == "AWS::Lambda::Version"]
    assert edge["Outputs"]["ConsoleBodyHashVersionArn"]["Value"] == {"Ref": version[0]}
    trusted = edge["Resources"]["ConsoleBodyHashRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert set(trusted["Statement"][0]["Principal"]["Service"]) == {
        "lambda.amazonaws.com", "edgelambda.amazonaws.com"
    }


@pytest.fixture(scope="module")
def body_hash(side_templates):
    code = side_templates["edge"]["Resources"]["ConsoleBodyHash"]["Properties"]["Code"]["ZipFile"]
    namespace: dict[str, Any] = {}
    exec(compile(code, "index.py", "exec"), namespace)  # noqa: S102 - our own template's code
    return namespace["handler"]


def origin_request(body: dict[str, Any] | None, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    request = {"method": "POST", "uri": "/staff/cases/CP-1/take", "headers": headers or {}}
    if body is not None:
        request["body"] = body
    return {"Records": [{"cf": {"request": request}}]}


FORM = b"csrf=abc&note=caf%C3%A9+%3Cb%3E"


@pytest.mark.parametrize("body", [
    {"inputTruncated": False, "action": "read-only", "encoding": "base64",
     "data": base64.b64encode(FORM).decode()},
    {"inputTruncated": False, "action": "read-only", "encoding": "text", "data": FORM.decode()},
])
def test_the_edge_sets_the_hash_lambda_checks_from_the_body_as_sent(body_hash, body):
    request = body_hash(origin_request(body), None)
    assert request["headers"]["x-amz-content-sha256"] == [
        {"key": "x-amz-content-sha256", "value": hashlib.sha256(FORM).hexdigest()}
    ]
    assert request["body"] == body


def test_a_viewers_own_hash_header_is_replaced_and_an_empty_body_hashes_as_empty(body_hash):
    sent = {"x-amz-content-sha256": [{"key": "X-Amz-Content-Sha256", "value": "0" * 64}]}
    request = body_hash(origin_request(None, sent), None)
    assert request["headers"]["x-amz-content-sha256"][0]["value"] == hashlib.sha256(b"").hexdigest()


def test_a_body_cloudfront_cut_short_is_refused_rather_than_signed_wrong(body_hash):
    answer = body_hash(origin_request({"inputTruncated": True, "encoding": "base64", "data": ""}), None)
    assert answer["status"] == "413"


# -- The WAF's per-IP limit covers the console -------------------------------------------------


def rate_rule(side_templates, name: str) -> dict[str, Any]:
    rules = side_templates["edge"]["Resources"]["WebAcl"]["Properties"]["Rules"]
    (rule,) = [r for r in rules if r["Name"] == name]
    return rule


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/staff/"), ("POST", "/staff/cases/CP-1/take"), ("GET", "/staff/callback"),
    ("GET", "/%73taff/"), ("POST", "//staff//signout"), ("GET", "/x/../staff/"),
])
def test_every_request_to_the_console_counts_against_the_ip(side_templates, method, path):
    rule = rate_rule(side_templates, "staff-rate-per-ip")
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == {"Ref": "StaffRequestsPerIp"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert matches(rate["ScopeDownStatement"], method, path)


@pytest.mark.parametrize(("method", "path", "by_staff_rule", "by_api_rule"), [
    ("POST", "/staff/cases/CP-1/note", True, False),
    ("POST", "/api/enquiries", False, True),
    ("POST", "/staff/../api/enquiries", False, True),
    ("GET", "/guides/", False, False),
    ("PUT", "/staffroom", False, True),
])
def test_a_console_post_counts_once_against_the_consoles_limit_not_the_apis(
    side_templates, method, path, by_staff_rule, by_api_rule
):
    staff = rate_rule(side_templates, "staff-rate-per-ip")["Statement"]["RateBasedStatement"]
    api = rate_rule(side_templates, "api-rate-per-ip")["Statement"]["RateBasedStatement"]
    assert matches(staff["ScopeDownStatement"], method, path) is by_staff_rule
    assert matches(api["ScopeDownStatement"], method, path) is by_api_rule


# -- Deploy: the site's address reaches the console -----------------------------------------------


def test_without_a_custom_domain_the_console_is_told_the_cloudfront_origin(deploy_module):
    options = deploy_module.DeployOptions(stage="prod", region="eu-west-1", backup_region="eu-central-1")
    assert deploy_module.console_site_url(options, {}) == ""
    outputs = {"SiteUrl": "https://d111111abcdef8.cloudfront.net/"}
    assert deploy_module.console_site_url(options, outputs) == "https://d111111abcdef8.cloudfront.net"
    options.domain_name, options.certificate_arn = "help.example.com", "arn:aws:acm:us-east-1:1:certificate/x"
    assert deploy_module.console_site_url(options, outputs) == ""


def test_the_console_template_is_merged_into_the_package(deploy_module, packaged):
    assert "console.yaml" in deploy_module.MERGED_TEMPLATES
    assert {"StaffUserPool", "ConsoleUrl", "ConsoleOriginAccessControl"} <= set(packaged["Resources"])
    assert packaged["Resources"]["Console"]["Type"] == "AWS::Serverless::Function"


# -- README ---------------------------------------------------------------------------------------


def test_the_readme_creates_staff_accounts_in_the_pool_and_groups_the_stack_makes(console):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "aws cognito-idp admin-create-user" in text
    groups = set(re.findall(r"admin-add-user-to-group[^\n]*?--group-name (\S+)", text.replace("\\\n", " ")))
    assert groups and groups <= groups_the_console_knows()
    assert "StaffUserPoolId" in text and "StaffUserPoolId" in console["Outputs"]


def test_exports_are_private_encrypted_and_gone_within_a_day(console):
    bucket = resource(console, "ExportsBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 1 and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert "Prefix" not in rule  # every object, states and files alike
