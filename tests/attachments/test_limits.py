"""The attachment limits have one home, and the forms and the upload request follow it."""

from __future__ import annotations

import typing

from chalicelib.forms import FORMS
from chalicelib.forms.attachments import FILE_TYPES, MAX_FILES, UploadRequest

FORMS_WITH_ATTACHMENTS = ("warranty_registration", "return_request", "complaint")


def test_exactly_the_forms_with_attachments_have_the_field() -> None:
    having = {kind for kind, form in FORMS.items() if "attachments" in form.model.model_fields}
    assert having == set(FORMS_WITH_ATTACHMENTS)


def test_the_upload_request_offers_those_forms_and_file_types() -> None:
    fields = UploadRequest.model_fields
    assert set(typing.get_args(fields["form"].annotation)) == set(FORMS_WITH_ATTACHMENTS)
    assert set(typing.get_args(fields["content_type"].annotation)) == set(FILE_TYPES)


def test_the_forms_schema_states_the_limits_before_upload() -> None:
    schema = FORMS["complaint"].model.model_json_schema()["properties"]["attachments"]
    assert schema["maxItems"] == MAX_FILES
    assert "10 MB" in schema["description"] and "Up to 3 files" in schema["description"]
