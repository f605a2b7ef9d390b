"""Catalog facts on the site: guide navigation, warranty terms, policy windows, AMC list.

The catalog (backend/chalicelib/data/catalog.toml) is the one home of these
facts; pages carry markers that this hook replaces at build time:

- `<!-- warranty-terms: <product id> -->` on its own line: that product's terms;
- `<!-- policy: <name> -->` inline: a number from the catalog's [policy] table;
- `<!-- amc-products -->` on its own line: the products with an AMC offer;
- `<!-- serial-location: <product id> -->` inline: where its serial number is,
  the words the forms' serial hint quotes too.

Templates find the [policy] table as `config.extra.policy`.
"""

from __future__ import annotations

import dataclasses
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
from chalicelib.rules.catalog import AfterSalesPolicy, Catalog, Product, parse_catalog
from mkdocs.exceptions import PluginError

CATALOG = Path("backend/chalicelib/data/catalog.toml")

WARRANTY_TERMS = re.compile(r"^<!--\s*warranty-terms:\s*([a-z0-9-]+)\s*-->[ \t]*$", re.MULTILINE)
POLICY_NUMBER = re.compile(r"<!--\s*policy:\s*([a-z_]+)\s*-->")
AMC_PRODUCTS = re.compile(r"^<!--\s*amc-products\s*-->[ \t]*$", re.MULTILINE)
SERIAL_LOCATION = re.compile(r"<!--\s*serial-location:\s*([a-z0-9-]+)\s*-->")

_state: dict[str, Catalog] = {}


def load_catalog(project_dir: Path) -> Catalog:
    """The backend's own reader, on the project's file (so `mkdocs serve` sees edits)."""
    return parse_catalog((project_dir / CATALOG).read_text())


def on_config(config: Any) -> Any:
    _state["catalog"] = load_catalog(Path(config.config_file_path).parent)
    # Templates quote the policy's windows too (the home page's warranty card).
    config.extra["policy"] = _state["catalog"].policy
    _add_guides_to_nav(config.get("nav") or [], list(_state["catalog"].products.values()))
    return config


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(Path(config.config_file_path).parent / CATALOG))
    return server


def _add_guides_to_nav(nav: list[Any], products: list[Product]) -> bool:
    """Append each product's guide to the nav section that holds guides/index.md."""
    for entry in nav:
        children = next(iter(entry.values())) if isinstance(entry, dict) else None
        if not isinstance(children, list):
            continue
        if "guides/index.md" in children:
            listed = {c if isinstance(c, str) else next(iter(c.values())) for c in children}
            children.extend(p.guide for p in products if p.guide not in listed)
            return True
        if _add_guides_to_nav(children, products):
            return True
    return False


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    language = site_build_language(config)
    try:
        return render_markers(markdown, page.file.src_uri, _state["catalog"], language)
    except MissingTranslation as error:
        raise PluginError(str(error)) from None


def render_markers(markdown: str, src_uri: str, catalog: Catalog, language: str = SOURCE_LANGUAGE) -> str:
    """Replace every catalog marker in one page's Markdown, in the page's language."""
    model = translator(language, "site")("model")
    products = catalog.products
    policy = catalog.policy
    numbers = {window.name: getattr(policy, window.name) for window in dataclasses.fields(policy)}

    def link(target: str) -> str:
        return posixpath.relpath(target, posixpath.dirname(src_uri) or ".")

    def product_of(match: re.Match[str]) -> Product:
        product_id = match.group(1)
        if product_id not in products:
            raise PluginError(f"{src_uri}: no product '{product_id}' in the catalog")
        return products[product_id]

    def warranty_terms(match: re.Match[str]) -> str:
        return warranty_terms_markdown(product_of(match), policy, link, language)

    def policy_number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in numbers:
            raise PluginError(f"{src_uri}: no '{name}' in the catalog's [policy] table")
        value = numbers[name]
        if isinstance(value, str):
            return str(data_word(language, "catalog", f"policy.{name}", value))
        return str(value)

    def amc_products(_match: re.Match[str]) -> str:
        offered = [p for p in products.values() if p.amc_offered]
        return "\n".join(
            f"- [{p.name}]({link(p.guide)}) ({category(p, language).lower()}, {model} {p.model})"
            for p in offered
        )

    markdown = WARRANTY_TERMS.sub(warranty_terms, markdown)
    markdown = AMC_PRODUCTS.sub(amc_products, markdown)
    def serial_location(match: re.Match[str]) -> str:
        english = product_of(match).serial_location
        return str(data_word(language, "catalog", f"products.{match.group(1)}.serial_location", english))

    markdown = SERIAL_LOCATION.sub(serial_location, markdown)
    return POLICY_NUMBER.sub(policy_number, markdown)


def category(product: Product, language: str) -> str:
    """A product's category in a language (the product's name stays as printed on it)."""
    return str(data_word(language, "catalog", f"products.{product.id}.category", product.category))


def _months(months: int, language: str = SOURCE_LANGUAGE) -> str:
    _ = translator(language, "site")
    if months % 12 == 0:
        years = months // 12
        words = _("{months} months ({years} years)") if years > 1 else _("{months} months ({years} year)")
        return words.format(months=months, years=years)
    return _("{months} months").format(months=months)


def warranty_terms_markdown(
    product: Product, policy: AfterSalesPolicy, link: Any, language: str = SOURCE_LANGUAGE
) -> str:
    _ = translator(language, "site")
    facts = {
        "name": product.name, "model": product.model, "serial": product.serial_example,
        "months": _months(product.warranty_months, language),
        "replacement_days": policy.replacement_window_days, "return_days": policy.return_window_days,
        "registration_days": policy.registration_window_days,
        "amc_available": data_word(language, "catalog", "policy.amc_available", policy.amc_available),
        "amc_link": link("policies/maintenance-contracts.md"), "returns_link": link("policies/returns.md"),
        "register_link": link("warranty/register.md"),
    }
    if product.amc_offered:
        amc = _(
            "offered for the {name}; you can take one out {amc_available}. See "
            "[annual maintenance contracts]({amc_link})."
        )
    else:
        amc = _("not offered for the {name}.")
    lines = [
        _("**{name}** (model {model}) at a glance:"),
        "",
        _("- **Warranty period:** {months} from the date of purchase. Repairs, parts and labour for "
          "faults in materials or manufacturing are free during this time."),
        _("- **Replacement instead of repair:** if a fault appears within {replacement_days} days "
          "of purchase."),
        _("- **Change of mind:** return it unused within {return_days} days of purchase; see "
          "[returns]({returns_link})."),
        _("- **Registration:** [register online]({register_link}) within {registration_days} days of "
          "purchase, with the serial number from the product's label (it looks like `{serial}`)."),
        _("- **Annual maintenance contract:** {amc}"),
    ]
    return "\n".join(line.format(**facts, amc=amc.format(**facts)) for line in lines)
