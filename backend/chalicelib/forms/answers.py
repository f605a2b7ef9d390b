"""The JSON answers the API gives: one model each, so the OpenAPI document shows what is sent."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """What every answer shares: its schema is built when the first one is sent, not at import,
    so a cold start pays only for the answers it gives."""

    model_config = ConfigDict(defer_build=True)


class Accepted(Answer):
    """A stored submission: quote the reference in any later contact."""

    reference: str = Field(title="Reference", examples=["ENQ-7K3M-Q9XD"])


class WarrantyRegistered(Accepted):
    """A registered warranty and the last day it covers."""

    product: str = Field(title="Product id")
    product_name: str = Field(title="Product")
    registered_on: date = Field(title="Registered on")
    expires_on: date = Field(title="Warranty ends on (the last day covered)")


class ReturnAssessed(Accepted):
    """A return request, with where the item stands against the return window and the warranty."""

    return_window_ends_on: date = Field(title="Last day to return an unwanted item")
    inside_return_window: bool = Field(title="Inside the return window")
    warranty_expires_on: date = Field(title="Warranty ends on (the last day covered)")
    under_warranty: bool = Field(title="Under warranty")


class WarrantyStatus(Answer):
    """The warranty registered for one serial number."""

    product: str = Field(title="Product id")
    product_name: str = Field(title="Product")
    registered_on: date = Field(title="Registered on")
    expires_on: date = Field(title="Warranty ends on (the last day covered)")
    under_warranty: bool = Field(title="Under warranty")


class Problem(Answer):
    """Why the request was not taken."""

    message: str


class FieldProblem(Answer):
    field: str = Field(description="The field's name; empty for the body as a whole.")
    message: str


class ValidationProblem(Problem):
    """Every field that needs correcting, each with a message for people."""

    errors: list[FieldProblem]


class Claim(Answer):
    """How to contest what someone else registered: post these fields to `path` with your own."""

    path: str = Field(description="The form to post the claim to, under the API's base.")
    fields: dict[str, str] = Field(description="Fields already filled in: add your name and email.")


class ConflictProblem(ValidationProblem):
    """Someone registered it first; nothing about them is revealed. `errors` names the field."""

    claim: Claim | None = None
