"""Saved replies (data/saved_replies.toml): what staff may start a reply to a customer from,
per kind of case and status. Pure: read once, checked against the lifecycles."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from chalicelib.rules.lifecycles import CasePolicy, case_policy


@dataclass(frozen=True)
class SavedReply:
    title: str
    text: str


def parse_saved_replies(text: str, policy: CasePolicy) -> dict[tuple[str, str], tuple[SavedReply, ...]]:
    """Each (kind, status)'s saved replies; ValueError for a kind or status the lifecycles lack."""
    found: dict[tuple[str, str], tuple[SavedReply, ...]] = {}
    for kind, statuses in tomllib.loads(text).items():
        if kind not in policy.lifecycles:
            raise ValueError(f"saved replies for {kind}, which is not a case")
        for status, replies in statuses.items():
            if status not in policy.lifecycles[kind].statuses:
                raise ValueError(f"saved replies for {kind} {status}, which is not one of its statuses")
            found[(kind, status)] = tuple(
                SavedReply(str(reply["title"]).strip(), str(reply["text"]).strip()) for reply in replies)
    return found


@cache
def saved_replies() -> dict[tuple[str, str], tuple[SavedReply, ...]]:
    return parse_saved_replies(
        resources.files("chalicelib").joinpath("data/saved_replies.toml").read_text(), case_policy())


def for_status(kind: str, status: str) -> tuple[SavedReply, ...]:
    return saved_replies().get((kind, status), ())
