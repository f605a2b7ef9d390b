"""The help centre's facts on the built site: retailer settings, the AMC sentence, search synonyms."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from chalicelib.languages import data_word, languages
from chalicelib.rules.catalog import catalog
from chalicelib.rules.retailer import RetailerSettingError, parse_retailer, retailer

from .test_site_hooks import load_hook

REPO = Path(__file__).resolve().parents[2]
RETAILER_TOML = REPO / "backend/chalicelib/data/retailer.toml"


help_centre = load_hook("help_centre")
search_synonyms = load_hook("search_synonyms")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    site_dir = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site_dir)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    yield site_dir


def page_text(site_dir: Path, path: str) -> str:
    html = (site_dir / path / "index.html").read_text(encoding="utf-8")
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


# -- Point 3: when an AMC can be taken has one home ------------------------------------


def test_every_guide_and_the_amc_policy_say_when_an_amc_can_be_taken_in_the_catalog_s_words(
    built: Path,
) -> None:
    with (REPO / "backend/chalicelib/data/catalog.toml").open("rb") as catalog_file:
        sentence = tomllib.load(catalog_file)["policy"]["amc_available"]
    policy_page = page_text(built, "policies/maintenance-contracts")
    assert f"take one out {sentence}" in policy_page
    offered = [p for p in catalog().products.values() if p.amc_offered]
    assert offered
    for product in offered:
        guide = page_text(built, product.guide.removesuffix(".md"))
        assert f"take one out {sentence}" in guide, product.id
    every_page = " ".join(
        page_text(built, index.parent.relative_to(built).as_posix()) for index in built.rglob("index.html")
    )
    assert "once the warranty ends" not in every_page


# -- Point 12: every retailer fact is a setting in one file ------------------------------


def retailer_facts() -> list[str]:
    shop = retailer()
    return [
        shop.legal_name,
        shop.contact.phone,
        shop.contact.email,
        shop.privacy_email,
        *shop.contact.hours,
        *shop.contact.address,
    ]


def test_no_page_source_or_template_repeats_a_retailer_fact() -> None:
    sources = [*(REPO / "site").rglob("*.md"), *(REPO / "overrides").rglob("*.html")]
    sources.append(REPO / "backend/chalicelib/data/data_policy.toml")
    facts = [*retailer_facts(), retailer().name]
    copies = [
        (source.relative_to(REPO).as_posix(), fact)
        for source in sources
        for fact in facts
        if fact in source.read_text(encoding="utf-8")
    ]
    assert copies == []


def test_contact_page_and_every_footer_show_phone_hours_and_address_from_the_settings(
    built: Path,
) -> None:
    contact = page_text(built, "contact")
    for fact in retailer_facts():
        if fact != retailer().privacy_email:
            assert fact in contact
    pages = [p.parent.relative_to(built).as_posix() for p in built.rglob("index.html")]
    assert len(pages) > 10
    for path in pages:
        html = (built / path / "index.html").read_text(encoding="utf-8")
        footer = html[html.index('<footer class="md-footer"') :]
        assert retailer().contact.phone_link in footer, path
        language = path.split("/")[0] if path.split("/")[0] in languages() else "en"
        hours = data_word(language, "retailer", "contact.hours", list(retailer().contact.hours))
        for line in (*hours, *retailer().contact.address):
            assert line in unescape(footer), (path, line)


def test_privacy_notice_and_promises_name_the_settings_controller_and_privacy_contact(
    built: Path,
) -> None:
    for path in ("privacy", "policies/service-promises"):
        text = page_text(built, path)
        assert retailer().privacy_email in text, path
    assert retailer().legal_name in page_text(built, "privacy")


def test_retailer_markers_render_whatever_the_settings_say() -> None:
    shop = retailer()
    other = replace(
        shop,
        name="Corner Shop",
        contact=replace(shop.contact, phone="+44 113 496 0000", hours=("Every day, 8:00 to 20:00",)),
    )
    page = help_centre.render_markers(
        "Bought from <!-- retailer: name -->.\n\n<!-- retailer-contact -->\n", "contact.md", other
    )
    assert "Bought from Corner Shop." in page
    assert "[+44 113 496 0000](tel:+441134960000)" in page
    assert "Every day, 8:00 to 20:00" in page
    assert shop.contact.phone not in page


def test_an_unknown_retailer_marker_stops_the_build() -> None:
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="fax"):
        help_centre.render_markers("<!-- retailer: fax -->", "contact.md", retailer())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("phone = ", "phone = \"call us\" #"), "contact.phone"),
        (("email = \"privacy@", "email = \"not-an-address\" #"), "privacy.email"),
        (("name = ", "# name = "), "'name'"),
        # The privacy notice's regulator (issue 16, point 2).
        (("supervisory_authority = ", "# supervisory_authority = "), "privacy.supervisory_authority"),
        (('_url = "https://', '_url = "http://'), "privacy.supervisory_authority_url"),
        (("law = ", "# law = "), "privacy.law"),
    ],
)
def test_a_bad_retailer_setting_is_refused_with_its_name(change: tuple[str, str], message: str) -> None:
    text = RETAILER_TOML.read_text(encoding="utf-8").replace(*change, 1)
    with pytest.raises(RetailerSettingError, match=re.escape(message)):
        parse_retailer(text)


# -- Point 18: the home page lists every product's guide with its category ---------------


def test_home_page_has_a_guide_card_with_the_category_for_every_product(built: Path) -> None:
    html = (built / "index.html").read_text(encoding="utf-8")
    guides = html[html.index('id="product-guides"') :]
    cards = guides[: guides.index("</div>")]
    assert 'class="grid cards"' in guides[:2000]
    for product in catalog().products.values():
        link = product.guide.removesuffix(".md") + "/"
        assert f'href="{link}"' in cards, product.id
        assert f"{product.category} · model {product.model}" in unescape(cards), product.id


# -- Point 11: search synonyms ------------------------------------------------------------


@pytest.mark.parametrize("written", ["Wi-Fi", "wi fi", "WiFi", "WIFI"])
def test_a_word_is_found_however_it_is_spaced_or_hyphenated(written: str) -> None:
    groups = search_synonyms.load_groups()
    assert "wifi" in search_synonyms.synonyms_for(f"Connect to {written} first.", groups).split()


def test_a_word_inside_another_word_is_not_a_match() -> None:
    groups = search_synonyms.load_groups()
    assert "BT" not in search_synonyms.synonyms_for("Debts and doubts.", groups).split()


def test_the_built_index_gives_wifi_to_the_sections_that_say_wi_fi(built: Path) -> None:
    index = json.loads((built / "search/search_index.json").read_text(encoding="utf-8"))
    assert "synonyms" in index["config"]["fields"]
    saying_wi_fi = [d for d in index["docs"] if re.search(r"\bWi-Fi\b", d["text"] + d["title"])]
    assert saying_wi_fi
    for doc in saying_wi_fi:
        assert "wifi" in doc.get("synonyms", "").split(), doc["location"]
