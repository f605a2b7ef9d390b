"""The privacy notice, generated from the data policy at build time.

`site/privacy.md` holds a `<!-- privacy-notice -->` marker; this hook replaces
it with the notice built from backend/chalicelib/data/data_policy.toml, the
same file the backend sets every item's expiry from. Change a retention period
there and the page changes with it. What each form collects is listed from the
form's own model, so the notice names every field the form asks for and no
other; the consent record's contents come from what the backend copies into it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalicelib.rules.policy import DataPolicy, KindNotice, PolicySettingError, parse_policy
from chalicelib.rules.retailer import retailer
from chalicelib.store.items import CONSENT_CONTACT, CONSENT_KIND, CONSENT_KINDS, FOLLOW_UP_KIND
from mkdocs.exceptions import PluginError

DATA_POLICY = Path("backend/chalicelib/data/data_policy.toml")
MARKETING_FIELD = "marketing_consent"
FOLLOW_UP_FIELD = "follow_up_consent"

NOTICE_MARKER = re.compile(r"^<!--\s*privacy-notice\s*-->[ \t]*$", re.MULTILINE)
FORM_MARKER = re.compile(r"<!--\s*form:\s*([a-z_]+)")

_state: dict[str, Any] = {}


def load_policy(project_dir: Path) -> DataPolicy:
    """The backend's own reader, on the project's file (so `mkdocs serve` sees edits)."""
    return parse_policy((project_dir / DATA_POLICY).read_text())


def form_models() -> dict[str, Any]:
    """Each intake kind's model: the one definition of what its form collects."""
    from chalicelib.forms import FORMS

    return {kind: form.model for kind, form in FORMS.items()}


def on_config(config: Any) -> Any:
    try:
        _state["policy"] = load_policy(Path(config.config_file_path).parent)
    except PolicySettingError as error:
        raise PluginError(str(error)) from None
    return config


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(Path(config.config_file_path).parent / DATA_POLICY))
    return server


def on_files(files: Any, config: Any) -> Any:
    """Find which page holds each kind's form, so the notice can link to it."""
    form_pages: dict[str, str] = {}
    for file in files.documentation_pages():
        for kind in FORM_MARKER.findall(file.content_string):
            form_pages.setdefault(kind, file.src_uri)
    _state["form_pages"] = form_pages
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not NOTICE_MARKER.search(markdown):
        return markdown
    if page.file.src_uri != "privacy.md":
        raise PluginError(f"{page.file.src_uri}: the privacy notice belongs in privacy.md only")
    try:
        notice = notice_markdown(_state["policy"], _state.get("form_pages", {}))
    except PolicySettingError as error:
        raise PluginError(str(error)) from None
    return NOTICE_MARKER.sub(lambda _: notice, markdown)


def retention(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{months} months ({years} year{'s' if years != 1 else ''})"
    return f"{months} month{'s' if months != 1 else ''}"


def _sentence_list(items: tuple[str, ...]) -> str:
    return "\n".join(f"    - {item[0].upper()}{item[1:]}" for item in items)


def collected(policy: DataPolicy, kind: str, models: dict[str, Any]) -> tuple[str, ...]:
    """What one kind collects, as the notice names it: a form's model fields, or a consent record's."""
    if kind in CONSENT_KINDS:
        contact = tuple(policy.label(name) for name in CONSENT_CONTACT)
        return contact + tuple(policy.consent_record_labels.values())
    if kind not in models:
        raise PolicySettingError(f"data_policy.toml: kinds.{kind} is not a form the backend receives")
    return policy.collected(models[kind])


def lawful_basis(kind: KindNotice, law: str) -> str:
    basis = kind.lawful_basis
    return f"{basis.name} ({law} {basis.article}). {basis.why}"


def kind_section(
    policy: DataPolicy, name: str, kind: KindNotice, form_pages: dict[str, str], models: dict[str, Any]
) -> list[str]:
    """One kind's part of the notice: why, on what basis, what exactly, who sees it, how long."""
    lines = [f"### {kind.title} {{#{anchor(name)}}}", ""]
    if name in form_pages:
        lines += [f"Sent with [the {kind.title.lower()} form]({form_pages[name]}).", ""]
    lines += [
        "Why",
        f": {kind.purpose}",
        "",
        "Lawful basis",
        f": {lawful_basis(kind, retailer().privacy.law)}",
        "",
        "What we collect",
        ": The items below, and nothing else:",
        "",
        _sentence_list(collected(policy, name, models)),
        "",
    ]
    if offers_marketing(models.get(name)) and CONSENT_KIND in policy.notices:
        lines += [
            "    If you tick the box for product news and offers, we also keep a record of "
            f"your agreement: see [{policy.notices[CONSENT_KIND].title}](#{anchor(CONSENT_KIND)}).",
            "",
        ]
    if asks_how_we_did(models.get(name)) and FOLLOW_UP_KIND in policy.notices:
        lines += [
            "    If you tick the box asking how we did, we also keep a record of your agreement: "
            f"see [{policy.notices[FOLLOW_UP_KIND].title}](#{anchor(FOLLOW_UP_KIND)}).",
            "",
        ]
    lines += [
        "Who can see it",
        f": {kind.who_can_see} Nobody outside {retailer().legal_name} can.",
        "",
        "How long we keep it",
        f": {retention(policy.retention_months[name])}.",
        "",
    ]
    return lines


def offers_marketing(model: Any) -> bool:
    return model is not None and MARKETING_FIELD in model.model_fields


def asks_how_we_did(model: Any) -> bool:
    return model is not None and FOLLOW_UP_FIELD in model.model_fields


def anchor(kind: str) -> str:
    return kind.replace("_", "-")


def emails_section(policy: DataPolicy) -> list[str]:
    """The emails we send and who carries them (the data policy's [emails])."""
    if not policy.emails:
        return []
    if not policy.mail_service or not policy.mail_processor:
        raise PolicySettingError("data_policy.toml: [emails] must name the service and its processor")
    return [
        "## Emails we send",
        "",
        f"We send email through {policy.mail_service}. {policy.mail_processor}",
        "",
        *(f"- {description}" for description in policy.emails.values()),
        "",
    ]


def notice_markdown(
    policy: DataPolicy, form_pages: dict[str, str], models: dict[str, Any] | None = None
) -> str:
    """The whole notice, in Markdown, from the data policy and the forms' models."""
    models = form_models() if models is None else models
    kinds = policy.notices
    months = policy.retention_months
    controller = retailer().legal_name
    email = retailer().privacy_email
    privacy = retailer().privacy
    contact_page = form_pages.get("enquiry", "contact.md")
    lines = [
        f"This notice explains what {controller} (\"we\") collects through this site, why, "
        "who can see it, how long we keep it and how to ask us to show, correct or erase it.",
        "",
        f"Version {policy.notice_version}. When you agree to receive updates, we record "
        "the version of this notice you saw.",
        "",
        "## Who we are",
        "",
        f"{controller} is responsible for the information you give us here. Write to "
        f"[{email}](mailto:{email}) about anything in this notice, or use our "
        f"[contact form]({contact_page}).",
        "",
        "## How long we keep each kind",
        "",
        "| What you send us | Kept for | Then |",
        "| --- | --- | --- |",
    ]
    for name, kind in kinds.items():
        lines.append(f"| {kind.title} | {retention(months[name])} | deleted automatically |")
    lines += [
        "",
        "Each record is kept for the stated time from the day we receive it, then deleted "
        "automatically. A record past its time is never used, even in the few days before "
        "the deletion runs.",
        "",
        "## What each form collects and why",
        "",
    ]
    for name, kind in kinds.items():
        lines += kind_section(policy, name, kind, form_pages, models)
    lines += [
        "## Where it is stored and how it is protected",
        "",
        f"- {policy.storage}",
        f"- {policy.backups}",
        "- Only the staff named above can read what you sent; the part of our system that "
        "receives forms can store them but cannot read them back.",
    ]
    lines.append(
        "- So that a form sent twice (for example after a lost connection) is stored "
        f"once, we keep a technical note of each sending for {policy.idempotency_hours} "
        "hours. It holds no name, email address or message."
    )
    lines += [
        "- Your details never appear in web addresses or in our system's logs.",
        "",
    ]
    lines += emails_section(policy)
    lines += [
        "## What this site does not do",
        "",
        "- It sets no cookies and uses no analytics or tracking of any kind.",
        "- It loads nothing from other companies: no web fonts, no advertising, no "
        "third-party scripts. \"Was this page helpful?\" answers come only to us.",
        f"- We do not sell or give your information to anyone outside {controller}, "
        "other than the processors named above, who act only on our instructions.",
        "",
        "## See, correct or erase your information",
        "",
        f"You can ask us to show you everything we hold about you, to correct it, or to erase "
        f"it. Write to [{email}](mailto:{email}) or use our [contact form]({contact_page}), "
        "from the email address you used with us. We answer within one month. Our staff "
        "find every record linked to your email address, and erasing removes all of them.",
        "",
        "Where we rely on legitimate interests, you may object and we will stop unless we "
        "have a strong reason to continue; where we rely on your consent, you may withdraw "
        "it at any time.",
        "",
        "## Complain to the regulator",
        "",
        "If you are unhappy with how we handle your information, please tell us first so "
        "that we can put it right. You also have the right to complain to the supervisory "
        f"authority, the [{privacy.supervisory_authority}]({privacy.supervisory_authority_url}).",
        "",
        "## Stop receiving updates",
        "",
        "We send product news and offers only if you ticked the box asking for them. You can "
        "withdraw at any time: use the unsubscribe link in any email from us, or ask us at "
        f"[{email}](mailto:{email}). We stop at once.",
    ]
    if CONSENT_KIND in months:
        lines.append(
            f"We keep the record of your agreement and of its withdrawal for "
            f"{retention(months[CONSENT_KIND])}, as proof."
        )
    if FOLLOW_UP_KIND in months:
        lines += [
            "",
            "If you ticked the box asking how we did, we send one email when your request is "
            "closed, and nothing else. The unsubscribe link in any email from us, or a word to "
            f"[{email}](mailto:{email}), withdraws that too, and no such email is sent.",
        ]
    return "\n".join(lines)
