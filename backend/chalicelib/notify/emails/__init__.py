"""The emails themselves: what a confirmation and a staff alert say, in plain text and HTML.

A customer's email is in the language stored with their submission (`items.language_of`):
the templates' words through the `answers` catalog (`_` in a template), the lifecycles' and
the forms' words through theirs. Staff emails stay in English and name that language.

Pure: an email is built from a stored item's open fields, the case lifecycles
and their promises (lifecycles.toml) and the notification settings; nothing
here reads the environment, talks to AWS or sees a submission's sealed
personal fields.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from email.headerregistry import Address
from functools import cache
from importlib import resources
from typing import Any

from chalicelib.forms import FORMS
from chalicelib.languages import (
    ANSWERS,
    FORMS_DOMAIN,
    N_,
    SOURCE_LANGUAGE,
    Said,
    data_word,
    day_in_words,
    language_name,
    say,
)
from chalicelib.links import track_path
from chalicelib.notify.attachment_notices import SentFile, said_in
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import CasePolicy, case_policy
from chalicelib.rules.visit_windows import window_words
from chalicelib.store.items import language_of

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
class NextStep:
    """What the confirmation says happens next and, for a case, by when."""

    words: str
    promise: str | None = None  # the promise's words, e.g. "we answer"
    working_days: int | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class StaffAlert:
    to: str
    daily_digest: bool = False


@dataclass(frozen=True)
class NotificationPolicy:
    """Who is emailed about what: the case lifecycles (a case's next step and promise), the next
    step of the kinds that are not cases, the staff addresses and the unsubscribe link's life."""

    cases: CasePolicy
    next_steps: dict[str, str]
    staff_alerts: dict[str, StaffAlert]
    unsubscribe_link_days: int
    overdue_digest: StaffAlert | None = None
    weekly_summary: StaffAlert | None = None  # the managers (chalicelib.insight.summary)

    def in_language(self, language: str) -> NotificationPolicy:
        """The same policy, its words for customers in `language` (the rules are the same)."""
        if language == SOURCE_LANGUAGE:
            return self
        return replace(self, cases=case_policy(language), next_steps={
            kind: data_word(language, "notifications", f"next_steps.{kind}", words)
            for kind, words in self.next_steps.items()})

    def next_step(self, kind: str, received: date) -> NextStep:
        """A case's first status says what happens next and its promise by when; another kind
        has a sentence of its own."""
        lifecycle = self.cases.lifecycles.get(kind)
        if lifecycle is None:
            return NextStep(self.next_steps.get(kind, N_("We will be in touch if we need anything more.")))
        first = lifecycle.status(lifecycle.start)
        promise = self.cases.promise_of(kind, first.name)
        if promise is None:
            return NextStep(first.next_step)
        return NextStep(first.next_step, promise.words, promise.working_days,
                        self.cases.due_on(kind, first.name, received))


def parse_notification_policy(notifications_text: str, cases: CasePolicy) -> NotificationPolicy:
    notifications = tomllib.loads(notifications_text)
    next_steps = dict(notifications.get("next_steps", {}))
    both = sorted(set(next_steps) & set(cases.lifecycles))
    if both:
        raise ValueError(f"next_steps names cases, whose next step is their lifecycle's: {', '.join(both)}")
    overdue = notifications.get("overdue_digest")
    return NotificationPolicy(
        cases=cases,
        next_steps=next_steps,
        staff_alerts={kind: StaffAlert(spec["to"], bool(spec.get("daily_digest", False)))
                      for kind, spec in notifications.get("staff_alerts", {}).items()},
        unsubscribe_link_days=int(notifications["unsubscribe_link_days"]),
        overdue_digest=StaffAlert(overdue["to"], daily_digest=True) if overdue else None,
        weekly_summary=StaffAlert(weekly["to"]) if (weekly := notifications.get("weekly_summary")) else None,
    )


@cache
def notification_policy() -> NotificationPolicy:
    data = resources.files("chalicelib").joinpath("data")
    return parse_notification_policy(data.joinpath("notifications.toml").read_text(), case_policy())


def track_url(site_url: str, reference: str, language: str = SOURCE_LANGUAGE) -> str:
    """The Track a request page with the reference filled in, with or without JavaScript."""
    return site_url + track_path(reference, language)


def promise_sentence(words: str, working_days: int, due_on: date, language: str = SOURCE_LANGUAGE) -> str:
    """The promise as a sentence: We answer within two working days, so by (a long date).
    `words` are the promise's own, in `language`."""
    if language == SOURCE_LANGUAGE:
        return f"{words[:1].upper()}{words[1:]} within {in_words(working_days)} working days, " \
               f"so by {long_date(due_on)}."
    return say(language, Said("{promise} within {days} working days, so by {day}.", promise=words,
                              days=working_days, day=long_date(due_on, language)))


def kind_words(kind: str, language: str = SOURCE_LANGUAGE) -> str:
    """What the customer sent, as an email names it: "your complaint" (English), the form's title else."""
    form = FORMS[kind]
    return form.in_words if language == SOURCE_LANGUAGE else say(language, Said(form.title, FORMS_DOMAIN))


def in_words(number: int) -> str:
    return NUMBER_WORDS.get(number, str(number))


def summary(kind: str, fields: dict[str, Any], language: str = SOURCE_LANGUAGE) -> list[tuple[str, str]]:
    """What the customer asked for, in the form's own words: open fields only, never free text."""
    model = FORMS[kind].model

    def form_word(words: str) -> str:
        return say(language, Said(words, FORMS_DOMAIN))

    schema = model.model_json_schema().get("properties", {})
    rows: list[tuple[str, str]] = []
    for name in model.open_fields():
        value = fields.get(name)
        if name in NOT_SUMMARISED or value is None or value == "":
            continue
        info = model.model_fields[name]
        title = info.title or name.replace("_", " ")
        label = say(language, Said(title.removesuffix(" (optional)"),
                                   ANSWERS if title.endswith(" (optional)") else FORMS_DOMAIN))
        labels = schema.get(name, {}).get("x-labels") or _inner_labels(schema.get(name, {}))
        if name == "product" and value in catalog().products:
            shown = catalog().product(value).name
        elif isinstance(value, bool):
            # A tick box: the label is what was asked, the answer a plain yes or no.
            shown = say(language, N_("Yes") if value else N_("No"))
        elif labels and str(value) in labels:
            shown = form_word(labels[str(value)])
        elif isinstance(value, str) and ISO_DATE.fullmatch(value):
            shown = long_date(date.fromisoformat(value), language)
        else:
            shown = str(value)
        rows.append((label, shown))
    if kind == "warranty_registration" and fields.get("product") in catalog().products:
        purchased = date.fromisoformat(str(fields["purchase_date"]))
        ends = catalog().product(fields["product"]).warranty_expires_on(purchased)
        rows.append((say(language, N_("Your warranty ends on")), long_date(ends, language)))
    return rows


def _inner_labels(schema: dict[str, Any]) -> dict[str, str] | None:
    for option in schema.get("anyOf", []):
        if option.get("x-labels"):
            return dict(option["x-labels"])
    return None


def long_date(day: date, language: str = SOURCE_LANGUAGE) -> str:
    return day_in_words(day, language, weekday=True)


@cache
def _environment(language: str = SOURCE_LANGUAGE) -> Any:
    """The templates, with `_` saying a template's words in `language` (the `answers` catalog);
    in an HTML template they come back escaped, so `.format` escapes what is put in them."""
    # Imported here: only the notifier renders emails, so the API's cold start never pays for it.
    import jinja2
    from markupsafe import Markup

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib.notify.emails", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    @jinja2.pass_eval_context
    def words(context: Any, english: str) -> str:
        said = say(language, english)
        return Markup.escape(said) if context.autoescape else said

    environment.globals.update(_=words, language=language)
    return environment


def render(name: str, language: str = SOURCE_LANGUAGE, **context: Any) -> str:
    return str(_environment(language).get_template(name).render(**context))


def confirmation(
    item: dict[str, Any], recipient: str, letterhead: Letterhead, policy: NotificationPolicy,
    unsubscribe_url: str | None = None, files: list[SentFile] | None = None, *, replies_home: bool = False,
) -> Mail:
    """The customer's confirmation: reference, what they asked for, the files received (and any
    refused, and why), what happens next and by when, and, when it carries the case's reply
    address (`replies_home`), that a reply to it is added to the case."""
    kind, reference = item["kind"], item["reference"]
    language = language_of(item)
    policy = policy.in_language(language)
    received = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")).date()
    next_step = policy.next_step(kind, received)
    promise = None
    if next_step.promise and next_step.working_days and next_step.due_on:
        promise = promise_sentence(next_step.promise, next_step.working_days, next_step.due_on, language)
    kind_name = kind_words(kind, language)
    subject = say(language, Said("We have your {kind} ({reference})", kind=kind_name, reference=reference))
    cases = policy.cases.lifecycles
    context = {
        "subject": subject,
        "kind_name": kind_name,
        "reference": reference,
        "summary": summary(kind, item.get("fields") or {}, language),
        # A case's and a listed kind's next step are in the language already; the default is said here.
        "next_step": next_step.words if kind in cases or kind in policy.next_steps else say(
            language, next_step.words),
        "promise": promise,
        "track_url": track_url(letterhead.site_url, reference, language) if kind in cases else None,
        "replies_home": replies_home,
        **frame(letterhead, unsubscribe_url),
        "files": [said_in(file, language) for file in files or []],
    }
    return Mail(
        sender=letterhead.sender, to=recipient, subject=subject,
        text=render("confirmation.txt", language, **context),
        html=render("confirmation.html", language, **context),
        headers=unsubscribe_headers(unsubscribe_url),
    )


def frame(letterhead: Letterhead, unsubscribe_url: str | None = None) -> dict[str, Any]:
    """What email_layout.html puts around every customer email: how to reach us, the site, the
    sender, and the unsubscribe link for people who asked for product news."""
    return {"site_url": letterhead.site_url, "sender_name": letterhead.sender_name, "phone": letterhead.phone,
            "help_email": letterhead.help_email, "unsubscribe_url": unsubscribe_url}


def unsubscribe_headers(unsubscribe_url: str | None) -> dict[str, str]:
    """RFC 8058: mail programs show their own one-click button, which POSTs to the link."""
    if not unsubscribe_url:
        return {}
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@dataclass(frozen=True)
class CaseUpdate:
    """A move of a case that the customer hears of, and all the email may say of it: nothing
    of the submission, no internal note; the handler by first name, the message written for them."""

    reference: str
    kind: str
    status: str
    template: str  # cases/<template>.txt: the status's subject and first paragraph
    moved_on: date
    handler: str | None = None
    window: str | None = None  # as the case keeps it (see VisitWindow): the email puts it in words
    customer_message: str | None = None
    language: str = SOURCE_LANGUAGE  # the customer's (stored with the submission)


def case_update(
    update: CaseUpdate, recipient: str, letterhead: Letterhead, policy: NotificationPolicy,
    unsubscribe_url: str | None = None, *, replies_home: bool = False,
) -> Mail:
    """The status in plain words, the message for the customer, the next step and its promised
    date, and a link to follow the case; one template per status gives the subject and lead.
    `replies_home`: the email carries the case's reply address, and says so."""
    language = update.language
    cases = policy.in_language(language).cases
    status = cases.lifecycle(update.kind).status(update.status)
    promise = cases.promise_of(update.kind, update.status)
    due_on = cases.due_on(update.kind, update.status, update.moved_on)
    promised = promise_sentence(promise.words, promise.working_days, due_on, language) if (
        promise and due_on) else None
    booked = cases.booking(update.kind, update.status, update.window)
    if booked is not None:
        # Once booked, the booking is the promise: no "within N working days" beside its date.
        promised = say(language, Said("Our engineer visits on {window}.", window=booked.words(language)))
    context: dict[str, Any] = {
        "template": update.template,
        "kind_name": kind_words(update.kind, language),
        "reference": update.reference,
        "status_words": status.words,
        "next_step": status.next_step,
        "promise": promised,
        "handler": update.handler,
        "window": window_words(update.window, language),
        "customer_message": update.customer_message,
        "track_url": track_url(letterhead.site_url, update.reference, language),
        # A reply to a closed case is not added to it (its history is final): none is invited.
        "replies_home": replies_home and not status.closed,
        **frame(letterhead, unsubscribe_url),
    }
    lead = _environment(language).get_template(f"cases/{update.template}.txt").make_module(context)
    subject = f"{lead.subject} ({update.reference})"
    return Mail(
        sender=letterhead.sender, to=recipient, subject=subject,
        text=render("case_update.txt", language, subject=subject, **context),
        html=render("case_update.html", language, subject=subject, **context),
        headers=unsubscribe_headers(unsubscribe_url),
    )


def overdue_digest(lines: list[str], day: date, to: StaffAlert, letterhead: Letterhead) -> Mail:
    """Once a day, the cases whose promise has passed: reference, kind and days late, nothing personal."""
    return Mail(
        sender=letterhead.sender, to=to.to,
        subject=f"Overdue cases on {day.isoformat()}: {len(lines)}",
        text=render("overdue_digest.txt", lines=lines, count=len(lines), day=long_date(day)),
    )


def file_refused(item: dict[str, Any], recipient: str, file: SentFile, letterhead: Letterhead) -> Mail:
    """A file refused after the confirmation went out: which one, why, and what to do."""
    kind, reference = item["kind"], item["reference"]
    language = language_of(item)
    subject = say(language, Said("We could not accept a file you sent ({reference})", reference=reference))
    return Mail(
        sender=letterhead.sender, to=recipient, subject=subject,
        text=render("file_refused.txt", language, kind_name=kind_words(kind, language), reference=reference,
                    file=said_in(file, language), site_url=letterhead.site_url,
                    sender_name=letterhead.sender_name, phone=letterhead.phone,
                    help_email=letterhead.help_email),
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
                    received=f"{received:%Y-%m-%d %H:%M} UTC",
                    customer_language=language_name(language_of(item))),
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
            # The customer's language when not English (the alert names it either way).
            "language": language_name(language_of(item)) if language_of(item) != SOURCE_LANGUAGE else None,
        })
    title = FORMS[kind].title
    return Mail(
        sender=letterhead.sender, to=alert.to,
        subject=f"{title}s received on {day.isoformat()}: {len(rows)}",
        text=render("staff_digest.txt", kind_name=title, count=len(rows), day=long_date(day), rows=rows),
    )
