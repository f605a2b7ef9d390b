"""The privacy notice, generated from the data policy at build time.

`site/privacy.md` holds a `<!-- privacy-notice -->` marker; this hook replaces
it with the notice built from backend/chalicelib/data/data_policy.toml, the
same file the backend sets every item's expiry from. Change a retention period
there and the page changes with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalicelib.items import CONSENT_KIND
from chalicelib.policy import DataPolicy, parse_policy
from chalicelib.retailer import retailer
from mkdocs.exceptions import PluginError

DATA_POLICY = Path("backend/chalicelib/data/data_policy.toml")
NOTICE_MARKER = re.compile(r"^<!--\s*privacy-notice\s*-->[ \t]*$", re.MULTILINE)
FORM_MARKER = re.compile(r"<!--\s*form:\s*([a-z_]+)")

_state: dict[str, Any] = {}


def load_policy(project_dir: Path) -> DataPolicy:
    """The backend's own reader, on the project's file (so `mkdocs serve` sees edits)."""
    return parse_policy((project_dir / DATA_POLICY).read_text())


def on_config(config: Any) -> Any:
    _state["policy"] = load_policy(Path(config.config_file_path).parent)
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
    notice = notice_markdown(_state["policy"], _state.get("form_pages", {}))
    return NOTICE_MARKER.sub(lambda _: notice, markdown)


def retention(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{months} months ({years} year{'s' if years != 1 else ''})"
    return f"{months} month{'s' if months != 1 else ''}"


def _sentence_list(items: tuple[str, ...]) -> str:
    return "\n".join(f"    - {item[0].upper()}{item[1:]}" for item in items)


def notice_markdown(policy: DataPolicy, form_pages: dict[str, str]) -> str:
    """The whole notice, in Markdown, from the data policy."""
    kinds = policy.notices
    months = policy.retention_months
    controller = retailer().legal_name
    email = retailer().privacy_email
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
        lines += [f"### {kind.title} {{#{name.replace('_', '-')}}}", ""]
        if name in form_pages:
            lines += [f"Sent with [the {kind.title.lower()} form]({form_pages[name]}).", ""]
        lines += [
            "Why",
            f": {kind.purpose}",
            "",
            "What we collect",
            ": The items below, and nothing else:",
            "",
            _sentence_list(kind.collects),
            "",
            "Who can see it",
            f": {kind.who_can_see} Nobody outside {controller} can.",
            "",
            "How long we keep it",
            f": {retention(months[name])}.",
            "",
        ]
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
        "## What this site does not do",
        "",
        "- It sets no cookies and uses no analytics or tracking of any kind.",
        "- It loads nothing from other companies: no web fonts, no advertising, no "
        "third-party scripts. \"Was this page helpful?\" answers come only to us.",
        f"- We do not sell or give your information to anyone outside {controller}.",
        "",
        "## See, correct or erase your information",
        "",
        f"You can ask us to show you everything we hold about you, to correct it, or to erase "
        f"it. Write to [{email}](mailto:{email}) or use our [contact form]({contact_page}), "
        "from the email address you used with us. We answer within one month. Our staff "
        "find every record linked to your email address, and erasing removes all of them.",
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
    return "\n".join(lines)
