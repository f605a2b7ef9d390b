"""Search synonyms: "wifi" finds the guides that say "Wi-Fi".

Material's search (lunr, in the reader's browser) matches words as written.
Its plugin indexes any extra field named under `search: fields:` in
mkdocs.yml without showing it in results; after the index is written, this
hook fills that `synonyms` field of every section with the other words of each
group in hooks/search_synonyms.toml whose word appears in the section.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

SYNONYMS = Path(__file__).with_name("search_synonyms.toml")
FIELD = "synonyms"


def load_groups(path: Path = SYNONYMS) -> list[list[str]]:
    with path.open("rb") as synonyms_file:
        groups = tomllib.load(synonyms_file)["groups"]
    if not all(isinstance(g, list) and len(g) > 1 for g in groups):
        raise PluginError(f"{path.name}: every group needs at least two words")
    return groups


def word_pattern(word: str) -> re.Pattern[str]:
    """The word whole, in any case, with or without the spaces and dashes inside it."""
    parts = [re.escape(part) for part in re.split(r"[\s\-]+", word.strip()) if part]
    return re.compile(r"(?<!\w)" + r"[\s\-]?".join(parts) + r"(?!\w)", re.IGNORECASE)


def synonyms_for(text: str, groups: list[list[str]]) -> str:
    """The words of every group that `text` mentions, space-separated."""
    found: list[str] = []
    for group in groups:
        if any(word_pattern(word).search(text) for word in group):
            found.extend(word for word in group if word not in found)
    return " ".join(found)


def on_config(config: Any) -> Any:
    search = config.plugins.get("material/search") or config.plugins.get("search")
    if search is None or FIELD not in search.config.fields:
        raise PluginError(f"mkdocs.yml: the search plugin must declare the '{FIELD}' field")
    return config


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(SYNONYMS))
    return server


@event_priority(-100)  # after the search plugin has written its index
def on_post_build(config: Any) -> None:
    index_path = Path(config.site_dir) / "search" / "search_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    groups = load_groups()
    for doc in index["docs"]:
        words = synonyms_for(f"{doc.get('title', '')} {doc.get('text', '')}", groups)
        if words:
            doc[FIELD] = words
    index_path.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
