"""The customer side's languages: gettext catalogs for words in code, translated data beside the data.

Each language other than English is one folder, `locale/<code>/`:

- `LC_MESSAGES/<domain>.po`: gettext catalogs (Babel), compiled when first
  read. `forms` holds the words of the form models (labels, hints, choices),
  `site` the words of the site's templates and build hooks, `answers` what the
  API and the emails say to a customer (errors, pages, email templates). The
  message id is the English text itself, so English needs no catalog.
- `data/<name>.toml`: the words of `data/<name>.toml` in that language, in the
  same tables and keys as the source, words only. Numbers, dates, addresses
  and product names stay in the source alone, so a translation cannot state
  another fact; a key the source lacks is refused.

Nothing falls back to English in silence: a word without its translation
raises `MissingTranslation`, which fails the site build.

The API answers in the language of the page a form came from (`answer_language`),
and emails in the language stored with the submission. English costs nothing:
Babel (catalogs, dates and numbers in a locale's words) is imported on the first
answer in another language, never by the API's cold start.
"""

from __future__ import annotations

import gettext
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).with_name("locale")
DATA_DIR = Path(__file__).with_name("data")
# The gettext domains: the form models' words, the site's (templates, hooks, scripts), and
# what the API and the emails answer a customer.
FORMS_DOMAIN, SITE_DOMAIN, ANSWERS = "forms", "site", "answers"
DOMAINS = (FORMS_DOMAIN, SITE_DOMAIN, ANSWERS)


# Which values of each data file are words a customer reads (dotted paths, `*` for any key or
# product id): these, and only these, have their translation in locale/<code>/data/<name>.toml.
# The rest (numbers, dates, names, addresses, patterns) are facts and have one home, the source.
DATA_WORDS: dict[str, tuple[str, ...]] = {
    "catalog": ("products.*.category", "products.*.serial_location", "policy.amc_available"),
    "retailer": ("contact.hours",),
    "lifecycles": ("promises.*.words", "kinds.*.statuses.*.words", "kinds.*.statuses.*.next_step"),
    "notifications": ("next_steps.*",),
    # Staff start a reply to the customer from these (the console's case page, in the case's language).
    "saved_replies": ("*.*.*.title", "*.*.*.text"),
    "data_policy": (
        "storage", "backups", "field_labels.*", "consent_record_labels.*", "lawful_bases.*.name",
        "kinds.*.title", "kinds.*.purpose", "kinds.*.who_can_see", "kinds.*.lawful_basis_why",
        "emails.service", "emails.processor", "emails.messages.*",
    ),
}


class MissingTranslation(LookupError):
    """A word the customer would see has no translation in their language."""


@cache
def languages() -> tuple[str, ...]:
    """English, then every language that has a folder of translations."""
    folders = sorted(p.name for p in LOCALE_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return (SOURCE_LANGUAGE, *folders)


@cache
def catalog(language: str, domain: str) -> gettext.NullTranslations:
    """One domain's compiled catalog for a language (English: the message ids themselves)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        raise MissingTranslation(f"no catalog {path.relative_to(LOCALE_DIR.parent)}")
    with path.open("rb") as po_file:
        messages = read_po(po_file, locale=language, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    translations.add_fallback(_Refuse(f"locale/{language}/LC_MESSAGES/{domain}.po"))
    return translations


class _Refuse(gettext.NullTranslations):
    """The last fallback of a catalog: a message it lacks is an error, not English."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def gettext(self, message: str) -> str:
        raise MissingTranslation(f"{self.where}: no translation of {message!r}")


def translator(language: str, domain: str) -> Callable[[str], str]:
    """A `gettext` for one language that refuses to hand back English for a missing word.

    A message may be translated to itself (a product's name stays as printed).
    """
    if language == SOURCE_LANGUAGE:
        return str
    translations = catalog(language, domain)

    def translate(message: str) -> str:
        return translations.gettext(message) if message else message

    return translate


@cache
def data_words(language: str, name: str) -> dict[str, Any]:
    """The translated words of `data/<name>.toml` ({} for English), checked against the source."""
    if language == SOURCE_LANGUAGE:
        return {}
    path = LOCALE_DIR / language / "data" / f"{name}.toml"
    if not path.exists():
        raise MissingTranslation(f"no translation file locale/{language}/data/{name}.toml")
    with path.open("rb") as words_file:
        words = tomllib.load(words_file)
    with (DATA_DIR / f"{name}.toml").open("rb") as source_file:
        source = tomllib.load(source_file)
    _check_words(words, _keyed(source), f"locale/{language}/data/{name}.toml")
    return words


def _keyed(source: Any) -> Any:
    """The source's arrays of tables addressed by each table's `id` (as translations write them)."""
    if isinstance(source, dict):
        return {key: _keyed(value) for key, value in source.items()}
    if isinstance(source, list) and source and all(isinstance(v, dict) and "id" in v for v in source):
        return {value["id"]: _keyed(value) for value in source}
    return source


def _check_words(words: Any, source: Any, where: str, path: str = "") -> None:
    if isinstance(words, dict):
        if not isinstance(source, dict):
            raise MissingTranslation(f"{where}: '{path}' is a table here but not in the source")
        for key, value in words.items():
            if key not in source:
                raise MissingTranslation(f"{where}: '{path}{key}' is not in the source")
            _check_words(value, source[key], where, f"{path}{key}.")
        return
    if isinstance(words, list):
        if not isinstance(source, list) or len(words) != len(source):
            raise MissingTranslation(f"{where}: '{path.rstrip('.')}' must have as many lines as the source")
        if not all(isinstance(w, str) for w in words):
            raise MissingTranslation(f"{where}: '{path.rstrip('.')}' must hold words only")
        return
    if not isinstance(words, str) or not isinstance(source, str):
        raise MissingTranslation(f"{where}: '{path.rstrip('.')}' must be words, as in the source")


def data_word(language: str, name: str, path: str, english: str) -> Any:
    """One word (or list of lines) of `data/<name>.toml` in a language; `path` is dotted."""
    if language == SOURCE_LANGUAGE:
        return english
    value: Any = data_words(language, name)
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise MissingTranslation(f"locale/{language}/data/{name}.toml: no '{path}'")
        value = value[key]
    return value


def with_words(language: str, name: str, source: dict[str, Any]) -> dict[str, Any]:
    """The parsed source of `data/<name>.toml` with its words in a language (facts untouched)."""
    return _merged(source, data_words(language, name)) if language != SOURCE_LANGUAGE else source


def _merged(source: Any, words: Any) -> Any:
    if isinstance(source, dict) and isinstance(words, dict):
        return {key: _merged(value, words[key]) if key in words else value for key, value in source.items()}
    if isinstance(source, list) and isinstance(words, dict):  # an array of tables, by id
        return [_merged(item, words.get(item.get("id"))) if item.get("id") in words else item
                for item in source]
    return words


@cache
def glossary(language: str) -> tuple[dict[str, Any], ...]:
    """A language's terms (locale/<code>/glossary.toml): what each English term is in that language."""
    if language == SOURCE_LANGUAGE:
        return ()
    path = LOCALE_DIR / language / "glossary.toml"
    if not path.exists():
        raise MissingTranslation(f"no glossary locale/{language}/glossary.toml")
    with path.open("rb") as glossary_file:
        terms = tomllib.load(glossary_file)["terms"]
    if not all(isinstance(t.get("en"), str) and isinstance(t.get(language), str) for t in terms):
        raise MissingTranslation(f"locale/{language}/glossary.toml: every term needs `en` and `{language}`")
    return tuple(terms)


def site_build_language(config: Any) -> str:
    """The language of the site build under way (mkdocs-static-i18n sets the theme's for each build)."""
    theme = getattr(config, "theme", None)
    return str((theme.get("language") if theme is not None else None) or SOURCE_LANGUAGE)


def source_words(name: str) -> dict[str, Any]:
    """The words of `data/<name>.toml` (DATA_WORDS), by dotted path: what each language translates."""
    with (DATA_DIR / f"{name}.toml").open("rb") as source_file:
        source = _keyed(tomllib.load(source_file))
    found: dict[str, Any] = {}

    def walk(value: Any, path: list[str]) -> None:
        dotted = ".".join(path)
        if any(_matches(pattern, path) for pattern in DATA_WORDS[name]):
            found[dotted] = value
        elif isinstance(value, dict):
            for key, child in value.items():
                walk(child, [*path, key])

    walk(source, [])
    return found


def _matches(pattern: str, path: list[str]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(p in ("*", key) for p, key in zip(parts, path, strict=True))


# -- Answering a customer in their language ----------------------------------------------


def answer_language(sent: object = None, accept_language: str | None = None) -> str:
    """The language to answer in: the one the page sent (its hidden `language` field), else the
    first of a client's `Accept-Language` we have, else English. Anything else is English."""
    known = languages()
    if isinstance(sent, str) and sent in known:
        return sent
    ranked = []
    for position, part in enumerate((accept_language or "")[:200].split(",")):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        ranked.append((-quality, position, tag.split("-")[0].strip().lower()))
    return next((tag for quality, _, tag in sorted(ranked) if tag in known and quality < 0), SOURCE_LANGUAGE)


def N_(message: str) -> str:
    """Marks English words for the `answers` catalog where they are written; says them as they are."""
    return message


class Said(str):
    """English words that remember how they were made: a message id of a gettext domain and the
    values put in it, so the edge can say them again in the customer's language (`say`).

    As a `str` they are the English sentence, so English code paths need nothing more. A value
    may itself be `Said` (a form's label, from the `forms` domain), a date or a whole number
    (written as the language writes them), a tuple (a list, joined) or plain text (a fact such as
    a product's name, kept as printed).
    """

    template: str
    domain: str
    values: Mapping[str, object]

    def __new__(cls, template: str, domain: str = ANSWERS, **values: object) -> Said:
        english = template.format(**{k: _said_in(SOURCE_LANGUAGE, v) for k, v in values.items()}) if (
            values) else template
        said = super().__new__(cls, english)
        said.template, said.domain, said.values = template, domain, values
        return said


def say(language: str, words: str) -> str:
    """Words in a language: `Said` through its own domain, plain English through `answers`."""
    if language == SOURCE_LANGUAGE:
        return str(words)
    if not isinstance(words, Said):
        return translator(language, ANSWERS)(str(words))
    said = translator(language, words.domain)(words.template)
    if not words.values:
        return said
    return said.format(**{key: _said_in(language, value) for key, value in words.values.items()})


def _said_in(language: str, value: object) -> str:
    if isinstance(value, Said):
        return say(language, value)
    if isinstance(value, tuple):
        return ", ".join(_said_in(language, item) for item in value)
    if isinstance(value, date):
        return day_in_words(value, language)
    if isinstance(value, int) and not isinstance(value, bool):
        return number_in_words(value, language)
    return str(value)


def day_in_words(
    day: date, language: str = SOURCE_LANGUAGE, *, weekday: bool = False, year: bool = True,
) -> str:
    """A date as people write it: 7 December 2026, 7 दिसंबर 2026 (the weekday first, the year
    left out, if asked)."""
    if language == SOURCE_LANGUAGE:
        return f"{f'{day:%A} ' if weekday else ''}{day.day} {day:%B}{f' {day:%Y}' if year else ''}"
    from babel.dates import format_date

    pattern = f"{'EEEE ' if weekday else ''}d MMMM{' y' if year else ''}"
    return str(format_date(day, pattern, locale=language))


def number_in_words(number: int, language: str = SOURCE_LANGUAGE) -> str:
    """A number as the language writes it (Hindi groups lakhs: 1,00,000)."""
    if language == SOURCE_LANGUAGE:
        return str(number)
    from babel.numbers import format_decimal

    return str(format_decimal(number, locale=language))


def language_name(language: str) -> str:
    """A language as staff read it, in English: English, Hindi (hi)."""
    if language == SOURCE_LANGUAGE:
        return "English"
    from babel import Locale

    return f"{Locale.parse(language).get_display_name('en')} ({language})"


def speaker(language: str) -> Callable[[str], str]:
    """`say` in one language, named `_` where a page or an email is written (the catalogs'
    keyword: the words inside `_(...)` are what the `answers` catalog translates)."""
    return lambda words: say(language, words)
