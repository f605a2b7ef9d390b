"""Forms about one product the customer owns: warranty registration, return request, warranty status."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.forms.answers import ReturnAssessed, WarrantyRegistered
from chalicelib.forms.attachments import Attachments
from chalicelib.forms.core import Submission, UniqueClaim, today_of
from chalicelib.forms.fields import (
    Address,
    Email,
    FollowUpConsent,
    MarketingConsent,
    Name,
    OrderReference,
    Phone,
    Product,
    PurchaseDate,
    SerialNumber,
    fits_product,
    free_text,
)
from chalicelib.languages import N_, Said
from chalicelib.rules.catalog import catalog
from chalicelib.store.items import WARRANTY_GUARD

ALREADY_REGISTERED = N_(
    "This serial number already has a registered warranty. If the product is yours, "
    "claim it with your proof of purchase and we will look into it."
)
CLAIM_TOPIC = "proof-of-purchase"  # the enquiry topic that contests a registration


def claim_message(serial: str) -> str:
    """The draft a claim starts from; the serial is on the product's label, not about a person."""
    return Said("I bought the product with serial number {serial} and would like its warranty registered "
                "to me. I can send my receipt as proof of purchase.", serial=serial)


class PurchasedProduct(Submission):
    """Which product, which unit, bought when: checked against the catalog."""

    product: Product
    serial_number: SerialNumber
    purchase_date: PurchaseDate

    @field_validator("serial_number")
    @classmethod
    def _serial_fits_the_product(cls, serial: str, info: ValidationInfo) -> str:
        return fits_product(serial, info.data.get("product"))

    @field_validator("purchase_date")
    @classmethod
    def _purchase_date_is_possible(cls, purchased: date, info: ValidationInfo) -> date:
        if purchased > today_of(info):
            raise ValueError(N_("The date of purchase cannot be in the future."))
        product_id = info.data.get("product")
        if product_id is not None:
            product = catalog().product(product_id)
            if purchased < product.released:
                raise ValueError(Said("The {product} went on sale on {day}; check the date of purchase.",
                                      product=product.name, day=product.released))
        return purchased

    def warranty_expires_on(self) -> date:
        return catalog().product(self.product).warranty_expires_on(self.purchase_date)


def _example_purchase(product_id: str, today: date, days_ago: int) -> dict[str, Any]:
    product = catalog().product(product_id)
    return {
        "product": product.id,
        "serial_number": product.serial_example,
        "purchase_date": max(today - timedelta(days=days_ago), product.released).isoformat(),
    }


class WarrantyRegistration(PurchasedProduct):
    """A product's warranty, registered to its owner. One registration per serial number."""

    where_bought: str = Field(
        min_length=1, max_length=120, title="Where did you buy it?",
        description="The shop's name and town, or the website.",
    )
    attachments: Attachments
    name: Name
    email: Email
    phone: Phone = None
    address: Address = None
    marketing_consent: MarketingConsent = False

    answer_model = WarrantyRegistered

    @field_validator("purchase_date")
    @classmethod
    def _inside_the_registration_window(cls, purchased: date, info: ValidationInfo) -> date:
        window = catalog().policy
        if today_of(info) > window.registration_window_ends_on(purchased):
            raise ValueError(Said(
                "Warranties can be registered here within {days} days of purchase. "
                "Send us an enquiry and we will register it for you.", days=window.registration_window_days,
            ))
        return purchased

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            **_example_purchase("vista-55-oled", today, days_ago=10),
            "where_bought": "Aftercare Store, Leeds",
            "name": "Dana Eze",
            "email": "dana.eze@example.com",
            "phone": "+44 113 496 0000",
            "marketing_consent": True,
        }

    def answer(self, reference: str, today: date) -> WarrantyRegistered:
        product = catalog().product(self.product)
        return WarrantyRegistered(
            reference=reference,
            product=product.id,
            product_name=product.name,
            registered_on=today,
            expires_on=self.warranty_expires_on(),
        )

    def unique_claims(self, today: date) -> list[UniqueClaim]:
        return [
            UniqueClaim(
                guard=WARRANTY_GUARD,
                value=self.serial_number,
                conflict_message=ALREADY_REGISTERED,
                field_name="serial_number",
                fields={
                    "product": self.product,
                    "registered_on": today.isoformat(),
                    "expires_on": self.warranty_expires_on().isoformat(),
                },
            )
        ]


class ReturnRequest(PurchasedProduct):
    """A request to repair, replace, refund or exchange an item."""

    order_reference: OrderReference = None
    reason: str = free_text("Why are you returning it?", 5000, "What is wrong, or why it does not suit you.")
    wanted_outcome: Literal["repair", "replacement", "refund", "exchange"] = Field(
        title="What would you like us to do?",
        json_schema_extra={
            "x-widget": "radio",
            "x-labels": {
                "repair": "Repair it",
                "replacement": "Replace it with the same product",
                "refund": "Refund me",
                "exchange": "Exchange it for a different product",
            },
        },
    )
    attachments: Attachments
    name: Name
    email: Email
    phone: Phone = None
    marketing_consent: MarketingConsent = False
    follow_up_consent: FollowUpConsent = False

    answer_model = ReturnAssessed

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        return {
            **_example_purchase("chefmate-blend", today, days_ago=7),
            "order_reference": "ORD-31877",
            "reason": "The lid does not lock, so the blender will not start.",
            "wanted_outcome": "replacement",
            "name": "Eli Fox",
            "email": "eli.fox@example.com",
            "marketing_consent": False,
        }

    def answer(self, reference: str, today: date) -> ReturnAssessed:
        return_ends = catalog().policy.return_window_ends_on(self.purchase_date)
        warranty_ends = self.warranty_expires_on()
        return ReturnAssessed(
            reference=reference,
            return_window_ends_on=return_ends,
            inside_return_window=today <= return_ends,
            warranty_expires_on=warranty_ends,
            under_warranty=today <= warranty_ends,
        )


class WarrantyStatusQuery(Submission):
    """Both the serial number and the owner's email: neither alone reveals anything."""

    serial_number: SerialNumber
    email: Email = Field(
        title="Email address",
        description="The address the warranty was registered with.",
    )

    @classmethod
    def example(cls, today: date) -> dict[str, Any]:
        registration = WarrantyRegistration.example(today)
        return {"serial_number": registration["serial_number"], "email": registration["email"]}
