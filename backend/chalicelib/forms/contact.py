"""Forms that reach a person on the help desk: enquiries and complaints."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from chalicelib.forms.attachments import Attachments
from chalicelib.forms.core import Submission, personal
from chalicelib.forms.fields import (
    Email,
    FollowUpConsent,
    MarketingConsent,
    Name,
    OrderReference,
    Phone,
    free_text,
)


class Enquiry(Submission):
    """A question to the help desk."""

    name: Name
    email: Email
    phone: Phone = None
    topic: Literal[
        "product-use",
        "technical-support",
        "installation",
        "warranty",
        "proof-of-purchase",
        "returns",
        "maintenance-contract",
        "other",
    ] = Field(
        title="What is it about?",
        json_schema_extra={
            "x-labels": {
                "product-use": "Using a product",
                "technical-support": "Technical support",
                "installation": "Installation",
                "warranty": "Warranty",
                "proof-of-purchase": "Proof of purchase (a product registered by someone else)",
                "returns": "Returns and exchanges",
                "maintenance-contract": "Annual maintenance contract",
                "other": "Something else",
            }
        },
    )
    message: str = Field(
        min_length=1,
        max_length=5000,
        title="Your message",
        json_schema_extra=personal(**{"x-widget": "textarea"}),
    )
    order_reference: OrderReference = None
    marketing_consent: MarketingConsent = False
    follow_up_consent: FollowUpConsent = False

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            "name": "Ann Lee",
            "email": "ann.lee@example.com",
            "topic": "installation",
            "message": "Which wall bracket fits the Vista 55 OLED?",
            "marketing_consent": False,
        }


class Complaint(Submission):
    """Something went wrong: stored as `open` until staff have put it right."""

    category: Literal[
        "product-fault",
        "poor-service",
        "staff-attitude",
        "promise-not-kept",
        "delivery",
        "other",
    ] = Field(
        title="What went wrong?",
        json_schema_extra={
            "x-widget": "radio",
            "x-labels": {
                "product-fault": "A product is faulty",
                "poor-service": "Poor service",
                "staff-attitude": "Staff attitude",
                "promise-not-kept": "A promise was not kept",
                "delivery": "Delivery",
                "other": "Something else",
            },
        },
    )
    description: str = free_text(
        "Tell us what happened", 5000, "When and where it happened, and who you dealt with if you know."
    )
    order_reference: OrderReference = Field(
        default=None,
        title="Order number or our reference (optional)",
        description="From your receipt, an email from us, or an earlier form.",
    )
    desired_outcome: str = free_text("What would put it right for you?", 2000)
    attachments: Attachments
    name: Name
    email: Email
    phone: Phone = None
    marketing_consent: MarketingConsent = False
    follow_up_consent: FollowUpConsent = False

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            "category": "delivery",
            "description": "The washing machine arrived two days after the promised date.",
            "order_reference": "ORD-20431",
            "desired_outcome": "A refund of the delivery charge.",
            "name": "Carl Diaz",
            "email": "carl.diaz@example.com",
            "marketing_consent": False,
        }
