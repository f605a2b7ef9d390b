"""Saved replies (data/saved_replies.toml): what staff may start a reply to a customer from,
per kind of case and status, in the customer's language. Pure: read once per language,
checked against the lifecycles.

Each reply has an `id`: its translation in locale/<code>/data/saved_replies.toml is keyed by
it (`[complaint.received.on-it]`), as the other data files' words are. A reply without its
words in a language is an error (`MissingTranslation`), never English in silence.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from chalicelib.languages import SOURCE_LANGUAGE, data_word
from chalicelib.rules.lifecycles import CasePolicy, case_policy

NAME = "saved_replies"


@dataclass(frozen=True)
class SavedReply:
    id: str
    title: str
    text: str


def parse_saved_replies(
    text: str, policy: CasePolicy, language: str = SOURCE_LANGUAGE,
) -> dict[tuple[str, str], tuple[SavedReply, ...]]:
    """Each (kind, status)'s saved replies, their words in `language`; ValueError for a kind or
    status the lifecycles lack, or a reply without an id of its own."""
    found: dict[tuple[str, str], tuple[SavedReply, ...]] = {}
    for kind, statuses in tomllib.loads(text).items():
        if kind not in policy.lifecycles:
            raise ValueError(f"saved replies for {kind}, which is not a case")
        for status, replies in statuses.items():
            if status not in policy.lifecycles[kind].statuses:
                raise ValueError(f"saved replies for {kind} {status}, which is not one of its statuses")
            ids = [str(reply.get("id", "")) for reply in replies]
            if "" in ids or len(set(ids)) != len(ids):
                raise ValueError(f"every saved reply for {kind} {status} needs an id of its own")
            found[(kind, status)] = tuple(_reply(kind, status, reply, language) for reply in replies)
    return found


def _reply(kind: str, status: str, reply: dict[str, Any], language: str) -> SavedReply:
    where = f"{kind}.{status}.{reply['id']}"
    return SavedReply(
        str(reply["id"]),
        str(data_word(language, NAME, f"{where}.title", reply["title"])).strip(),
        str(data_word(language, NAME, f"{where}.text", reply["text"])).strip(),
    )


@cache
def saved_replies(language: str = SOURCE_LANGUAGE) -> dict[tuple[str, str], tuple[SavedReply, ...]]:
    return parse_saved_replies(
        resources.files("chalicelib").joinpath(f"data/{NAME}.toml").read_text(), case_policy(), language)


def for_status(kind: str, status: str, language: str = SOURCE_LANGUAGE) -> tuple[SavedReply, ...]:
    """The saved replies of a case's status, in the customer's language."""
    return saved_replies(language).get((kind, status), ())
