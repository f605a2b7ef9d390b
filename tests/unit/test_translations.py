"""Every language is complete: every page, every word of the forms, templates, hooks and data.

Nothing on the customer side may fall back to English in silence. These tests
read the sources (no site build): the pages (page.md and page.<code>.md), the
gettext catalogs in backend/chalicelib/locale/<code>/LC_MESSAGES, the data
files' words in locale/<code>/data, and what the build hooks generate in each
language, and they hold every language to its glossary.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from chalicelib import languages as languages_module
from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS
from chalicelib.languages import (
    ANSWERS,
    DATA_WORDS,
    DOMAINS,
    LOCALE_DIR,
    data_word,
    data_words,
    glossary,
    languages,
    source_words,
    translator,
)
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.retailer import retailer
from chalicelib.rules.saved_replies import parse_saved_replies, saved_replies

from .test_site_hooks import load_hook

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
OTHER_LANGUAGES = languages()[1:]

form_markup = load_hook("form_markup")
privacy_notice = load_hook("privacy_notice")
catalog_markers = load_hook("catalog_markers")
help_centre = load_hook("help_centre")


def test_there_is_a_language_besides_english() -> None:
    assert "hi" in OTHER_LANGUAGES


# -- Pages --------------------------------------------------------------------------

LANGUAGE_SUFFIX = re.compile(r"\.([a-z]{2}(?:[-_][A-Za-z]+)?)\.md$")


def english_pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.md") if not LANGUAGE_SUFFIX.search(p.name))


def translation_of(page: Path, language: str) -> Path:
    return page.with_name(f"{page.stem}.{language}.md")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_page_has_its_translation(language: str) -> None:
    missing = [
        p.relative_to(SITE).as_posix() for p in english_pages() if not translation_of(p, language).exists()
    ]
    assert missing == [], f"pages without their {language} version: {missing}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_translation_is_left_without_its_english_page(language: str) -> None:
    orphans = [
        p.relative_to(SITE).as_posix() for p in SITE.rglob(f"*.{language}.md")
        if not p.with_name(p.name.replace(f".{language}.md", ".md")).exists()
    ]
    assert orphans == []


def split_page(text: str) -> tuple[dict[str, Any], str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


MARKER = re.compile(r"<!--.*?-->", re.DOTALL)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_translation_keeps_its_page_s_markers_links_and_settings(language: str) -> None:
    """Generated parts and links follow the language: the same markers, the same pages linked."""
    for page in english_pages():
        translated = translation_of(page, language)
        english_meta, english = split_page(page.read_text(encoding="utf-8"))
        meta, body = split_page(translated.read_text(encoding="utf-8"))
        where = translated.relative_to(SITE).as_posix()
        assert set(meta) == set(english_meta), where
        assert {k: v for k, v in meta.items() if k not in ("title", "description")} == {
            k: v for k, v in english_meta.items() if k not in ("title", "description")}, where
        # A form's button words and a diagram's caption are translated; the marker itself is not.
        markers = [re.sub(r'\s*(submit=)?"[^"]*"', "", m) for m in MARKER.findall(body)]
        assert markers == [re.sub(r'\s*(submit=)?"[^"]*"', "", m) for m in MARKER.findall(english)], where
        assert sorted(set(link_targets(body))) == sorted(set(link_targets(english))), where


def link_targets(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


# An English paragraph: at least this many words in Latin letters, and more Latin letters
# than letters of the language's own script. Product names, models and serials are short.
ENGLISH_WORDS = 4
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def english_paragraphs(markdown: str) -> list[str]:
    """Paragraphs, list items, table cells and headings still in English, markup left aside."""
    text = MARKER.sub(" ", markdown)
    text = re.sub(r"`[^`]*`", " ", text)  # code: serials, as printed
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<[^>]+>|\{[#.][^}]*\}", " ", text)  # HTML tags, attribute lists
    text = re.sub(r"^!!!\s+\S+", " ", text, flags=re.MULTILINE)  # admonition types (their title stays)
    found = []
    for chunk in re.split(r"\n\s*\n|\n\s*[-*]\s+|\n\s*\d+\.\s+|\|", text):
        words = LATIN_WORD.findall(chunk)
        latin = sum(len(w) for w in words)
        native = sum(1 for ch in chunk if ch.isalpha() and not ch.isascii())
        if len(words) >= ENGLISH_WORDS and latin > native:
            found.append(" ".join(chunk.split()))
    return found


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_translated_page_still_holds_an_english_paragraph(language: str) -> None:
    left = {}
    for page in english_pages():
        meta, body = split_page(translation_of(page, language).read_text(encoding="utf-8"))
        paragraphs = english_paragraphs(body) + english_paragraphs(str(meta.get("description", "")))
        if paragraphs:
            left[translation_of(page, language).relative_to(SITE).as_posix()] = paragraphs
    assert left == {}


def test_the_english_paragraph_check_finds_an_english_paragraph() -> None:
    assert english_paragraphs("यह हिन्दी है।\n\nThis sentence was never translated at all.\n")
    assert not english_paragraphs("Aura Book 14 लैपटॉप, मॉडल AB14-2025, के लिए गाइड।")


# -- Words of code: the gettext catalogs --------------------------------------------


def catalog_messages(language: str, domain: str) -> dict[str, str]:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as po_file:
        return {m.id: m.string for m in read_po(po_file) if m.id and not m.fuzzy}


def form_words() -> set[str]:
    """Every word the forms show that comes from the form models: titles, labels, hints, choices."""
    words: set[str] = set()
    for spec in form_markup.form_specs().values():
        words.add(spec.title)
        schema = spec.model.model_json_schema()
        for name, prop in schema["properties"].items():
            field = form_markup._resolve(prop, schema.get("$defs", {}))
            words.add(field.get("title") or name.replace("_", " ").capitalize())
            words.update(filter(None, [field.get("description")]))
            for holder in (field, field.get("items") if isinstance(field.get("items"), dict) else None):
                if holder:
                    words.update((holder.get("x-labels") or {}).values())
    return words


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_form_string_has_its_translation(language: str) -> None:
    translated = catalog_messages(language, "forms")
    missing = sorted(w for w in form_words() if not translated.get(w))
    assert missing == [], f"locale/{language}/LC_MESSAGES/forms.po lacks: {missing}"


# Keywords our hooks use for the `site` catalog besides `_`: Words.site, the privacy
# notice's `say` and `N_`, which marks the forms' script's sentences.
SITE_KEYWORDS = {"_": None, "site": None, "say": None, "N_": None}


def site_words() -> set[str]:
    """Every word of our templates and build hooks, the navigation's titles and the site's name."""
    words: set[str] = set()
    for folder, method in (("hooks", "python"), ("overrides", "jinja2")):
        found = extract_from_dir(
            REPO / folder, method_map=[(f"**.{'py' if method == 'python' else 'html'}", method)],
            keywords=SITE_KEYWORDS,
        )
        words.update(message for _file, _line, message, _comments, _context in found if message)
    # BaseLoader: only the nav and names are read; it ignores the file's !tags.
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506
    words.update([config["site_name"], config["site_description"], *section_titles(config["nav"])])
    return words


def section_titles(nav: list[Any]) -> list[str]:
    return [
        title for entry in nav if isinstance(entry, dict) for title, children in entry.items()
        for title in [title, *(section_titles(children) if isinstance(children, list) else [])]
    ]


def test_the_site_words_include_templates_hooks_and_navigation() -> None:
    words = site_words()
    expected = {"Was this page helpful?", "Opening hours", "Choose one", "Product guides", "Visit window"}
    assert expected <= words


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_site_string_has_its_translation(language: str) -> None:
    translated = catalog_messages(language, "site")
    missing = sorted(w for w in site_words() if not translated.get(w))
    assert missing == [], f"locale/{language}/LC_MESSAGES/site.po lacks: {missing}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_a_translation_keeps_the_placeholders_of_its_english(language: str, domain: str) -> None:
    broken = [
        english for english, words in catalog_messages(language, domain).items()
        if sorted(re.findall(r"\{\w*\}", english)) != sorted(re.findall(r"\{\w*\}", words))
    ]
    assert broken == []


# What the API and the emails say to a customer: the `answers` catalog. Python's own words are
# marked `_(...)` (a page's), `N_(...)` (a message kept for later) or `Said(...)` (a message with
# values); read from the source with a pattern, as they sit inside f-strings too. The email
# templates' `_(...)` are read by Babel's Jinja extractor.
BACKEND = REPO / "backend"
CHALICELIB = BACKEND / "chalicelib"
STAFF_SIDE = ("console", "staff")  # the staff side stays in English
_LITERAL = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
ANSWER_CALL = re.compile(rf"(?<![\w.])(?:_|N_|Said)\(\s*((?:{_LITERAL}\s*)+)[,)]")
EMAIL_TEMPLATES = CHALICELIB / "notify" / "emails" / "templates"


def answer_words() -> dict[str, str]:
    """Every word the API and the emails say to a customer, and where it is written."""
    words: dict[str, str] = {}
    sources = [BACKEND / "app.py", *(p for p in CHALICELIB.rglob("*.py")
                                     if p.relative_to(CHALICELIB).parts[0] not in STAFF_SIDE)]
    for path in sources:
        for found in ANSWER_CALL.finditer(path.read_text(encoding="utf-8")):
            words.setdefault(ast.literal_eval(f"({found.group(1)})"), path.relative_to(BACKEND).as_posix())
    found_in_templates = extract_from_dir(
        EMAIL_TEMPLATES, method_map=[("**.txt", "jinja2"), ("**.html", "jinja2")], keywords={"_": None},
        options_map={"**": {"trim_blocks": "true", "lstrip_blocks": "true"}},
    )
    for file, _line, message, _comments, _context in found_in_templates:
        words.setdefault(message, f"templates/{file}")
    # A label in a message leaves out its "(optional)": that shorter label is an answer's word.
    for form in [*FORMS.values(), TRACK, WARRANTY_STATUS]:
        for info in form.model.model_fields.values():
            if info.title and info.title.endswith(" (optional)"):
                words.setdefault(info.title.removesuffix(" (optional)"), f"forms: {form.kind}")
    return words


def test_the_answer_words_include_errors_pages_and_email_templates() -> None:
    words = answer_words()
    expected = {
        "Enter an email address like name@example.com.",  # a validator's message
        "{label} is required.",  # a message with values
        "There is a problem with your form",  # a page of the no-JS path
        "Hello,", "What you sent us",  # email templates
        "We found no warranty for that serial number and email address. "
        "Check both against your registration, or send us an enquiry.",  # the app's refusals
        "Your visit is booked",  # a case update's subject
        "Phone number",  # an optional field as a message names it
    }
    assert expected <= set(words)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_answer_and_email_string_has_its_translation(language: str) -> None:
    translated = catalog_messages(language, ANSWERS)
    missing = sorted(f"{where}: {words}" for words, where in answer_words().items()
                     if not translated.get(words))
    assert missing == [], f"locale/{language}/LC_MESSAGES/{ANSWERS}.po lacks: {missing}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_catalog_keeps_a_word_nothing_says_any_more(language: str) -> None:
    """A sentence changed in the code leaves its old translation behind: it is found here."""
    assert sorted(set(catalog_messages(language, ANSWERS)) - set(answer_words())) == []


# -- Words of data: beside each data file ---------------------------------------------


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("name", sorted(DATA_WORDS))
def test_every_word_of_the_data_files_has_its_translation(language: str, name: str) -> None:
    missing = []
    for path, english in source_words(name).items():
        try:
            words = data_word(language, name, path, english)
        except LookupError:
            missing.append(path)
            continue
        if isinstance(english, list):
            assert isinstance(words, list) and len(words) == len(english), path
    assert missing == [], f"locale/{language}/data/{name}.toml lacks: {missing}"


def test_the_data_check_covers_every_saved_reply() -> None:
    """Each saved reply's title and text are words each language translates (DATA_WORDS)."""
    words = source_words("saved_replies")
    offered = [(f"{kind}.{status}.{reply.id}", reply)
               for (kind, status), replies in saved_replies().items() for reply in replies]
    assert offered and len(words) == 2 * len(offered)
    for where, reply in offered:
        assert (words[f"{where}.title"], words[f"{where}.text"]) == (reply.title, reply.text)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_a_saved_reply_without_its_translation_is_missing_not_english(
    language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One reply taken out of a language's saved_replies.toml: the data check names it, and the
    console's replies in that language refuse to load rather than offer it in English."""
    folder = tmp_path / language / "data"
    folder.mkdir(parents=True)
    with (LOCALE_DIR / language / "data" / "saved_replies.toml").open("rb") as words_file:
        translated = tomllib.load(words_file)
    kind, statuses = next(iter(translated.items()))
    status, replies = next(iter(statuses.items()))
    reply_id = next(iter(replies))
    del replies[reply_id]
    (folder / "saved_replies.toml").write_text(toml_of(translated), encoding="utf-8")
    monkeypatch.setattr(languages_module, "LOCALE_DIR", tmp_path)
    data_words.cache_clear()
    try:
        with pytest.raises(AssertionError, match=f"lacks: \\['{kind}.{status}.{reply_id}.title'"):
            test_every_word_of_the_data_files_has_its_translation(language, "saved_replies")
        source = (REPO / "backend" / "chalicelib" / "data" / "saved_replies.toml").read_text(encoding="utf-8")
        with pytest.raises(LookupError, match=f"{kind}.{status}.{reply_id}"):
            parse_saved_replies(source, case_policy(), language)
    finally:
        data_words.cache_clear()


def toml_of(tables: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """A translation file's tables of words written back as TOML (strings only, as they hold)."""
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in tables.items()
             if isinstance(value, str)]
    text = (f"[{'.'.join(path)}]\n" if path and lines else "") + "".join(line + "\n" for line in lines)
    return text + "".join(toml_of(value, (*path, key)) for key, value in tables.items()
                          if isinstance(value, dict))


# -- What the hooks generate, in each language -------------------------------------


def generated_markdown(language: str) -> dict[str, str]:
    """Every generated part of the site, as the hooks write it for a page in `language`."""
    shop = retailer()
    parts = {
        "contact facts": help_centre.contact_markdown(shop, language),
        "product cards": help_centre.product_guides_markdown("index.md", language),
        "privacy notice": privacy_notice.notice_markdown(
            privacy_notice.load_policy(REPO, language), {"enquiry": "contact.md"}, language=language),
        "AMC products": catalog_markers.render_markers(
            "<!-- amc-products -->", "policies/maintenance-contracts.md", catalog(), language),
    }
    for product in catalog().products.values():
        parts[f"warranty terms of {product.id}"] = catalog_markers.render_markers(
            f"<!-- warranty-terms: {product.id} -->", product.guide, catalog(), language)
    words = form_markup.Words(language)
    for kind, spec in form_markup.form_specs().items():
        parts[f"form {kind}"] = form_markup.render_form(spec, form_markup.product_names(), words=words)
    return parts


def without_facts(text: str) -> str:
    """A generated part without the facts that stay as written: the retailer's names and address."""
    shop = retailer()
    for fact in (shop.legal_name, shop.name, *shop.contact.address):
        text = text.replace(fact, " ")
    return text


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_generated_part_is_left_in_english(language: str) -> None:
    left = {name: found for name, text in generated_markdown(language).items()
            if (found := english_paragraphs(without_facts(text)))}
    assert left == {}


def test_the_generated_english_is_seen_as_english() -> None:
    """The check above can fail: the same parts in English are caught."""
    english = generated_markdown("en")
    assert english_paragraphs(without_facts(english["privacy notice"]))
    assert english_paragraphs(without_facts(english["form enquiry"]))


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_forms_in_another_language_post_to_the_same_routes_and_say_their_language(language: str) -> None:
    for kind, spec in form_markup.form_specs().items():
        html = form_markup.render_form(spec, form_markup.product_names(), words=form_markup.Words(language))
        assert f'action="{spec.action}"' in html, kind
        assert f'<input type="hidden" name="language" value="{language}">' in html, kind


def test_english_forms_carry_no_language_field() -> None:
    for spec in form_markup.form_specs().values():
        assert 'name="language"' not in form_markup.render_form(spec, form_markup.product_names())


def test_a_missing_translation_is_an_error_not_english() -> None:
    words = translator("hi", "site")
    with pytest.raises(LookupError):
        words("A sentence nobody has translated")


# -- One glossary -----------------------------------------------------------------------


def pairs(language: str) -> list[tuple[str, str, str]]:
    """(where, English, translation) for every word of the catalogs and the data files."""
    found = [
        (f"{domain}.po", english, words)
        for domain in DOMAINS for english, words in catalog_messages(language, domain).items()
    ]
    for name in DATA_WORDS:
        for path, english in source_words(name).items():
            words = data_word(language, name, path, english)
            found += [(f"data/{name}.toml: {path}", e, w) for e, w in zip(
                english if isinstance(english, list) else [english],
                words if isinstance(words, list) else [words], strict=True)]
    return found


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_catalog_and_data_file_says_each_term_as_the_glossary_does(language: str) -> None:
    stray = []
    for term in glossary(language):
        english = re.compile(rf"\b(?:{term['en']})\b", re.IGNORECASE)
        accepted = [term[language], *term.get("accepted", [])]
        for where, source, words in pairs(language):
            prose = re.sub(r"/\S*", " ", source)  # a path such as /guides/... is not the word
            prose = re.sub(r"\{\w*\}", " ", prose)  # nor a value put in, such as {reference}
            if english.search(prose) and not any(a in words for a in accepted):
                stray.append((where, source, term[language]))
    assert stray == []


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_page_or_catalog_uses_a_word_the_glossary_avoids(language: str) -> None:
    texts = {p.relative_to(SITE).as_posix(): p.read_text(encoding="utf-8")
             for p in SITE.rglob(f"*.{language}.md")}
    texts.update({where + ": " + english: words for where, english, words in pairs(language)})
    used = [
        (where, word) for term in glossary(language) for word in term.get("avoid", [])
        for where, text in texts.items() if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
    ]
    assert used == []


def test_the_glossary_keeps_product_names_as_printed() -> None:
    for language in OTHER_LANGUAGES:
        for product in catalog().products.values():
            assert translator(language, "forms")(product.name) == product.name
        with (LOCALE_DIR / language / "data" / "catalog.toml").open("rb") as words_file:
            assert "name" not in str(tomllib.load(words_file).get("products", {}))
