"""Bodies each form accepts, for tests and the benchmark: the model's own example where it has one."""

from __future__ import annotations

import inspect
from datetime import date
from typing import Any

from chalicelib.forms import FormKind, validate

# Values for a form's fields by name, for models without an `example`.
SAMPLE_VALUES: dict[str, Any] = {
    "name": "Ann Lee",
    "email": "ann.lee@example.com",
    "phone": None,
    "topic": "installation",
    "message": "Which wall bracket fits the Vista 55?",
    "order_reference": None,
    "marketing_consent": False,
}


def payload_for(form: FormKind, today: date, **changes: Any) -> dict[str, Any]:
    """A body the kind's form accepts, with `changes` (e.g. another person's email)."""
    model: Any = form.model
    body: dict[str, Any] | None = None
    example = getattr(model, "example", None)
    if example is not None:
        try:
            body = dict(example(today))
        except NotImplementedError:
            body = None
    if body is None:
        body = {name: SAMPLE_VALUES[name] for name in model.model_fields if name in SAMPLE_VALUES}
    body.update({name: value for name, value in changes.items() if name in model.model_fields})
    return body


def validated(form: FormKind, body: dict[str, Any], today: date) -> Any:
    """The form's own validation (with today's date where the form has date rules)."""
    if "today" in inspect.signature(validate).parameters:
        return validate(form.model, body, today=today)
    return validate(form.model, body)
