"""The guides' diagrams (issue 24, point 3): every product's serial label drawn, in the site's
colours, with alternative text and a caption; the serial hint and the guides quote the catalog."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from chalicelib.rules.catalog import catalog
from mkdocs.exceptions import PluginError

from .test_site_help_centre import built  # noqa: F401 - the built site, a fixture
from .test_site_hooks import load_hook

diagrams = load_hook("diagrams")
REPO = Path(__file__).resolve().parents[2]
DRAWINGS = sorted(diagrams.DIAGRAMS.glob("*.svg"))
PRODUCTS = sorted(catalog().products)


@pytest.mark.parametrize("drawing", DRAWINGS, ids=[d.stem for d in DRAWINGS])
def test_each_diagram_names_no_colour_of_its_own_and_has_its_alternative_text(drawing: Path) -> None:
    svg = drawing.read_text(encoding="utf-8")
    assert diagrams.problems_of(drawing.stem, svg) == []
    assert 'stroke="currentColor"' in svg  # lines follow the text colour of either scheme
    assert 'class="af-mark"' in svg  # and what to look at is marked in the link colour


@pytest.mark.parametrize(("svg", "problem"), [
    ('<svg viewBox="0 0 9 9"><title>A box</title><rect fill="#000000"/></svg>', "colour"),
    ('<svg viewBox="0 0 9 9"><title>A box</title><rect stroke="black"/></svg>', "colour"),
    ('<svg viewBox="0 0 9 9"><rect stroke="currentColor"/></svg>', "<title>"),
    ('<svg viewBox="0 0 9 9"><title>A box</title><image href="https://example.com/a.png"/></svg>', "link"),
    ('<svg><title>A box</title></svg>', "viewBox"),
])
def test_a_drawing_that_breaks_the_rules_is_refused(svg: str, problem: str) -> None:
    found = " ".join(diagrams.problems_of("drawing", svg))
    assert problem in found, found
    with pytest.raises(PluginError):
        diagrams.figure("no-such-drawing", "A caption")


def figures_of(page: str) -> dict[str, str]:
    figure = r'<figure class="af-diagram" id="diagram-([a-z0-9-]+)">(.*?)</figure>'
    return dict(re.findall(figure, page, re.S))


@pytest.mark.parametrize("product_id", PRODUCTS)
def test_every_product_s_guide_shows_where_its_serial_label_is_and_more(
    built: Path, product_id: str,  # noqa: F811 - the fixture
) -> None:
    product = catalog().product(product_id)
    page = (built / product.guide.removesuffix(".md") / "index.html").read_text(encoding="utf-8")
    figures = figures_of(page)
    label = figures[f"{product_id}-serial-label"]
    [labelled_by] = re.findall(r'<svg[^>]* role="img" aria-labelledby="([^"]+)"', label)
    [alt] = re.findall(rf'<title id="{labelled_by}">([^<]+)</title>', label)
    [caption] = re.findall(r"<figcaption>([^<]+)</figcaption>", label)
    assert "serial" in alt.lower() and "serial" in caption.lower()
    assert len(figures) >= 2, sorted(figures)  # and a step where a picture saves words
    for each in figures.values():
        assert re.search(r"<figcaption>\S[^<]*</figcaption>", each)
    assert unescape(product.serial_location) in unescape(page)  # the guide quotes the catalog


def test_the_guides_take_the_serial_location_from_the_catalog() -> None:
    for product in catalog().products.values():
        source = (REPO / "site" / product.guide).read_text(encoding="utf-8")
        assert f"<!-- serial-location: {product.id} -->" in source, product.guide


def test_the_forms_serial_hint_says_where_each_product_s_label_is(
    built: Path,  # noqa: F811 - the fixture
) -> None:
    page = unescape((built / "warranty/register/index.html").read_text(encoding="utf-8"))
    [hint] = re.findall(r'id="f-warranty-registration-serial-number-hint"[^>]*>([^<]+)</div>', page)
    for product in catalog().products.values():
        assert f"{product.name}: {product.serial_location}" in hint
    assert "on the back or underneath" not in hint  # the old hint, which contradicted the guides
