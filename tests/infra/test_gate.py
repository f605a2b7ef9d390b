"""No way around the gate: only CloudFront reaches the API, the WAF counts every way in,
and the staff and public roles can change no more than their work needs."""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import botocore.client
import pytest
from chalicelib.forms import FORMS
from chalicelib.web import origin

from tests.api.posting import post_json
from tests.samples import payload_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECRET = "a-secret-only-cloudfront-sends-0123456789abcdef"
AFTER_CLOUDFRONT = {origin.ORIGIN_HEADER: SECRET}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def distribution(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]


# -- Only CloudFront reaches the API ---------------------------------------------------


def test_cloudfront_adds_the_generated_secret_that_the_function_demands(packaged):
    secret = packaged["Resources"]["OriginSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # Generated at deploy time: the template holds no value.
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    resolved = {"Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}:SecretString}}"}
    (api_origin,) = [o for o in distribution(packaged)["Origins"] if o["Id"] == "api"]
    assert api_origin["OriginCustomHeaders"] == [
        {"HeaderName": origin.ORIGIN_HEADER, "HeaderValue": resolved}
    ]
    variables = packaged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables[origin.SECRET_VARIABLE] == resolved


def test_only_the_api_path_goes_to_the_api_and_all_of_it_through_the_waf(packaged):
    config = distribution(packaged)
    to_api = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == "api"]
    assert [b["PathPattern"] for b in to_api] == ["/api/*"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    # The web ACL covers the whole distribution, so every request to the API.
    assert "WebAclArn" in json.dumps(config["WebACLId"])


@pytest.fixture
def in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function as deployed: in Lambda, with the secret in its environment."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "aftercare-test-api")
    monkeypatch.setenv(origin.SECRET_VARIABLE, SECRET)


def enquiry() -> dict[str, Any]:
    return payload_for(FORMS["enquiry"], date.today())


@pytest.mark.parametrize("sent", [None, "", "guess", SECRET[:-1], SECRET + "x", SECRET.upper()])
def test_a_direct_call_to_the_execute_api_url_is_refused_and_stores_nothing(
    in_lambda, api, moto_account, sent
):
    headers = {} if sent is None else {origin.ORIGIN_HEADER: sent}
    for answer in (api.http.get("/health", headers=headers),
                   post_json(api, "/enquiries", enquiry(), headers)):
        assert answer.status_code == 403
        assert answer.headers["Content-Type"] == "application/json"
        assert json.loads(answer.body) == {"message": origin.NOT_THROUGH_FRONT_DOOR}
    assert moto_account.submissions() == []


def test_a_call_through_cloudfront_is_served(in_lambda, api, moto_account):
    assert api.http.get("/health", headers=AFTER_CLOUDFRONT).status_code == 200
    answer = post_json(api, "/enquiries", enquiry(), AFTER_CLOUDFRONT)
    assert answer.status_code == 201
    [stored] = moto_account.submissions("enquiry")
    assert stored["reference"] == json.loads(answer.body)["reference"]


def test_in_lambda_without_a_secret_everything_is_refused(monkeypatch, api, moto_account):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "aftercare-test-api")
    monkeypatch.delenv(origin.SECRET_VARIABLE, raising=False)
    for headers in ({}, {origin.ORIGIN_HEADER: ""}, AFTER_CLOUDFRONT):
        assert api.http.get("/health", headers=headers).status_code == 403


def test_the_secret_is_compared_in_constant_time(monkeypatch):
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(origin.hmac, "compare_digest", compare_digest)
    assert origin.came_through_front_door({"x-aftercare-origin": SECRET}, SECRET)
    assert not origin.came_through_front_door({"x-aftercare-origin": "nope"}, SECRET)
    assert compared == [(SECRET.encode(), SECRET.encode()), (b"nope", SECRET.encode())]


def regional_acl_lets_through(acl: dict[str, Any], headers: dict[str, str]) -> bool:
    for rule in sorted(acl["Rules"], key=lambda r: r["Priority"]):
        if matches(rule["Statement"], "POST", "/api/enquiries", headers):
            return "Allow" in rule["Action"]
    return "Allow" in acl["DefaultAction"]


def with_secret(value: Any, secret: str) -> Any:
    """The template with the deploy-time secret resolved, as CloudFormation does."""
    resolved = json.dumps({"Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}:SecretString}}"})
    return json.loads(json.dumps(value).replace(resolved, json.dumps(secret)))


def test_direct_calls_are_dropped_before_they_count_against_the_stage_throttle(packaged):
    resources = packaged["Resources"]
    assert packaged["Parameters"]["BlockDirectApiCalls"]["Default"] == "true"
    acl = resources["ApiWebAcl"]
    association = resources["ApiWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "BlocksDirectApiCalls"
    assert acl["Properties"]["Scope"] == "REGIONAL"
    # On the stage CloudFront's "api" origin calls (the SAM transform names it).
    assert resources["RestAPI"]["Properties"]["StageName"] == "api"
    assert association["DependsOn"] == "RestAPIapiStage"
    assert association["Properties"]["ResourceArn"] == {"Fn::Sub": (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/api")}
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    rules = with_secret(acl["Properties"], SECRET)
    assert regional_acl_lets_through(rules, {origin.ORIGIN_HEADER: SECRET})
    assert regional_acl_lets_through(rules, {origin.ORIGIN_HEADER.lower(): SECRET})
    for headers in ({}, {origin.ORIGIN_HEADER: SECRET[:-1]}, {origin.ORIGIN_HEADER: SECRET + " "},
                    {"X-Other": SECRET}):
        assert not regional_acl_lets_through(rules, headers)
    assert acl["Properties"]["DefaultAction"]["Block"]["CustomResponse"]["ResponseCode"] == 403
    # Samples would show the secret header to whoever reads the console.
    visibility = [acl["Properties"]["VisibilityConfig"],
                  *(rule["VisibilityConfig"] for rule in acl["Properties"]["Rules"])]
    assert [v["SampledRequestsEnabled"] for v in visibility] == [False] * len(visibility)


# -- The WAF's per-IP limit counts every way into the API -------------------------------


def transform(value: str, transformations: list[dict[str, Any]]) -> str:
    for step in sorted(transformations, key=lambda t: t["Priority"]):
        kind = step["Type"]
        if kind == "URL_DECODE":
            value = unquote(value)
        elif kind == "NORMALIZE_PATH":
            trailing = value.endswith("/")
            value = posixpath.normpath(re.sub("/+", "/", value)).replace("//", "/")
            value += "/" if trailing and not value.endswith("/") else ""
        elif kind == "LOWERCASE":
            value = value.lower()
        elif kind != "NONE":
            raise AssertionError(f"the test does not model {kind}")
    return value


def matches(statement: dict[str, Any], method: str, path: str,
            headers: dict[str, str] | None = None) -> bool:
    """WAF's statements, the kinds our rules use, evaluated on one request."""
    (kind, body), = statement.items()
    if kind == "OrStatement":
        return any(matches(s, method, path, headers) for s in body["Statements"])
    if kind == "AndStatement":
        return all(matches(s, method, path, headers) for s in body["Statements"])
    if kind == "NotStatement":
        return not matches(body["Statement"], method, path, headers)
    ((field, spec),) = body["FieldToMatch"].items()
    if field == "SingleHeader":
        # WAF names headers in lower case and matches them whatever their case.
        assert spec["Name"] == spec["Name"].lower()
        sent = {name.lower(): value for name, value in (headers or {}).items()}
        if spec["Name"] not in sent:
            return False
        value = transform(sent[spec["Name"]], body["TextTransformations"])
    else:
        value = transform({"UriPath": path, "Method": method}[field], body["TextTransformations"])
    if kind == "RegexMatchStatement":
        return re.search(body["RegexString"], value) is not None
    if kind == "ByteMatchStatement":
        wanted, where = body["SearchString"], body["PositionalConstraint"]
        return {"STARTS_WITH": value.startswith, "EXACTLY": value.__eq__,
                "CONTAINS": value.__contains__, "ENDS_WITH": value.endswith}[where](wanted)
    raise AssertionError(f"the test does not model {kind}")


@pytest.fixture
def rate_scope(side_templates) -> dict[str, Any]:
    rules = side_templates["edge"]["Resources"]["WebAcl"]["Properties"]["Rules"]
    (rule,) = [r for r in rules if r["Name"] == "api-rate-per-ip"]
    return rule["Statement"]["RateBasedStatement"]["ScopeDownStatement"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/enquiries"),
    ("GET", "/api/health"),
    ("GET", "/api/thanks?reference=x"),
    ("POST", "/x/../api/enquiries"),
    ("POST", "//api//enquiries"),
    ("GET", "/%61pi/health"),
    ("GET", "/./api/openapi.json"),
    ("PUT", "/anything"),
    ("DELETE", "/"),
    ("OPTIONS", "/api/enquiries"),
    ("PATCH", "/guides/"),
])
def test_every_request_that_can_reach_the_api_counts_against_the_ip(rate_scope, method, path):
    assert matches(rate_scope, method, path.split("?")[0])


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/guides/"), ("HEAD", "/contact/"), ("GET", "/assets/app.js"),
    ("GET", "/apis/"),
])
def test_reading_the_site_is_never_limited(rate_scope, method, path):
    assert not matches(rate_scope, method, path)


# -- The staff role ---------------------------------------------------------------------


def resolve(value: Any, conditions: dict[str, bool]) -> Any:
    """The template's Fn::If resolved for one set of condition values."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return resolve(when_true if conditions[name] else when_false, conditions)
        resolved = {k: resolve(v, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [resolve(v, conditions) for v in value if v != {"Ref": "AWS::NoValue"}]
    return value


def condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> bool:
    """IAM's multi-valued operators, for the DynamoDB keys the staff policy uses."""
    for operator, tests in condition.items():
        qualifier, _, kind = operator.rpartition(":")
        compare = {"StringLike": fnmatch.fnmatchcase, "StringEquals": str.__eq__}[kind]
        for key, allowed in tests.items():
            values = context.get(key, [])
            hits = [any(compare(v, a) for a in as_list(allowed)) for v in values]
            if qualifier == "ForAllValues" and not all(hits):
                return False
            if qualifier == "ForAnyValue" and not any(hits):
                return False
    return True


def staff_may(policy: dict[str, Any], action: str, *, keys: list[str],
              attributes: list[str] | None = None) -> bool:
    context = {"dynamodb:LeadingKeys": keys, "dynamodb:Attributes": attributes or ["pk", "sk"]}
    relevant = [s for s in policy["Statement"] if action in as_list(s["Action"])
                and condition_holds(s.get("Condition", {}), context)]
    return any(s["Effect"] == "Allow" for s in relevant) and \
        not any(s["Effect"] == "Deny" for s in relevant)


@pytest.fixture
def staff_policy(resources) -> dict[str, Any]:
    return resources["Resources"]["StaffPolicy"]["Properties"]["PolicyDocument"]


ITEM = ["pk", "sk", "kind", "created_at", "personal", "subject_hash"]


@pytest.mark.parametrize(("action", "keys", "attributes", "allowed"), [
    ("dynamodb:UpdateItem", ["SUB#ENQ-1"], ITEM, True),
    ("dynamodb:UpdateItem", ["AUDIT#2026-01"], ["pk", "sk", "outcome"], False),
    ("dynamodb:DeleteItem", ["SUB#ENQ-1"], None, True),
    ("dynamodb:DeleteItem", ["AUDIT#2026-01"], None, False),
    ("dynamodb:BatchWriteItem", ["SUB#ENQ-1", "SUB#ENQ-2"], None, True),
    ("dynamodb:BatchWriteItem", ["SUB#ENQ-1", "AUDIT#2026-01"], None, False),
    ("dynamodb:BatchWriteItem", ["SUB#ENQ-1"], ITEM, False),
    ("dynamodb:PutItem", ["AUDIT#2026-01"], ["pk", "sk", "actor", "action"], True),
    ("dynamodb:PutItem", ["SUB#ENQ-1"], ITEM, False),
    ("dynamodb:Query", ["AUDIT#2026-01"], None, True),
    ("dynamodb:Scan", ["SUB#ENQ-1"], None, False),
    ("dynamodb:TransactWriteItems", ["SUB#ENQ-1"], ITEM, False),
])
def test_staff_change_submissions_and_erase_them_but_never_rewrite_the_audit_trail(
    staff_policy, action, keys, attributes, allowed
):
    assert staff_may(staff_policy, action, keys=keys, attributes=attributes) is allowed


def test_assuming_the_staff_role_needs_mfa_unless_the_stack_turns_it_off(resources):
    parameter = resources["Parameters"]["StaffRequiresMfa"]
    assert parameter["Default"] == "true" and sorted(parameter["AllowedValues"]) == ["false", "true"]
    assert resources["Conditions"]["StaffNeedsMfa"] == \
        {"Fn::Equals": [{"Ref": "StaffRequiresMfa"}, "true"]}
    trust = resources["Resources"]["StaffRole"]["Properties"]["AssumeRolePolicyDocument"]
    (with_mfa,) = resolve(trust, {"StaffNeedsMfa": True})["Statement"]
    assert with_mfa["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    (break_glass,) = resolve(trust, {"StaffNeedsMfa": False})["Statement"]
    assert "Condition" not in break_glass
    assert break_glass["Action"] == "sts:AssumeRole"


def readme_staff_permissions() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("Its policy\n(`StaffPolicy`) allows exactly this")
    block = text[start:text.index("\n\n", text.index("\n- ", start))]
    return [line[2:] for line in block.splitlines() if line.startswith("- ")]


def listed_permissions() -> dict[str, str]:
    """Each action the README names, with the line that names it."""
    listed: dict[str, str] = {}
    for line in readme_staff_permissions():
        for action in re.findall(r"`((?:dynamodb|kms):\w+)`", line):
            listed[action] = line
    return listed


def test_the_readme_lists_the_staff_permissions_the_policy_grants(staff_policy, resources):
    """Each README line names actions and what limits them; the policy must agree."""
    listed = listed_permissions()
    granted = {a for s in staff_policy["Statement"] if s["Effect"] == "Allow"
               for a in as_list(s["Action"])}
    assert set(listed) == granted
    audit = ["AUDIT#2026-01"]
    for action, line in listed.items():
        if not action.startswith("dynamodb:"):
            continue
        on_audit = staff_may(staff_policy, action, keys=audit)
        on_submission = staff_may(staff_policy, action, keys=["SUB#ENQ-1"])
        if "for audit records only" in line:
            assert on_audit and not on_submission, action
        elif "except on audit records" in line:
            assert on_submission and not on_audit, action
        else:
            assert on_audit and on_submission, action
        if "deletes only" in line:
            assert not staff_may(staff_policy, action, keys=["SUB#ENQ-1"], attributes=ITEM)
    assert "needs\na session signed in with MFA" in README.read_text(encoding="utf-8")
    assert "StaffRequiresMfa" in resources["Parameters"]


def test_the_readme_names_the_key_each_kms_permission_is_on(staff_policy):
    listed = listed_permissions()
    key_of = {"kms:Decrypt": "DataKey", "kms:GenerateDataKey": "DataKey",
              "kms:GenerateMac": "SubjectHashKey"}
    for statement in staff_policy["Statement"]:
        for action in as_list(statement["Action"]):
            if action in key_of:
                assert json.dumps(statement["Resource"]) == json.dumps(
                    {"Fn::GetAtt": [key_of[action], "Arn"]}), action
                assert ("the data key" if key_of[action] == "DataKey" else "the subject-hash key") \
                    in listed[action]


# -- The public role's writes ------------------------------------------------------------


def test_every_write_the_api_makes_is_conditional_on_a_free_key(api, monkeypatch):
    """IAM cannot demand a condition on PutItem, so the function's own writes are checked."""
    writes: list[tuple[str, dict[str, Any]]] = []
    real_call = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            writes.append((operation, params))
        return real_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    for form in FORMS.values():
        body = payload_for(form, date.today(), marketing_consent=True)
        assert post_json(api, form.path, body).status_code == 201, form.kind
    puts = []
    for operation, params in writes:
        assert operation in {"PutItem", "TransactWriteItems", "GetItem", "Query",
                             "ConditionCheckItem"}, operation
        if operation == "PutItem":
            puts.append(params)
        if operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                assert set(entry) <= {"Put", "ConditionCheck"}
                puts.extend([entry["Put"]] if "Put" in entry else [])
    assert len(puts) >= len(FORMS)
    for put in puts:
        assert "attribute_not_exists" in put["ConditionExpression"], put["Item"]["pk"]


# -- Turning the switches from the deploy command ----------------------------------------


def test_deploy_passes_named_parameters_to_the_main_stack(deploy_module):
    assert deploy_module.stack_parameters(["StaffRequiresMfa=false", "BlockDirectApiCalls=true"]) \
        == {"StaffRequiresMfa": "false", "BlockDirectApiCalls": "true"}
    for malformed in ("StaffRequiresMfa", "=false", "Staff Requires=false"):
        with pytest.raises(SystemExit):
            deploy_module.stack_parameters([malformed])


def test_a_malformed_parameter_stops_the_deploy_before_packaging(deploy_module, monkeypatch):
    monkeypatch.setattr(deploy_module, "package", lambda: pytest.fail("packaged anyway"))
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        deploy_module.main(["deploy", "--stage", "dev", "--backup-region", "eu-central-1",
                            "--sender-address", "help@aftercare.example",
                            "--parameter", "StaffRequiresMfa"])
