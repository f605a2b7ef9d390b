"""The intake forms: one model per kind, the single definition of each form's fields.

The OpenAPI document, the site's HTML forms and the staff export's columns are
all derived from these models. Field metadata that only the site needs (labels,
hints, widgets, autocomplete) travels in the JSON schema as `x-` keywords.
"""

from __future__ import annotations

from chalicelib.forms.contact import Complaint, Enquiry
from chalicelib.forms.core import (
    FieldError,
    FormKind,
    InvalidSubmission,
    Lookup,
    Submission,
    UniqueClaim,
    validate,
)
from chalicelib.forms.feedback import Feedback, PageFeedback
from chalicelib.forms.products import ReturnRequest, WarrantyRegistration, WarrantyStatusQuery
from chalicelib.forms.tracking import TrackQuery
from chalicelib.forms.visits import ServiceVisit

FORMS: dict[str, FormKind] = {
    form.kind: form
    for form in (
        FormKind("enquiry", "/enquiries", Enquiry, "ENQ", "Enquiry", page="/contact/"),
        FormKind("feedback", "/feedback", Feedback, "FB", "Feedback", page="/feedback/"),
        FormKind("page_feedback", "/page-feedback", PageFeedback, "PG", "Page feedback"),
        FormKind(
            "warranty_registration", "/warranty-registrations", WarrantyRegistration, "WR",
            "Warranty registration", page="/warranty/register/",
        ),
        FormKind(
            "complaint", "/complaints", Complaint, "CMP", "Complaint", page="/complaints/new/",
        ),
        FormKind(
            "return_request", "/return-requests", ReturnRequest, "RET", "Return request",
            page="/returns/request/",
        ),
        FormKind(
            "service_visit", "/service-visits", ServiceVisit, "VIS", "Service visit",
            initial_status="requested", page="/visits/book/", sent_as="request for a service visit",
        ),
    )
}

WARRANTY_STATUS = Lookup(
    "warranty_status", "/warranty-status", WarrantyStatusQuery, "Warranty check", page="/warranty/check/",
)
TRACK = Lookup("track", "/track", TrackQuery, "Track a request", page="/track/")
LOOKUPS = (WARRANTY_STATUS, TRACK)

__all__ = [
    "FORMS",
    "Complaint",
    "Enquiry",
    "Feedback",
    "FieldError",
    "FormKind",
    "InvalidSubmission",
    "LOOKUPS",
    "Lookup",
    "PageFeedback",
    "ReturnRequest",
    "ServiceVisit",
    "Submission",
    "TRACK",
    "TrackQuery",
    "UniqueClaim",
    "WARRANTY_STATUS",
    "WarrantyRegistration",
    "WarrantyStatusQuery",
    "validate",
]
