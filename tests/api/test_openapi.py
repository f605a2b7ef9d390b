"""GET /api/openapi.json: a valid OpenAPI 3.1 document of every route, from the same models."""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.forms import FORMS, validate
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
        assert published["properties"] == form.model.model_json_schema()["properties"]
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
