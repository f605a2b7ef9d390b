"""The help centre's own facts on the site: who the retailer is, how to reach a person, the guides.

The retailer's facts have one home, backend/chalicelib/data/retailer.toml,
read through chalicelib.rules.retailer. Templates (footer, home page, 404 page) find
them as `config.extra.retailer`; Markdown pages carry markers:

- `<!-- retailer: name -->` inline: one fact (name, legal_name, phone, email,
  privacy_email; phone and emails become links);
- `<!-- retailer-contact -->` on its own line: phone, hours, address and email;
- `<!-- product-guides -->` on its own line: a card per catalog product, with
  its category, linking to its guide.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from chalicelib.languages import (
    SOURCE_LANGUAGE,
    MissingTranslation,
    data_word,
    site_build_language,
    translator,
)
from chalicelib.rules.catalog import catalog
from chalicelib.rules.retailer import Retailer, retailer
from mkdocs.exceptions import PluginError

RETAILER_DATA = Path("backend/chalicelib/data/retailer.toml")

RETAILER_FACT = re.compile(r"<!--\s*retailer:\s*([a-z_]+)\s*-->")
RETAILER_CONTACT = re.compile(r"^<!--\s*retailer-contact\s*-->[ \t]*$", re.MULTILINE)
PRODUCT_GUIDES = re.compile(r"^<!--\s*product-guides\s*-->[ \t]*$", re.MULTILINE)


def on_config(config: Any) -> Any:
    retailer.cache_clear()
    config.extra["retailer"] = retailer()
    return config


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(Path(config.config_file_path).parent / RETAILER_DATA))
    return server


def on_env(env: Any, config: Any, files: Any) -> Any:
    """The footer's opening hours in the language of the build (the other facts are names and numbers)."""
    try:
        env.globals["retailer_hours"] = hours(config.extra["retailer"], site_build_language(config))
    except MissingTranslation as error:
        raise PluginError(str(error)) from None
    return env


def hours(shop: Retailer, language: str) -> list[str]:
    return list(data_word(language, "retailer", "contact.hours", list(shop.contact.hours)))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    try:
        language = site_build_language(config)
        return render_markers(markdown, page.file.src_uri, config.extra["retailer"], language)
    except MissingTranslation as error:
        raise PluginError(str(error)) from None


def render_markers(markdown: str, src_uri: str, shop: Retailer, language: str = SOURCE_LANGUAGE) -> str:
    def fact(match: re.Match[str]) -> str:
        name = match.group(1)
        facts = {
            "name": shop.name,
            "legal_name": shop.legal_name,
            "phone": f"[{shop.contact.phone}]({shop.contact.phone_link})",
            "email": f"[{shop.contact.email}](mailto:{shop.contact.email})",
            "privacy_email": f"[{shop.privacy_email}](mailto:{shop.privacy_email})",
        }
        if name not in facts:
            raise PluginError(f"{src_uri}: no retailer fact '{name}' (known: {', '.join(facts)})")
        return facts[name]

    markdown = RETAILER_CONTACT.sub(lambda _: contact_markdown(shop, language), markdown)
    markdown = PRODUCT_GUIDES.sub(lambda _: product_guides_markdown(src_uri, language), markdown)
    return RETAILER_FACT.sub(fact, markdown)


def contact_markdown(shop: Retailer, language: str = SOURCE_LANGUAGE) -> str:
    """How to reach a person, as a definition list (the contact page and the home page)."""
    contact = shop.contact
    _ = translator(language, "site")
    lines = [
        _("Phone"),
        f":   [{contact.phone}]({contact.phone_link})",
        "",
        _("Opening hours"),
        *[f":   {line}" for line in hours(shop, language)],
        "",
        _("Email"),
        f":   [{contact.email}](mailto:{contact.email})",
        "",
        _("Address"),
        f":   {shop.legal_name}<br>" + "<br>".join(contact.address),
    ]
    return "\n".join(lines)


def product_guides_markdown(src_uri: str, language: str = SOURCE_LANGUAGE) -> str:
    """One Material grid card per product: its name, linking to the guide, and its category."""
    here = posixpath.dirname(src_uri) or "."
    model = translator(language, "site")("model")
    cards = [
        f"-   **[{product.name}]({posixpath.relpath(product.guide, here)})**\n\n"
        f"    {category(product.id, product.category, language)} · {model} {product.model}"
        for product in catalog().products.values()
    ]
    return '<div class="grid cards" markdown>\n\n' + "\n\n".join(cards) + "\n\n</div>"


def category(product_id: str, english: str, language: str) -> str:
    """A product's category in a language, from the catalog's translation (product names stay as printed)."""
    return str(data_word(language, "catalog", f"products.{product_id}.category", english))
