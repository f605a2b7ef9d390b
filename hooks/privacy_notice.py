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
import tomllib
from pathlib import Path
from typing import Any

from chalicelib.languages import (
    SOURCE_LANGUAGE,
    MissingTranslation,
    languages,
    site_build_language,
    translator,
    with_words,
)
from chalicelib.rules.policy import DataPolicy, KindNotice, PolicySettingError, parse_policy
from chalicelib.rules.retailer import retailer
from chalicelib.store.items import CONSENT_CONTACT, CONSENT_KIND, CONSENT_KINDS, FOLLOW_UP_KIND
from mkdocs.exceptions import PluginError

DATA_POLICY = Path("backend/chalicelib/data/data_policy.toml")
MARKETING_FIELD = "marketing_consent"
FOLLOW_UP_FIELD = "follow_up_consent"

NOTICE_MARKER = re.compile(r"^<!--\s*privacy-notice\s*-->[ \t]*$", re.MULTILINE)
FORM_MARKER = re.compile(r"<!--\s*form:\s*([a-z_]+)")
# page.hi.md beside page.md (mkdocs-static-i18n's suffix structure)
TRANSLATION_SUFFIX = re.compile(r"\.(?:" + "|".join(languages()[1:]) + r")\.md$")

_state: dict[str, Any] = {}


def load_policy(project_dir: Path, language: str = SOURCE_LANGUAGE) -> DataPolicy:
    """The backend's own reader, on the project's file (so `mkdocs serve` sees edits), in a language."""
    source = tomllib.loads((project_dir / DATA_POLICY).read_text())
    return parse_policy(with_words(language, "data_policy", source))


def form_models() -> dict[str, Any]:
    """Each intake kind's model: the one definition of what its form collects."""
    from chalicelib.forms import FORMS

    return {kind: form.model for kind, form in FORMS.items()}


def on_config(config: Any) -> Any:
    _state["project_dir"] = Path(config.config_file_path).parent
    try:
        _state["policy"] = load_policy(_state["project_dir"])
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
            # The English page's path: the i18n plugin links each language to its own version.
            form_pages.setdefault(kind, TRANSLATION_SUFFIX.sub(".md", file.src_uri))
    _state["form_pages"] = form_pages
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not NOTICE_MARKER.search(markdown):
        return markdown
    if page.file.src_uri.split(".")[0] != "privacy":  # privacy.md, or privacy.<language>.md
        raise PluginError(f"{page.file.src_uri}: the privacy notice belongs in privacy.md only")
    language = site_build_language(config)
    try:
        policy = _state["policy"] if language == SOURCE_LANGUAGE else load_policy(
            _state["project_dir"], language)
        notice = notice_markdown(policy, _state.get("form_pages", {}), language=language)
    except (PolicySettingError, MissingTranslation) as error:
        raise PluginError(str(error)) from None
    return NOTICE_MARKER.sub(lambda _: notice, markdown)


def retention(months: int, language: str = SOURCE_LANGUAGE) -> str:
    _ = translator(language, "site")
    if months % 12 == 0:
        years = months // 12
        words = _("{months} months ({years} years)") if years != 1 else _("{months} months ({years} year)")
        return words.format(months=months, years=years)
    return (_("{months} months") if months != 1 else _("{months} month")).format(months=months)


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
    policy: DataPolicy, name: str, kind: KindNotice, form_pages: dict[str, str], models: dict[str, Any],
    language: str = SOURCE_LANGUAGE,
) -> list[str]:
    """One kind's part of the notice: why, on what basis, what exactly, who sees it, how long."""
    _ = translator(language, "site")
    lines = [f"### {kind.title} {{#{anchor(name)}}}", ""]
    if name in form_pages:
        lines += [_("Sent with [the {kind} form]({page}).").format(
            kind=kind.title.lower(), page=form_pages[name]), ""]
    lines += [
        _("Why"),
        f": {kind.purpose}",
        "",
        _("Lawful basis"),
        f": {lawful_basis(kind, retailer().privacy.law)}",
        "",
        _("What we collect"),
        ": " + _("The items below, and nothing else:"),
        "",
        _sentence_list(collected(policy, name, models)),
        "",
    ]
    if offers_marketing(models.get(name)) and CONSENT_KIND in policy.notices:
        lines += [
            "    " + _("If you tick the box for product news and offers, we also keep a record of "
                       "your agreement: see [{title}](#{anchor}).").format(
                title=policy.notices[CONSENT_KIND].title, anchor=anchor(CONSENT_KIND)),
            "",
        ]
    if asks_how_we_did(models.get(name)) and FOLLOW_UP_KIND in policy.notices:
        lines += [
            "    " + _("If you tick the box asking how we did, we also keep a record of your agreement: "
                       "see [{title}](#{anchor}).").format(
                title=policy.notices[FOLLOW_UP_KIND].title, anchor=anchor(FOLLOW_UP_KIND)),
            "",
        ]
    lines += [
        _("Who can see it"),
        ": " + _("{who} Nobody outside {controller} can.").format(
            who=kind.who_can_see, controller=retailer().legal_name),
        "",
        _("How long we keep it"),
        f": {retention(policy.retention_months[name], language)}.",
        "",
    ]
    return lines


def offers_marketing(model: Any) -> bool:
    return model is not None and MARKETING_FIELD in model.model_fields


def asks_how_we_did(model: Any) -> bool:
    return model is not None and FOLLOW_UP_FIELD in model.model_fields


def anchor(kind: str) -> str:
    return kind.replace("_", "-")


def emails_section(policy: DataPolicy, language: str = SOURCE_LANGUAGE) -> list[str]:
    """The emails we send and who carries them (the data policy's [emails])."""
    if not policy.emails:
        return []
    if not policy.mail_service or not policy.mail_processor:
        raise PolicySettingError("data_policy.toml: [emails] must name the service and its processor")
    _ = translator(language, "site")
    return [
        "## " + _("Emails we send"),
        "",
        _("We send email through {service}. {processor}").format(
            service=policy.mail_service, processor=policy.mail_processor),
        "",
        *(f"- {description}" for description in policy.emails.values()),
        "",
    ]


def notice_markdown(
    policy: DataPolicy, form_pages: dict[str, str], models: dict[str, Any] | None = None,
    language: str = SOURCE_LANGUAGE,
) -> str:
    """The whole notice, in Markdown, from the data policy and the forms' models, in a language."""
    models = form_models() if models is None else models
    _ = translator(language, "site")
    kinds = policy.notices
    months = policy.retention_months
    privacy = retailer().privacy
    facts = {
        "controller": retailer().legal_name, "email": retailer().privacy_email,
        "contact_page": form_pages.get("enquiry", "contact.md"), "version": policy.notice_version,
        "hours": policy.idempotency_hours, "authority": privacy.supervisory_authority,
        "authority_url": privacy.supervisory_authority_url,
    }

    def say(text: str) -> str:
        return _(text).format(**facts)

    lines = [
        say("This notice explains what {controller} (\"we\") collects through this site, why, "
            "who can see it, how long we keep it and how to ask us to show, correct or erase it."),
        "",
        say("Version {version}. When you agree to receive updates, we record "
            "the version of this notice you saw."),
        "",
        "## " + _("Who we are"),
        "",
        say("{controller} is responsible for the information you give us here. Write to "
            "[{email}](mailto:{email}) about anything in this notice, or use our "
            "[contact form]({contact_page})."),
        "",
        "## " + _("How long we keep each kind"),
        "",
        "| " + " | ".join([_("What you send us"), _("Kept for"), _("Then")]) + " |",
        "| --- | --- | --- |",
    ]
    for name, kind in kinds.items():
        lines.append(f"| {kind.title} | {retention(months[name], language)} | {_('deleted automatically')} |")
    lines += [
        "",
        _("Each record is kept for the stated time from the day we receive it, then deleted "
          "automatically. A record past its time is never used, even in the few days before "
          "the deletion runs."),
        "",
        "## " + _("What each form collects and why"),
        "",
    ]
    for name, kind in kinds.items():
        lines += kind_section(policy, name, kind, form_pages, models, language)
    lines += [
        "## " + _("Where it is stored and how it is protected"),
        "",
        f"- {policy.storage}",
        f"- {policy.backups}",
        "- " + _("Only the staff named above can read what you sent; the part of our system that "
                 "receives forms can store them but cannot read them back."),
        "- " + say("So that a form sent twice (for example after a lost connection) is stored "
                   "once, we keep a technical note of each sending for {hours} "
                   "hours. It holds no name, email address or message."),
        "- " + _("Your details never appear in web addresses or in our system's logs."),
        "",
    ]
    lines += emails_section(policy, language)
    lines += [
        "## " + _("What this site does not do"),
        "",
        "- " + _("It sets no cookies and uses no analytics or tracking of any kind."),
        "- " + _("It loads nothing from other companies: no web fonts, no advertising, no "
                 "third-party scripts. \"Was this page helpful?\" answers come only to us."),
        "- " + say("We do not sell or give your information to anyone outside {controller}, "
                   "other than the processors named above, who act only on our instructions."),
        "",
        "## " + _("See, correct or erase your information"),
        "",
        say("You can ask us to show you everything we hold about you, to correct it, or to erase "
            "it. Write to [{email}](mailto:{email}) or use our [contact form]({contact_page}), "
            "from the email address you used with us. We answer within one month. Our staff "
            "find every record linked to your email address, and erasing removes all of them."),
        "",
        _("Where we rely on legitimate interests, you may object and we will stop unless we "
          "have a strong reason to continue; where we rely on your consent, you may withdraw "
          "it at any time."),
        "",
        "## " + _("Complain to the regulator"),
        "",
        say("If you are unhappy with how we handle your information, please tell us first so "
            "that we can put it right. You also have the right to complain to the supervisory "
            "authority, the [{authority}]({authority_url})."),
        "",
        "## " + _("Stop receiving updates"),
        "",
        say("We send product news and offers only if you ticked the box asking for them. You can "
            "withdraw at any time: use the unsubscribe link in any email from us, or ask us at "
            "[{email}](mailto:{email}). We stop at once."),
    ]
    if CONSENT_KIND in months:
        lines.append(
            _("We keep the record of your agreement and of its withdrawal for {months}, as proof.").format(
                months=retention(months[CONSENT_KIND], language))
        )
    if FOLLOW_UP_KIND in months:
        lines += [
            "",
            say("If you ticked the box asking how we did, we send one email when your request is "
                "closed, and nothing else. The unsubscribe link in any email from us, or a word to "
                "[{email}](mailto:{email}), withdraws that too, and no such email is sent."),
        ]
    return "\n".join(lines)
