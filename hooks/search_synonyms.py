"""Search synonyms: "wifi" finds the guides that say "Wi-Fi"; "रिफंड" finds "रिफ़ंड".

Material's search (lunr, in the reader's browser) matches words as written.
Its plugin indexes any extra field named under `search: fields:` in
mkdocs.yml without showing it in results; after the index is written, this
hook fills that `synonyms` field of every section with the other words of each
group whose word appears in the section: hooks/search_synonyms.toml for the
English pages, and for each other language the `typed` words of its glossary
(backend/chalicelib/locale/<code>/glossary.toml), since lunr's Hindi rules
match whole words only and people type other spellings.

Each language then gets its own index beside its pages (/search/ for English,
/hi/search/ for Hindi), and hooks/site_languages.py points each page's search
there: a Hindi reader's results are Hindi pages, an English reader's English.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from chalicelib.languages import SOURCE_LANGUAGE, glossary, languages
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


def glossary_groups(language: str) -> list[list[str]]:
    """One group per glossary term: the term and the words people type for it."""
    return [[term[language], *term.get("typed", [])] for term in glossary(language) if term.get("typed")]


def language_of(location: str, others: tuple[str, ...]) -> str:
    first = location.split("/", 1)[0]
    return first if first in others else SOURCE_LANGUAGE


@event_priority(-100)  # after the search plugin (and the i18n plugin's last build) wrote the index
def on_post_build(config: Any) -> None:
    i18n = config.plugins.get("i18n")
    if i18n is not None and i18n.building:
        return  # one language's own build; the last pass, once every language is built, has every page
    index_path = Path(config.site_dir) / "search" / "search_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    others = languages()[1:]
    docs: dict[str, list[dict[str, Any]]] = {language: [] for language in languages()}
    for doc in index["docs"]:
        language = language_of(doc["location"], others)
        if language != SOURCE_LANGUAGE:
            doc["location"] = doc["location"].removeprefix(f"{language}/")
        docs[language].append(doc)
    for language, language_docs in docs.items():
        groups = load_groups() if language == SOURCE_LANGUAGE else glossary_groups(language)
        for doc in language_docs:
            words = synonyms_for(f"{doc.get('title', '')} {doc.get('text', '')}", groups)
            if words:
                doc[FIELD] = words
        path = index_path if language == SOURCE_LANGUAGE else (
            Path(config.site_dir) / language / "search" / "search_index.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**index, "docs": language_docs}, separators=(",", ":")),
                        encoding="utf-8")
