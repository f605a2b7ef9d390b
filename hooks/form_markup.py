"""The site's HTML forms, rendered from the backend's form models at build time.

A page asks for a form with a marker, `<!-- form: enquiry -->`, optionally with
the button's words: `<!-- form: warranty_status submit="Check my warranty" -->`.
Each model's JSON schema gives the fields: `title` is the label, `description`
the hint, `x-widget`, `x-input-type`, `x-autocomplete` and `x-labels` shape the
control (`x-hint-per-product`: a hint the site's script narrows to the product
chosen), `required`, `enum`, `minimum` and `maximum` the rules; this hook turns
them into a view of each field and `overrides/partials/af-form.html` draws it,
in the theme's own Jinja environment. The form posts to `/api` + the kind's
path, so it works without JavaScript; the site's script enhances it
(assets/javascripts/aftercare-forms.js).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from chalicelib.languages import SOURCE_LANGUAGE, MissingTranslation, site_build_language, translator
from chalicelib.web.posts import API_BASE, HONEYPOT_FIELD, LANGUAGE_FIELD
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

FORM_PARTIAL = "partials/af-form.html"
# The API re-renders a refused form on its own page (chalicelib/pages.py): the
# build leaves a copy of each form's page there, its links made absolute so they
# work from the API's address. Generated at every build, never committed.
SITE_PAGES = Path(__file__).resolve().parents[1] / "backend/chalicelib/templates/site"
RELATIVE_LINK = re.compile(r'(\s(?:href|src|action)=")(?![#/]|[a-z][a-z0-9+.-]*:)([^"]*)"')
FORM_MARKER = re.compile(r'<!--\s*form:\s*([a-z_]+)(?:\s+submit="([^"<>]*)")?\s*-->')
# Choices up to this many are radio buttons (all visible at once); more, a list box.
MAX_RADIOS = 5


@dataclass(frozen=True)
class Words:
    """A form's words in one language: the model's own (`forms` catalog) and the site's (`site`)."""

    language: str = SOURCE_LANGUAGE

    def form(self, text: str) -> str:
        return self._translate("forms", text)

    def site(self, text: str) -> str:
        return self._translate("site", text)

    def _translate(self, domain: str, text: str) -> str:
        try:
            return str(translator(self.language, domain)(text))
        except MissingTranslation as error:
            raise PluginError(str(error)) from None


@dataclass(frozen=True)
class FormSpec:
    """What a page needs to render one form."""

    kind: str
    action: str
    model: Any
    title: str
    lookup: bool = False


def form_specs() -> dict[str, FormSpec]:
    """Every form the backend accepts: the intake kinds and the look-ups (which store nothing)."""
    from chalicelib.forms import FORMS, LOOKUPS

    specs = {
        kind: FormSpec(kind, API_BASE + form.path, form.model, form.title) for kind, form in FORMS.items()
    }
    for lookup in LOOKUPS:
        specs[lookup.kind] = FormSpec(
            lookup.kind, API_BASE + lookup.path, lookup.model, lookup.title, lookup=True
        )
    return specs


def product_names() -> dict[str, str]:
    """Display names for catalog product ids, for a product list without x-labels."""
    from chalicelib.rules.catalog import catalog

    return catalog().product_names()


_state: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    _state["form_pages"] = {}
    _state["names"] = product_names()
    _state["specs"] = form_specs()
    # Pages are rendered before MkDocs builds its own environment (on_env), so
    # the forms take theirs from the same theme now.
    _state["env"] = theme_env_of(config)
    return config


def on_page_content(content: str, page: Page, config: Any, files: Any) -> str:
    specs: dict[str, FormSpec] = _state["specs"]
    words = Words(site_build_language(config))

    def replace(match: re.Match[str]) -> str:
        kind, submit = match.group(1), match.group(2)
        if kind not in specs:
            raise PluginError(f"{page.file.src_uri}: no form '{kind}' (known: {sorted(specs)})")
        _state["form_pages"][kind] = page
        return render_form(specs[kind], _state["names"], submit_label=submit, words=words)

    return FORM_MARKER.sub(replace, content)


def on_post_build(config: Any) -> None:
    """Keep each form's finished page for the API (see SITE_PAGES), and the page every other
    page the API draws is drawn in (the site's "not found" page, its content left open); other
    languages' in a folder each."""
    from chalicelib.web.pages import SHELL, page_shell

    language = site_build_language(config)
    if language == SOURCE_LANGUAGE:  # the first build of every run
        shutil.rmtree(SITE_PAGES, ignore_errors=True)
    pages = SITE_PAGES if language == SOURCE_LANGUAGE else SITE_PAGES / language
    pages.mkdir(parents=True, exist_ok=True)
    for kind, page in _state["form_pages"].items():
        built = Path(config.site_dir) / page.file.dest_uri
        (pages / f"{kind}.html").write_text(
            absolute_links(built.read_text(encoding="utf-8"), "/" + page.url), encoding="utf-8"
        )
    # Each language's own "not found" page (hooks/site_languages.py keeps it at /<code>/404.html).
    not_found_path = "/404.html" if language == SOURCE_LANGUAGE else f"/{language}/404.html"
    not_found = Path(config.site_dir) / not_found_path.lstrip("/")
    (pages / f"{SHELL}.html").write_text(
        page_shell(absolute_links(not_found.read_text(encoding="utf-8"), not_found_path)), encoding="utf-8"
    )


def absolute_links(html_text: str, page_path: str) -> str:
    """A page's relative links made absolute, so the page reads the same from any address."""
    return RELATIVE_LINK.sub(lambda m: f'{m.group(1)}{urljoin(page_path, m.group(2))}"', html_text)


# -- Rendering: this hook decides what each field is; the partial draws it -------


def theme_env_of(config: Any) -> Any:
    """Material's own Jinja environment, with this site's overrides and our one filter."""
    env = config.theme.get_env()
    env.filters["af_attrs"] = attrs
    return env


def theme_env() -> Any:
    """The environment of the build under way, or else of the project's mkdocs.yml (tests)."""
    if "env" not in _state:
        from mkdocs.config import load_config

        _state["env"] = theme_env_of(load_config(str(Path(__file__).resolve().parents[1] / "mkdocs.yml")))
    return _state["env"]


def attrs(attributes: dict[str, Any]) -> str:
    """HTML attributes, escaped; True means a bare attribute, None or False leaves it out."""
    parts = []
    for name, value in attributes.items():
        name = name.rstrip("_").replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(name)
        else:
            parts.append(f'{name}="{html.escape(str(value), quote=True)}"')
    return " ".join(parts)


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Flatten $ref, allOf and an optional value's anyOf into one property."""
    prop = dict(prop)
    if "$ref" in prop:
        target = defs[prop.pop("$ref").rsplit("/", 1)[-1]]
        prop = {**_resolve(target, defs), **prop}
    for key in ("allOf", "anyOf", "oneOf"):
        if key not in prop:
            continue
        branches = [b for b in prop.pop(key) if b.get("type") != "null"]
        if all("const" in b for b in branches) and branches:
            prop.setdefault("enum", [b["const"] for b in branches])
            prop.setdefault("type", branches[0].get("type", "string"))
        elif len(branches) == 1:
            prop = {**_resolve(branches[0], defs), **prop}
        else:
            raise PluginError(f"cannot render a field that takes several shapes: {branches}")
    if "const" in prop and "enum" not in prop:
        prop["enum"] = [prop["const"]]
    return prop


def _choice_value(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def render_form(
    spec: FormSpec, names: dict[str, str], submit_label: str | None = None, env: Any = None,
    words: Words | None = None,
) -> str:
    """One form through the theme's `partials/af-form.html`, from the model's JSON schema.

    In a language other than English every word comes from its catalogs, and
    the form carries the language in a hidden field so that the answer can
    follow it; it posts to the same route.
    """
    words = words or Words()
    schema = spec.model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    prefix = f"f-{spec.kind.replace('_', '-')}"
    form = {
        "prefix": prefix,
        "attrs": {
            "class_": "af-form", "id": prefix, "action": spec.action, "method": "post",
            "novalidate": True, "data_af_form": spec.kind,
            "data_af_mode": "lookup" if spec.lookup else "submit",
            "data_af_title": words.form(spec.title).lower(),
        },
        "fields": [
            field_view(prefix, name, _translated(_resolve(prop, defs), words), name in required, names,
                       words)
            for name, prop in schema["properties"].items()
        ],
        "honeypot": HONEYPOT_FIELD,
        "language": None if words.language == SOURCE_LANGUAGE else {
            "type": "hidden", "name": LANGUAGE_FIELD, "value": words.language},
        "submit": submit_label or (words.site("Check") if spec.lookup else words.site("Send {form}").format(
            form=words.form(spec.title).lower())),
    }
    template = (env or theme_env()).get_template(FORM_PARTIAL)
    return str(template.render(form=form, _=words.site)).strip()


def _translated(prop: dict[str, Any], words: Words) -> dict[str, Any]:
    """A field's label, hint and choice labels in the form's language."""
    prop = dict(prop)
    for key in ("title", "description"):
        if prop.get(key):
            prop[key] = words.form(prop[key])
    for holder in (prop, prop.get("items") if isinstance(prop.get("items"), dict) else None):
        if holder and holder.get("x-labels"):
            holder["x-labels"] = {value: words.form(label) for value, label in holder["x-labels"].items()}
    return prop


def field_view(
    prefix: str, name: str, prop: dict[str, Any], required: bool, names: dict[str, str],
    words: Words | None = None,
) -> dict[str, Any]:
    """What the partial needs to draw one field: which widget, its label, hint and attributes."""
    if prop.get("type") == "object":
        raise PluginError(f"field '{name}' is an object; the site renders flat forms only")
    field_id = f"{prefix}-{name.replace('_', '-')}"
    hint = prop.get("description")
    hint_id = f"{field_id}-hint" if hint else None
    words = words or Words()
    # A hint that depends on the product chosen (where its serial label is): the script swaps it.
    per_product = prop.get("x-hint-per-product")
    view: dict[str, Any] = {
        "id": field_id, "name": name, "hint": hint, "hint_id": hint_id,
        "label": prop.get("title") or words.form(name.replace("_", " ").capitalize()),
        "hint_per_product": json.dumps(per_product) if per_product else None,
    }
    if prop.get("x-widget") == "files":
        return {**view, **_files(field_id, name, prop, hint_id)}
    if prop.get("x-widget") == "hidden":
        return {**view, "widget": "hidden", "control": {"type": "hidden", "id": field_id, "name": name,
                                                         "value": ""}}
    value_type = prop.get("type")
    if value_type == "boolean" or prop.get("x-widget") == "checkbox" and value_type != "array":
        return {**view, "widget": "checkbox", "control": {
            "type": "checkbox", "id": field_id, "name": name, "value": "true",
            "checked": prop.get("default") is True, "aria_describedby": hint_id,
            "data_af_type": "boolean",
        }}
    choices = _choices(prop)
    if choices is None:
        return {**view, **_text_control(field_id, name, prop, required, hint_id, words)}
    if _as_choice_group(prop, choices):
        return {**view, **_choice_group(field_id, name, prop, choices, names, required, hint_id, words)}
    return {**view, **_select(field_id, name, prop, choices, names, required, hint_id)}


def _files(field_id: str, name: str, prop: dict[str, Any], hint_id: str | None) -> dict[str, Any]:
    """Files go to storage before the form is sent (aftercare-attachments.js); the form carries
    their upload ids in one hidden field. Without JavaScript the form is sent without files."""
    return {"widget": "files", "fieldset": {
        "class_": "af-fieldset af-files", "aria_describedby": hint_id, "data_af_files": name,
        "data_af_max_files": prop.get("maxItems"), "data_af_max_bytes": prop.get("x-max-bytes"),
    }, "picker": {
        "type": "file", "id": field_id, "multiple": True, "aria_describedby": hint_id,
        "accept": ",".join([*prop.get("x-accept", []), ".heic", ".heif"]),
    }, "ids": {"type": "hidden", "name": name, "value": ""}}


def _item(prop: dict[str, Any]) -> dict[str, Any]:
    """A list field's item schema ({} for a single value)."""
    return _resolve(prop["items"], {}) if prop.get("type") == "array" and "items" in prop else {}


def _choices(prop: dict[str, Any]) -> list[Any] | None:
    choices = prop.get("enum") or _item(prop).get("enum")
    low, high = prop.get("minimum"), prop.get("maximum")
    if choices is None and prop.get("x-widget") == "radio" and low is not None and high is not None:
        return list(range(int(low), int(high) + 1))  # a rating: every number a button
    return choices  # type: ignore[no-any-return]


def _as_choice_group(prop: dict[str, Any], choices: list[Any]) -> bool:
    widget = prop.get("x-widget")
    return prop.get("type") == "array" or widget in ("radio", "checkbox") or (
        widget != "select" and len(choices) <= MAX_RADIOS
    )


def _option_label(value: Any, prop: dict[str, Any], names: dict[str, str]) -> str:
    labels = prop.get("x-labels") or _item(prop).get("x-labels") or {}
    key = _choice_value(value)
    return str(labels.get(key) or names.get(key) or key)


def _text_control(
    field_id: str, name: str, prop: dict[str, Any], required: bool, hint_id: str | None, words: Words
) -> dict[str, Any]:
    common = {
        "id": field_id, "name": name, "required": required, "aria_describedby": hint_id,
        "autocomplete": prop.get("x-autocomplete"), "maxlength": prop.get("maxLength"),
    }
    if prop.get("x-widget") == "textarea":
        return _textarea(field_id, common, prop.get("maxLength"), hint_id, words)
    value_type = prop.get("type")
    numeric = value_type in ("integer", "number")
    input_type = prop.get("x-input-type") or {"date": "date", "email": "email"}.get(
        prop.get("format", ""), "number" if numeric else "text"
    )
    default = prop.get("default")
    return {"widget": "input", "control": {
        "type": input_type, **common, "min": prop.get("minimum"), "max": prop.get("maximum"),
        "inputmode": "numeric" if value_type == "integer" else None,
        "spellcheck": "false" if input_type in ("email", "tel") else None,
        "data_af_type": value_type if numeric else None,
        "value": default if isinstance(default, int | float) else None,
    }}


def _textarea(
    field_id: str, common: dict[str, Any], limit: int | None, hint_id: str | None, words: Words
) -> dict[str, Any]:
    """A message box that says its limit before it is reached and lets people see when they pass it.

    No `maxlength`: a browser would cut a long paste silently. The limit is
    said under the label; the site's script counts down as people type, and
    the API's error names the limit if a longer message is sent anyway.
    """
    if limit is None:
        return {"widget": "textarea", "control": {**common, "rows": 6}}
    count_id = f"{field_id}-count"
    described_by = " ".join(filter(None, [hint_id, count_id]))
    return {
        "widget": "textarea",
        "count": {"id": count_id,
                  "text": words.site("You can enter up to {limit} characters.").format(limit=f"{limit:,}")},
        "control": {**common, "rows": 6, "maxlength": None, "data_af_maxlength": limit,
                    "aria_describedby": described_by},
    }


def _choice_group(
    field_id: str, name: str, prop: dict[str, Any], choices: list[Any], names: dict[str, str],
    required: bool, hint_id: str | None, words: Words,
) -> dict[str, Any]:
    multiple = prop.get("type") == "array"
    value_type = _item(prop).get("type") if multiple else prop.get("type")
    default = prop.get("default")
    options = [
        {"label": _option_label(value, prop, names), "control": {
            "type": "checkbox" if multiple else "radio",
            "id": field_id if index == 0 else f"{field_id}-{index + 1}",
            "name": name, "value": _choice_value(value),
            "checked": not multiple and default is not None and value == default,
            "required": required and not multiple,
            "data_af_type": value_type if value_type in ("integer", "number", "boolean") else None,
            "data_af_multiple": multiple,
        }}
        for index, value in enumerate(choices)
    ]
    if not multiple and not required and default is None:
        # A chosen radio button cannot be unchosen: an optional question offers
        # an explicit way back to no answer, which is sent as nothing at all.
        options.append({"label": words.site("No answer"), "control": {
            "type": "radio", "id": f"{field_id}-none", "name": name, "value": "", "checked": True,
        }})
    return {"widget": "choices", "options": options,
            "fieldset": {"class_": "af-fieldset", "aria_describedby": hint_id}}


def _select(
    field_id: str, name: str, prop: dict[str, Any], choices: list[Any], names: dict[str, str],
    required: bool, hint_id: str | None,
) -> dict[str, Any]:
    value_type = prop.get("type")
    default = prop.get("default")
    return {
        "widget": "select",
        "choose_one": default is None,
        "options": [
            {"value": _choice_value(value), "label": _option_label(value, prop, names),
             "selected": default is not None and value == default}
            for value in choices
        ],
        "control": {
            "id": field_id, "name": name, "required": required, "aria_describedby": hint_id,
            "data_af_type": value_type if value_type in ("integer", "number") else None,
        },
    }
