"""The pages of the built site that the browser tests and the audit visit."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILT_SITE = REPO / "build" / "site"


def built_pages() -> list[str]:
    """Every page of the built site, as a path from the site's root."""
    pages = []
    for index in sorted(BUILT_SITE.rglob("index.html")):
        relative = index.parent.relative_to(BUILT_SITE).as_posix()
        pages.append("/" if relative == "." else f"/{relative}/")
    return pages


FORM_ATTRIBUTES = re.compile(r'data-af-form="([a-z_]+)" data-af-mode="(submit|lookup)"')


def language_folders() -> list[str]:
    """The site's other languages, each built in its folder (/hi/...)."""
    from chalicelib.languages import languages

    return list(languages()[1:])


def form_pages() -> dict[str, str]:
    """kind -> the English page that holds its form, read from the built site."""
    found: dict[str, str] = {}
    others = tuple(f"/{language}/" for language in language_folders())
    for path in built_pages():
        if path.startswith(others):
            continue
        html = (BUILT_SITE / path.strip("/") / "index.html").read_text(encoding="utf-8")
        for kind, _mode in FORM_ATTRIBUTES.findall(html):
            found.setdefault(kind, path)
    return found


def guide_pages() -> list[str]:
    """The English guides."""
    return [p for p in built_pages() if p.startswith("/guides/") and p != "/guides/"]


FORM_MARKER = re.compile(r"<!--\s*form:\s*([a-z_]+)")


def pages_with_a_form() -> list[str]:
    """Every page that asks for a form, whether or not the backend has the kind yet (English pages)."""
    pages = []
    for source in sorted((REPO / "site").rglob("*.md")):
        if re.search(r"\.[a-z]{2}\.md$", source.name):
            continue  # page.hi.md: the same page in another language
        if FORM_MARKER.search(source.read_text(encoding="utf-8")):
            stem = source.relative_to(REPO / "site").with_suffix("").as_posix()
            pages.append("/" if stem == "index" else f"/{stem.removesuffix('/index')}/")
    return pages


def audited_pages() -> list[str]:
    """The home page, a guide and every form page, in every language the site is built in:
    the axe check and `make audit` cover these."""
    english = ["/", guide_pages()[0], *pages_with_a_form()]
    return english + [f"/{language}{path}" for language in language_folders() for path in english]
