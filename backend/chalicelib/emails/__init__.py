"""The emails themselves: what a confirmation and a staff alert say, in plain text and HTML.

Pure: an email is built from a stored item's open fields, the promises in the
data policy and the notification settings; nothing here reads the
environment, talks to AWS or sees a submission's sealed personal fields.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from functools import cache
from importlib import resources
from typing import Any

from chalicelib.attachment_notices import SentFile
from chalicelib.catalog import catalog
from chalicelib.forms import FORMS

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
                8: "eight", 9: "nine", 10: "ten"}
# Fields that say nothing about the request itself, or are told apart (the files).
NOT_SUMMARISED = {"marketing_consent", "attachments"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Mail:
    """One email ready to send: the transport adds only Date and Message-ID."""

    sender: str
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Letterhead:
    """Who the emails come from and where they link to (deploy settings)."""

    sender_address: str
    sender_name: str
    site_url: str
    # How to reach a person, from the retailer's settings: printed in every confirmation.
    phone: str = ""
    help_email: str = ""

    @property
    def sender(self) -> str:
        return str(Address(self.sender_name, addr_spec=self.sender_address))


@dataclass(frozen=True)
class Promise:
    next_step: str
    reply_working_days: int | None = None


@dataclass(frozen=True)
class StaffAlert:
    to: str
    daily_digest: bool = False


@dataclass(frozen=True)
class NotificationPolicy:
    promises: dict[str, Promise]
    staff_alerts: dict[str, StaffAlert]
    unsubscribe_link_days: int


def parse_notification_policy(data_policy_text: str, notifications_text: str) -> NotificationPolicy:
    promises = tomllib.loads(data_policy_text).get("promises", {})
    notifications = tomllib.loads(notifications_text)
    return NotificationPolicy(
        promises={kind: Promise(spec["next_step"], spec.get("reply_working_days"))
                  for kind, spec in promises.items()},
        staff_alerts={kind: StaffAlert(spec["to"], bool(spec.get("daily_digest", False)))
                      for kind, spec in notifications.get("staff_alerts", {}).items()},
        unsubscribe_link_days=int(notifications["unsubscribe_link_days"]),
    )


@cache
def notification_policy() -> NotificationPolicy:
    data = resources.files("chalicelib").joinpath("data")
    return parse_notification_policy(
        data.joinpath("data_policy.toml").read_text(), data.joinpath("notifications.toml").read_text()
    )


def add_working_days(start: date, days: int) -> date:
    """`days` weekdays after `start` (public holidays are not known here)."""
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def in_words(number: int) -> str:
    return NUMBER_WORDS.get(number, str(number))


def summary(kind: str, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """What the customer asked for, in the form's own words: open fields only, never free text."""
    model = FORMS[kind].model
    schema = model.model_json_schema().get("properties", {})
    rows: list[tuple[str, str]] = []
    for name in model.open_fields():
        value = fields.get(name)
        if name in NOT_SUMMARISED or value is None or value == "":
            continue
        info = model.model_fields[name]
        label = (info.title or name.replace("_", " ")).removesuffix(" (optional)")
        labels = schema.get(name, {}).get("x-labels") or _inner_labels(schema.get(name, {}))
        if name == "product" and value in catalog().products:
            shown = catalog().product(value).name
        elif labels and str(value) in labels:
            shown = labels[str(value)]
        elif isinstance(value, str) and ISO_DATE.fullmatch(value):
            shown = long_date(date.fromisoformat(value))
        else:
            shown = str(value)
        rows.append((label, shown))
    if kind == "warranty_registration" and fields.get("product") in catalog().products:
        purchased = date.fromisoformat(str(fields["purchase_date"]))
        ends = catalog().product(fields["product"]).warranty_expires_on(purchased)
        rows.append(("Your warranty ends on", long_date(ends)))
    return rows


def _inner_labels(schema: dict[str, Any]) -> dict[str, str] | None:
    for option in schema.get("anyOf", []):
        if option.get("x-labels"):
            return dict(option["x-labels"])
    return None


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@cache
def _environment() -> Any:
    # Imported here: only the notifier renders emails, so the API's cold start never pays for it.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib.emails", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    return str(_environment().get_template(name).render(**context))


def confirmation(
    item: dict[str, Any], recipient: str, letterhead: Letterhead, policy: NotificationPolicy,
    unsubscribe_url: str | None = None, files: list[SentFile] | None = None,
) -> Mail:
    """The customer's confirmation: reference, what they asked for, the files received (and any
    refused, and why), what happens next and by when."""
    kind, reference = item["kind"], item["reference"]
    form = FORMS[kind]
    promise = policy.promises.get(kind) or Promise("We will be in touch if we need anything more.")
    received = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")).date()
    reply_by = None
    if promise.reply_working_days:
        reply_by = long_date(add_working_days(received, promise.reply_working_days))
    subject = f"We have your {form.title.lower()} ({reference})"
    context = {
        "subject": subject,
        "kind_name": form.title.lower(),
        "reference": reference,
        "summary": summary(kind, item.get("fields") or {}),
        "next_step": promise.next_step,
        "reply_by": reply_by,
        "reply_days_words": in_words(promise.reply_working_days or 0),
        "site_url": letterhead.site_url,
        "sender_name": letterhead.sender_name,
        "phone": letterhead.phone,
        "help_email": letterhead.help_email,
        "unsubscribe_url": unsubscribe_url,
        "files": files or [],
    }
    headers = {}
    if unsubscribe_url:
        # RFC 8058: mail programs show their own one-click button, which POSTs here.
        headers = {"List-Unsubscribe": f"<{unsubscribe_url}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Mail(
        sender=letterhead.sender, to=recipient, subject=subject,
        text=render("confirmation.txt", **context), html=render("confirmation.html", **context),
        headers=headers,
    )


def file_refused(item: dict[str, Any], recipient: str, file: SentFile, letterhead: Letterhead) -> Mail:
    """A file refused after the confirmation went out: which one, why, and what to do."""
    kind, reference = item["kind"], item["reference"]
    subject = f"We could not accept a file you sent ({reference})"
    return Mail(
        sender=letterhead.sender, to=recipient, subject=subject,
        text=render("file_refused.txt", kind_name=FORMS[kind].title.lower(), reference=reference,
                    file=file, site_url=letterhead.site_url, sender_name=letterhead.sender_name,
                    phone=letterhead.phone, help_email=letterhead.help_email),
    )


def staff_alert(item: dict[str, Any], alert: StaffAlert, letterhead: Letterhead) -> Mail:
    """Kind, reference, product and time: enough to open the case, and no personal data."""
    kind, reference = item["kind"], item["reference"]
    product_id = (item.get("fields") or {}).get("product")
    product = catalog().product(product_id).name if product_id in catalog().products else None
    received = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    title = FORMS[kind].title
    return Mail(
        sender=letterhead.sender, to=alert.to,
        subject=f"New {title.lower()}: {reference}",
        text=render("staff_alert.txt", kind_name=title, reference=reference, product=product,
                    received=f"{received:%Y-%m-%d %H:%M} UTC"),
    )


def staff_digest(kind: str, alert: StaffAlert, items: list[dict[str, Any]], day: date,
                 letterhead: Letterhead) -> Mail:
    """One mail a day instead of one each: the same facts per submission, and no personal data."""
    rows = []
    for item in items:
        product_id = (item.get("fields") or {}).get("product")
        received = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        rows.append({
            "reference": item["reference"],
            "product": catalog().product(product_id).name if product_id in catalog().products else None,
            "received": f"{received:%H:%M} UTC",
        })
    title = FORMS[kind].title
    return Mail(
        sender=letterhead.sender, to=alert.to,
        subject=f"{title}s received on {day.isoformat()}: {len(rows)}",
        text=render("staff_digest.txt", kind_name=title, count=len(rows), day=long_date(day), rows=rows),
    )
