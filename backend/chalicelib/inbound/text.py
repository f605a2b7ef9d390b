"""The new text of a reply: quoted history and signatures cut, by mail-parser-reply.

mail-parser-reply (MIT, maintained, no dependencies) recognises the "On ... wrote:"
lines, quote marks, forwarded headers and signatures of the common mail programs in
several languages. It is imported on first use: the inbound function pays for it
(about 15 ms), nothing else does.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from functools import cache
from typing import Any

# What one reply may put on a case's history; the rest is cut (staff still see that it was).
MAX_CHARACTERS = 10_000
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv"]
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)
BREAKS = re.compile(r"<(br|/p|/div|/li|/tr)\b[^>]*>", re.IGNORECASE)


@cache
def _parser() -> Any:
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=LANGUAGES)


def body_text(message: EmailMessage) -> str:
    """The message's text: its plain part, or its HTML part reduced to text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = str(part.get_content())
    if part.get_content_subtype() == "html":
        content = html.unescape(TAGS.sub("", BREAKS.sub("\n", content)))
    return content.replace("\r\n", "\n")


def new_text(body: str) -> str:
    """Only what the customer wrote this time: no quoted history, no signature."""
    if not body.strip():
        return ""
    replies = _parser().read(body).replies
    kept = str(replies[0].body if replies else body).strip()
    if len(kept) > MAX_CHARACTERS:
        kept = kept[:MAX_CHARACTERS].rstrip() + " […]"
    return kept
