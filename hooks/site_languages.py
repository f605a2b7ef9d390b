"""The site's words in each language, from the gettext catalogs in backend/chalicelib/locale/.

mkdocs-static-i18n builds the site once per language (English at /, the others
under /<code>/) and sets `theme.language` for each build. This hook gives every
build its words:

- our templates call `_("English words")`; `_` is the `site` catalog's
  translation for the language of the build under way;
- the navigation's section titles and the site's name and description come
  from the same catalog, so a new language needs no list of them in
  mkdocs.yml, only its one line under the i18n plugin's `languages`;
- each language's pages search that language's own index (/hi/search/, which
  hooks/search_synonyms.py writes), not the English one;
- each language keeps its own "page not found" page (/hi/404.html): every
  build writes the theme's 404.html at the site's root, so the English one is
  put back once the other languages are built;
- a page names its versions in other languages in the sitemap (the i18n
  plugin's, with `hreflang` for every page) and in the language switcher's
  links, not in `<link rel="alternate" hreflang>` in its head: Material's
  script fetches `sitemap.xml` beside every such link (/contact/sitemap.xml),
  which does not exist, so every page view cost two requests answered with
  the 404 page (about 30 kB each here and on CloudFront).

A word without its translation stops the build (chalicelib.languages).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chalicelib.languages import SOURCE_LANGUAGE, MissingTranslation, site_build_language, translator
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority


def site_gettext(config: Any) -> Any:
    return translator(site_build_language(config), "site")


def _section_titles(nav: list[Any]) -> list[str]:
    titles: list[str] = []
    for entry in nav:
        if isinstance(entry, dict):
            for title, children in entry.items():
                titles.append(title)
                if isinstance(children, list):
                    titles.extend(_section_titles(children))
    return titles


@event_priority(100)  # before the i18n plugin reads each language's settings
def on_config(config: Any) -> Any:
    i18n = config.plugins.get("i18n")
    if i18n is None:
        return config
    titles = _section_titles(config.get("nav") or [])
    try:
        for language in i18n.config.languages:
            if language.locale == SOURCE_LANGUAGE:
                continue
            words = translator(language.locale, "site")
            language.nav_translations = {title: words(title) for title in titles}
            language.site_name = words(config.site_name)
            language.site_description = words(config.site_description)
    except MissingTranslation as error:
        raise PluginError(str(error)) from None
    return config




def N_(text: str) -> str:
    """gettext's usual name for "a message, translated later": marks it for the catalog."""
    return text


# The sentences of the forms' scripts (site/assets/javascripts/aftercare-*.js), which
# reads them from the page: English pages need none, the others carry their translation.
SCRIPT_WORDS = (
    N_("You have 1 character remaining"), N_("You have {n} characters remaining"),
    N_("You have 1 character too many"), N_("You have {n} characters too many"),
    N_("We could not record your answer. Please try again."), N_("Error:"),
    N_("Please try again in a moment."), N_("Please try again in 1 second."),
    N_("Please try again in {n} seconds."),
    N_("That is more than we can take in one form. Please shorten your message."),
    N_("Your browser sent the form in a way we could not read. Please try again."),
    N_("We are very busy right now; nothing was lost."),
    N_("Something went wrong on our side ({status}). What you typed is still here; please try again."),
    N_("Your product is under warranty"), N_("Your warranty has ended"), N_("Product"),
    N_("Registered on"), N_("Warranty ends on"), N_("Warranty ended on"), N_("Your {request}"),
    N_("request"), N_("Reference"), N_("Received on"), N_("Handled by"), N_("Visit window"),
    N_("What happens next"), N_("We promised this by"), N_("What has happened so far"),
    N_("Messages from us"), N_("Thank you, we have your {form}"), N_("form"), N_("Your reference is"),
    N_(". Please quote it if you contact us about this."), N_("Warranty covers until"),
    N_("Return window"), N_("open until {date}"), N_("ended on {date}"), N_("Warranty"),
    N_("covers it until {date}"),
    N_("We could not reach our server. Check your connection and try again; what you typed is still here."),
    # aftercare-attachments.js
    N_("Uploaded"), N_("Not uploaded: storage refused the file. Remove it and try again."),
    N_("Not uploaded: we could not reach storage. Remove it and try again."),
    N_("“{name}” is not a JPEG, PNG, HEIC or PDF file, so it was not added."),
    N_("“{name}” is larger than {size}, the most a file can be."), N_("“{name}” is empty."),
    N_("You can attach at most {n} files."), N_("Uploading {name}"), N_("Uploading…"), N_("Remove"),
    N_("Remove {name}"), N_("Not uploaded: {reason} Remove it and try again."), N_("refused"),
    N_("Not uploaded: we could not reach our server. Remove it and try again."),
    N_("Wait until your files have finished uploading, then send the form."),
    N_("Remove the files that were not uploaded, then send the form."),
)

CONFIG_BASE = re.compile(r'(<script id="__config" type="application/json">\{.*?"base": ")([^"]*)(")')
NOT_FOUND = "404.html"
_state: dict[str, str] = {}


# Words that our settings put in every page's markup in English: the toc extension's
# `permalink_title` (mkdocs.yml) and the search dialog's name (hooks/theme_fixes.py).
MARKUP_WORDS = (
    ('title="{}"', N_("Link to this section")),
    ('role="dialog" aria-label="{}"', N_("Search")),
)

HEAD_ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def on_post_page(output: str, page: Any, config: Any) -> str:
    language = site_build_language(config)
    return own_search(markup_words(HEAD_ALTERNATE.sub("", output), language), language)


def markup_words(output: str, language: str) -> str:
    if language == SOURCE_LANGUAGE:
        return output
    words = _checked(translator(language, "site"))
    for markup, english in MARKUP_WORDS:
        output = output.replace(markup.format(english), markup.format(words(english)))
    return output


def own_search(output: str, language: str) -> str:
    """Point a page's search (Material's `base`) at its language's folder, where its index is."""
    if language == SOURCE_LANGUAGE:
        return output
    def moved(match: re.Match[str]) -> str:
        base = match.group(2).rstrip("/")
        # With its slash: Material resolves the index as a URL relative to the base.
        return f"{match.group(1)}{base}/{language}/{match.group(3)}"

    return CONFIG_BASE.sub(moved, output, count=1)


def on_post_template(output: str, template_name: str, config: Any) -> str:
    if template_name != NOT_FOUND:
        return output
    language = site_build_language(config)
    if language == SOURCE_LANGUAGE:
        _state[NOT_FOUND] = HEAD_ALTERNATE.sub("", output)
        return _state[NOT_FOUND]
    own = Path(config.site_dir) / language / NOT_FOUND
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(own_search(markup_words(HEAD_ALTERNATE.sub("", output), language), language),
                   encoding="utf-8")
    return _state.get(NOT_FOUND, output)  # the root's stays English


def on_env(env: Any, config: Any, files: Any) -> Any:
    words = _checked(site_gettext(config))
    env.globals["_"] = words
    language = site_build_language(config)
    env.globals["af_script_words"] = (
        None if language == SOURCE_LANGUAGE else {english: words(english) for english in SCRIPT_WORDS})
    return env


def _checked(words: Any) -> Any:
    def translate(message: str) -> str:
        try:
            return str(words(message))
        except MissingTranslation as error:
            raise PluginError(str(error)) from None

    return translate
