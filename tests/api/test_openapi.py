"""GET /api/openapi.json: a valid OpenAPI 3.1 document of every route, from the same models."""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.forms import FORMS, validate
from chalicelib.web.openapi import with_contract_notes
from openapi_spec_validator import validate as validate_spec


@pytest.fixture
def document(api: Any) -> dict[str, Any]:
    response = api.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return response.json_body


def test_the_document_validates_as_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate_spec(document)


def test_every_route_of_the_app_is_in_the_document_and_nothing_else(
    chalice_app: Any, document: dict[str, Any]
) -> None:
    routes = {(path, method.lower())
              for path, methods in chalice_app.app.routes.items() for method in methods}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == routes


def test_each_form_s_schema_is_its_model_s(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for form in FORMS.values():
        operation = document["paths"][form.path]["post"]
        media = operation["requestBody"]["content"]
        assert media["application/json"]["schema"]["$ref"] == f"#/components/schemas/{form.model.__name__}"
        assert "application/x-www-form-urlencoded" in media
        published = schemas[form.model.__name__]
        # The model's own schema, its contract notes joined to the descriptions as published.
        own = form.model.model_json_schema()
        with_contract_notes(own)
        assert published["properties"] == own["properties"]
        assert published.get("required") == form.model.model_json_schema().get("required")
        answer = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
        assert answer == f"#/components/schemas/{form.model.answer_model.__name__}"


def test_each_example_is_a_valid_body_of_its_form(document: dict[str, Any], chalice_app: Any) -> None:
    today = chalice_app.get_reception().clock().date()
    models = {form.path: form.model for form in FORMS.values()}
    for path, operations in document["paths"].items():
        body = operations.get("post", {}).get("requestBody")
        if body is None:
            continue
        example = body["content"]["application/json"]["example"]
        if path in models:
            validate(models[path], example, today=today)


def test_error_answers_are_documented(document: dict[str, Any]) -> None:
    for form in FORMS.values():
        responses = document["paths"][form.path]["post"]["responses"]
        assert {"201", "303", "400", "413", "415", "422", "503"} <= set(responses)
    assert "409" in document["paths"]["/warranty-registrations"]["post"]["responses"]
    assert "409" not in document["paths"]["/enquiries"]["post"]["responses"]
    assert {"200", "400", "404", "503"} <= set(document["paths"]["/warranty-status"]["post"]["responses"])
    parameters = document["paths"]["/complaints"]["post"]["parameters"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in parameters


def _property(document: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    return document["components"]["schemas"][model]["properties"][name]  # type: ignore[no-any-return]


def _accepts(schema: dict[str, Any], value: Any) -> bool:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(value)


def test_the_schema_states_the_rules_the_api_enforces_on_one_field(document: dict[str, Any]) -> None:
    """Issue 24, point 20: schemathesis found bodies valid by the schema that the API refused."""
    from chalicelib.rules.catalog import catalog

    serial = _property(document, "WarrantyRegistration", "serial_number")
    for product in catalog().products.values():
        example = product.serial_example
        spaced = f"{example[:3].lower()} {example[3:7]}-{example[7:]}"
        assert _accepts(serial, example) and _accepts(serial, spaced), spaced
    for outside_every_product in ("ABCD", "ZZ0000000000", "PW82407K0012"):
        assert not _accepts(serial, outside_every_product)
    assert "must be a serial of the product chosen" in serial["description"]

    purchase = _property(document, "WarrantyRegistration", "purchase_date")
    assert purchase["format"] == "date" and "Not in the future" in purchase["description"]

    attachments = _property(document, "ReturnRequest", "attachments")
    assert not _accepts(attachments, ["", ""]) and not _accepts(attachments, ["A" * 24, "A" * 24])
    assert _accepts(attachments, ["FDpUKLRs0oo751irJiTD3CYL"]) and _accepts(attachments, None)

    [token] = document["paths"]["/unsubscribe"]["get"]["parameters"]
    assert not _accepts(token["schema"], "not-a-token")
    assert _accepts(token["schema"], "CMP-2222-3333.1." + "0" * 64)


def test_an_upload_s_size_is_a_whole_number_in_the_schema(document: dict[str, Any]) -> None:
    size = _property(document, "UploadRequest", "size")
    assert size["type"] == "integer" and "exact size" in size["description"]
