"""Every page must carry its own meta description (front matter `description:`).

Search engines and link previews show it; a page without one fails the strict
build rather than silently falling back to the site's description.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("mkdocs.hooks.page_description")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    description = (page.meta or {}).get("description")
    if not isinstance(description, str) or not description.strip():
        log.warning("%s has no 'description:' in its front matter", page.file.src_uri)
    return markdown
