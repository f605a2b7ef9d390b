"""Diagrams in the guides: hand-written SVG files, drawn into the page with a caption.

A page asks for one with a marker on its own line:

    <!-- diagram: purewash-8-transit-bolts "Where the four transit bolts are." -->

The file is site/assets/images/diagrams/<name>.svg. Its `<title>` is the
alternative text; the marker's words are the visible caption. The SVG goes
into the page itself rather than through an `<img>`: only then does
`currentColor` follow the text colour, and the site's colour variables
(assets/stylesheets/aftercare.css, `.af-diagram`) follow the light or dark
scheme the reader chose. So a diagram names no colour of its own: lines and
words are `currentColor`, the parts to look at carry the class `af-mark`, a
surface the class `af-paper`. The build refuses a diagram that breaks these
rules, so a new drawing cannot slip past them.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

DIAGRAMS = Path(__file__).resolve().parents[1] / "site/assets/images/diagrams"
DIAGRAM_MARKER = re.compile(r'<!--\s*diagram:\s*([a-z0-9-]+)\s+"([^"<>]+)"\s*-->')
SVG_ROOT = re.compile(r"<svg\b([^>]*)>", re.S)
TITLE = re.compile(r"<title>([^<]+)</title>")
# A colour written into a drawing would not change with the scheme; a reference
# outward would be a request to another host, or a file the page does not load.
COLOUR = re.compile(r'(?:fill|stroke|color|stop-color)\s*[=:]\s*"?\s*(?!none|currentColor|inherit)[#a-z(]',
                    re.I)
FORBIDDEN = re.compile(r"<script|<style|<image|<foreignObject|\bhref=|\bstyle=|url\(|@import", re.I)


def diagram_file(name: str) -> Path:
    return DIAGRAMS / f"{name}.svg"


def problems_of(name: str, svg: str) -> list[str]:
    """Why a drawing cannot go into a page as it is (empty when it can)."""
    found = []
    root = SVG_ROOT.search(svg)
    if root is None or "viewBox=" not in root.group(1):
        found.append("no <svg> root with a viewBox")
    if not TITLE.search(svg) or not TITLE.search(svg).group(1).strip():  # type: ignore[union-attr]
        found.append("no <title> (its alternative text)")
    if COLOUR.search(svg):
        found.append("a colour of its own (use currentColor, or the classes af-mark and af-paper)")
    if FORBIDDEN.search(svg):
        found.append("a script, style, image or link (a diagram is lines, shapes and words)")
    return [f"{name}.svg: {problem}" for problem in found]


def figure(name: str, caption: str) -> str:
    """The figure a marker stands for: the drawing, named by its title, and the caption."""
    path = diagram_file(name)
    if not path.is_file():
        raise PluginError(f"no diagram {path.name} in {DIAGRAMS}")
    svg = path.read_text(encoding="utf-8")
    problems = problems_of(name, svg)
    if problems:
        raise PluginError("; ".join(problems))
    svg = svg[svg.index("<svg"):].strip()  # no XML declaration or comment inside a page
    title_id = f"diagram-{name}-title"
    svg = TITLE.sub(lambda m: f'<title id="{title_id}">{m.group(1)}</title>', svg, count=1)
    svg = SVG_ROOT.sub(
        lambda m: f'<svg{m.group(1)} class="af-diagram__art" role="img" aria-labelledby="{title_id}" '
                  'focusable="false">', svg, count=1)
    return (f'<figure class="af-diagram" id="diagram-{name}">\n{svg}\n'
            f"<figcaption>{html.escape(caption)}</figcaption>\n</figure>")


def render_diagrams(content: str) -> str:
    return DIAGRAM_MARKER.sub(lambda m: figure(m.group(1), m.group(2)), content)


def on_page_content(content: str, page: Any, config: Any, files: Any) -> str:
    try:
        return render_diagrams(content)
    except PluginError as error:
        raise PluginError(f"{page.file.src_uri}: {error}") from None


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(DIAGRAMS))
    return server
