"""The local stack on real engines: DynamoDB Local (Java) and the one-origin HTTP server."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import template as cfn_template
from aftercare_local.paths import INFRA_TEMPLATE
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.rules.policy import data_policy
from chalicelib.settings import Settings
from chalicelib.store.items import submission_key

from tests.conftest import LiveStack, free_port, local_client

ENQUIRY = {
    "name": "Bea Quinn",
    "email": "bea.quinn@example.org",
    "phone": "07700 900123",
    "topic": "installation",
    "message": "Which bracket fits the wall?",
}


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(live: LiveStack, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return http("POST", f"{live.base_url}/api/enquiries", json.dumps(body).encode(),
                {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", **headers})


def test_local_table_is_built_from_the_infra_definition(local_table: Any) -> None:
    described = local_table.client.describe_table(TableName=local_table.table_name)["Table"]
    declared = cfn_template.load(INFRA_TEMPLATE)["Resources"]["SubmissionsTable"]["Properties"]
    assert described["KeySchema"] == declared["KeySchema"]
    assert {(i["IndexName"], json.dumps(i["KeySchema"])) for i in described["GlobalSecondaryIndexes"]} \
        == {(i["IndexName"], json.dumps(i["KeySchema"])) for i in declared["GlobalSecondaryIndexes"]}
    ttl = local_table.client.describe_time_to_live(TableName=local_table.table_name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == \
        declared["TimeToLiveSpecification"]["AttributeName"]


def test_enquiry_over_http_is_stored_encrypted_in_dynamodb_local(live: LiveStack) -> None:
    status, _, body = post_json(live, ENQUIRY)
    assert status == 201
    reference = json.loads(body)["reference"]
    [item] = live.submissions("enquiry")
    assert item["reference"] == reference
    raw = repr(live.dynamodb().scan(TableName=live.table_name)["Items"])
    for value in ("bea.quinn@example.org", "Bea Quinn", "900123", "bracket"):
        assert value not in raw
    opened = live.cipher().open(item["personal"], kind="enquiry", reference=reference)
    assert opened["email"] == "bea.quinn@example.org"


def test_concurrent_retries_with_one_key_store_one_enquiry(live: LiveStack) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(
            lambda _: post_json(live, ENQUIRY, **{"Idempotency-Key": "double-click"}), range(6)
        ))
    references = {json.loads(body)["reference"] for status, _, body in answers if status == 201}
    assert [status for status, _, _ in answers] == [201] * 6
    assert len(references) == 1
    assert len(live.submissions("enquiry")) == 1


def test_bad_requests_over_http_never_get_500(live: LiveStack) -> None:
    url = f"{live.base_url}/api/enquiries"
    cases = [
        (b"{bad", "application/json", 400),
        (b"{}", "application/json", 400),
        (b"x" * (1024 * 1024), "application/json", 413),
        (b"hello", "text/plain", 415),
    ]
    for body, content_type, expected in cases:
        script = {"Content-Type": content_type, "X-Form-Fill-Ms": "4000"}
        status, headers, answer = http("POST", url, body, script)
        assert status == expected
        assert json.loads(answer)["message"]
    assert live.submissions() == []


def test_site_and_api_share_one_origin(live: LiveStack) -> None:
    status, headers, page = http("GET", f"{live.base_url}/")
    assert status == 200 and b"Aftercare" in page
    status, _, _ = http("GET", f"{live.base_url}/contact/")
    assert status == 200
    assert http("GET", f"{live.base_url}/api/health")[0] == 200
    assert http("GET", f"{live.base_url}/no-such-page/")[0] == 404


def test_plain_form_post_over_http_lands_on_a_thank_you_page(live: LiveStack) -> None:
    from urllib.parse import urlencode

    status, headers, _ = http(
        "POST", f"{live.base_url}/api/enquiries", urlencode(ENQUIRY).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"},
    )
    assert status == 303
    [item] = live.submissions("enquiry")
    status, _, page = http("GET", live.base_url + headers["Location"])
    assert status == 200 and item["reference"].encode() in page


def test_data_and_keys_survive_a_restart(tmp_path: Path) -> None:
    """What `make run` stores is still there, and still decrypts, after a restart."""
    from datetime import UTC, datetime

    from chalicelib.forms import FORMS, validate
    from chalicelib.intake.receiving import Intake

    key_dir, data_dir = tmp_path / "keys", tmp_path / "dynamodb"
    ensure_local_keys(key_dir)

    def intake(endpoint: str) -> Intake:
        settings = Settings.from_environ({
            "AFTERCARE_TABLE_NAME": "aftercare-local",
            "AFTERCARE_DYNAMODB_ENDPOINT": endpoint,
            "AFTERCARE_LOCAL_KEY_DIR": str(key_dir),
        })
        return Intake(settings.table(), settings.cipher(), settings.subject_hasher(),
                      data_policy(), clock=lambda: datetime.now(UTC))

    port = free_port()
    with dynamodb_local.running(port, data_dir) as endpoint:
        dynamodb_local.ensure_table(local_client(endpoint), "aftercare-local")
        form = FORMS["enquiry"]
        reference = intake(endpoint).receive(form, validate(form.model, ENQUIRY)).reference
    with dynamodb_local.running(port, data_dir) as endpoint:
        assert not dynamodb_local.ensure_table(local_client(endpoint), "aftercare-local")
        fresh = intake(endpoint)
        item = fresh.table.get(*submission_key(reference),
                               now_epoch=int(datetime.now(UTC).timestamp()))
        assert item is not None
        assert fresh.cipher.open(item["personal"], kind="enquiry", reference=reference)["name"] \
            == "Bea Quinn"


@pytest.mark.parametrize("path", ["/api/openapi-not-here", "/api/"])
def test_unknown_api_paths_are_not_500(live: LiveStack, path: str) -> None:
    assert http("GET", live.base_url + path)[0] in (403, 404)


def test_site_text_is_served_compressed_as_cloudfront_does(live: LiveStack) -> None:
    import gzip

    status, headers, body = http("GET", f"{live.base_url}/", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert b"Aftercare" in gzip.decompress(body)
    status, headers, _ = http("GET", f"{live.base_url}/")
    assert "Content-Encoding" not in headers
