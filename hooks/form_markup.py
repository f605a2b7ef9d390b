"""The site's HTML forms, rendered from the backend's form models at build time.

A page asks for a form with a marker, `<!-- form: enquiry -->`, optionally with
the button's words: `<!-- form: warranty_status submit="Check my warranty" -->`.
Each model's JSON schema gives the fields: `title` is the label, `description`
the hint, `x-widget`, `x-input-type`, `x-autocomplete` and `x-labels` shape the
control, `required`, `enum`, `minimum` and `maximum` the rules. The form posts
to `/api` + the kind's path, so it works without JavaScript; the site's script
enhances it (assets/javascripts/aftercare-forms.js).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.web import API_BASE, HONEYPOT_FIELD
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

FORM_MARKER = re.compile(r'<!--\s*form:\s*([a-z_]+)(?:\s+submit="([^"<>]*)")?\s*-->')
# Choices up to this many are radio buttons (all visible at once); more, a list box.
MAX_RADIOS = 5


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
    from chalicelib.forms import FORMS, WARRANTY_STATUS

    specs = {
        kind: FormSpec(kind, API_BASE + form.path, form.model, form.title) for kind, form in FORMS.items()
    }
    for lookup in (WARRANTY_STATUS,):
        specs[lookup.kind] = FormSpec(
            lookup.kind, API_BASE + lookup.path, lookup.model, lookup.title, lookup=True
        )
    return specs


def product_names() -> dict[str, str]:
    """Display names for catalog product ids, for a product list without x-labels."""
    from chalicelib.catalog import catalog

    return catalog().product_names()


_state: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    _state["names"] = product_names()
    _state["specs"] = form_specs()
    return config


def on_page_content(content: str, page: Page, config: Any, files: Any) -> str:
    specs: dict[str, FormSpec] = _state["specs"]

    def replace(match: re.Match[str]) -> str:
        kind, submit = match.group(1), match.group(2)
        if kind not in specs:
            raise PluginError(f"{page.file.src_uri}: no form '{kind}' (known: {sorted(specs)})")
        return render_form(specs[kind], _state["names"], submit_label=submit)

    return FORM_MARKER.sub(replace, content)


# -- Rendering ------------------------------------------------------------------


def _attrs(**attributes: Any) -> str:
    """HTML attributes; True means a bare attribute, None or False leaves it out."""
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


def render_form(spec: FormSpec, names: dict[str, str], submit_label: str | None = None) -> str:
    schema = spec.model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    prefix = f"f-{spec.kind.replace('_', '-')}"
    fields = [
        _render_field(prefix, name, _resolve(prop, defs), name in required, names)
        for name, prop in schema["properties"].items()
    ]
    label = submit_label or ("Check" if spec.lookup else f"Send {spec.title.lower()}")
    mode = "lookup" if spec.lookup else "submit"
    return "\n".join(
        [
            f'<div class="af-outcome" id="{prefix}-outcome" role="status" tabindex="-1"></div>',
            "<form "
            + _attrs(
                class_="af-form",
                id=prefix,
                action=spec.action,
                method="post",
                novalidate=True,
                data_af_form=spec.kind,
                data_af_mode=mode,
                data_af_title=spec.title.lower(),
            )
            + ">",
            f'<div class="af-error-summary" id="{prefix}-errors" tabindex="-1" hidden>'
            f'<div role="alert"><h2 class="af-error-summary__title">There is a problem</h2>'
            '<p class="af-error-summary__message"></p><ul class="af-error-summary__list"></ul>'
            "</div></div>",
            *fields,
            _honeypot(prefix),
            f'<button type="submit" class="md-button md-button--primary af-submit">'
            f"{html.escape(label)}</button>",
            "</form>",
        ]
    )


def _honeypot(prefix: str) -> str:
    field_id = f"{prefix}-{HONEYPOT_FIELD}"
    return (
        '<div class="af-honeypot" aria-hidden="true">'
        f'<label for="{field_id}">Leave this field empty</label>'
        f'<input type="text" id="{field_id}" name="{HONEYPOT_FIELD}" value="" tabindex="-1" '
        'autocomplete="off"></div>'
    )


def _render_field(
    prefix: str, name: str, prop: dict[str, Any], required: bool, names: dict[str, str]
) -> str:
    if prop.get("type") == "object":
        raise PluginError(f"field '{name}' is an object; the site renders flat forms only")
    field_id = f"{prefix}-{name.replace('_', '-')}"
    label = html.escape(prop.get("title") or name.replace("_", " ").capitalize())
    hint = prop.get("description")
    hint_id = f"{field_id}-hint" if hint else None
    error_id = f"{field_id}-error"
    hint_html = f'<div class="af-hint" id="{hint_id}">{html.escape(hint)}</div>' if hint else ""
    error_html = f'<p class="af-error" id="{error_id}" hidden></p>'
    widget = prop.get("x-widget")
    value_type = prop.get("type")
    wrapper = _attrs(class_="af-field", data_af_field=name)

    if value_type == "boolean" or widget == "checkbox" and value_type != "array":
        control = _attrs(
            type="checkbox",
            id=field_id,
            name=name,
            value="true",
            checked=prop.get("default") is True,
            aria_describedby=hint_id,
            data_af_type="boolean",
        )
        return (
            f'<div {wrapper}><div class="af-check"><input {control}>'
            f'<label for="{field_id}">{label}</label></div>{hint_html}{error_html}</div>'
        )

    item = _resolve(prop["items"], {}) if value_type == "array" and "items" in prop else None
    choices = prop.get("enum") or (item or {}).get("enum")
    numeric = value_type in ("integer", "number")
    if choices is None and numeric and widget == "radio":
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and high is not None:
            choices = list(range(int(low), int(high) + 1))

    if choices is not None:
        labels = prop.get("x-labels") or (item or {}).get("x-labels") or {}
        multiple = value_type == "array"
        if multiple or widget in ("radio", "checkbox") or (
            widget != "select" and len(choices) <= MAX_RADIOS
        ):
            return _choice_group(
                wrapper, field_id, name, label, hint_html, hint_id, error_html,
                choices, labels, names, prop, required, multiple,
                item.get("type") if item else value_type,
            )
        return _select(
            wrapper, field_id, name, label, hint_html, hint_id, error_html,
            choices, labels, names, prop, required, value_type,
        )

    common = {
        "id": field_id,
        "name": name,
        "required": required,
        "aria_describedby": hint_id,
        "autocomplete": prop.get("x-autocomplete"),
        "maxlength": prop.get("maxLength"),
    }
    if widget == "textarea":
        control = f"<textarea {_attrs(**common, rows=6)}></textarea>"
    else:
        input_type = prop.get("x-input-type") or {
            "date": "date",
            "email": "email",
        }.get(prop.get("format", ""), "number" if numeric else "text")
        control = "<input " + _attrs(
            type=input_type,
            **common,
            min=prop.get("minimum"),
            max=prop.get("maximum"),
            inputmode="numeric" if value_type == "integer" else None,
            spellcheck="false" if input_type in ("email", "tel") else None,
            data_af_type=value_type if numeric else None,
            value=prop.get("default") if isinstance(prop.get("default"), (int, float)) else None,
        ) + ">"
    return (
        f'<div {wrapper}><label class="af-label" for="{field_id}">{label}</label>'
        f"{hint_html}{error_html}{control}</div>"
    )


def _option_label(value: Any, labels: dict[str, str], names: dict[str, str]) -> str:
    key = _choice_value(value)
    return labels.get(key) or names.get(key) or key


def _choice_group(
    wrapper: str, field_id: str, name: str, label: str, hint_html: str, hint_id: str | None,
    error_html: str, choices: list[Any], labels: dict[str, str], names: dict[str, str],
    prop: dict[str, Any], required: bool, multiple: bool, value_type: str | None,
) -> str:
    input_type = "checkbox" if multiple else "radio"
    default = prop.get("default")
    options = []
    for index, value in enumerate(choices):
        option_id = field_id if index == 0 else f"{field_id}-{index + 1}"
        control = _attrs(
            type=input_type,
            id=option_id,
            name=name,
            value=_choice_value(value),
            checked=not multiple and default is not None and value == default,
            required=required and not multiple,
            data_af_type=value_type if value_type in ("integer", "number", "boolean") else None,
            data_af_multiple=multiple,
        )
        options.append(
            f'<div class="af-check"><input {control}>'
            f'<label for="{option_id}">{html.escape(_option_label(value, labels, names))}'
            "</label></div>"
        )
    if not multiple and not required and default is None:
        # A chosen radio button cannot be unchosen: an optional question offers
        # an explicit way back to no answer, which is sent as nothing at all.
        no_answer_id = f"{field_id}-none"
        control = _attrs(type="radio", id=no_answer_id, name=name, value="", checked=True)
        options.append(
            f'<div class="af-check"><input {control}>'
            f'<label for="{no_answer_id}">No answer</label></div>'
        )
    fieldset = _attrs(class_="af-fieldset", aria_describedby=hint_id)
    return (
        f"<div {wrapper}><fieldset {fieldset}><legend class=\"af-label\">{label}</legend>"
        f"{hint_html}{error_html}<div class=\"af-choices\">{''.join(options)}</div>"
        "</fieldset></div>"
    )


def _select(
    wrapper: str, field_id: str, name: str, label: str, hint_html: str, hint_id: str | None,
    error_html: str, choices: list[Any], labels: dict[str, str], names: dict[str, str],
    prop: dict[str, Any], required: bool, value_type: str | None,
) -> str:
    default = prop.get("default")
    options = ['<option value="">Choose one</option>'] if default is None else []
    for value in choices:
        selected = " selected" if default is not None and value == default else ""
        options.append(
            f'<option value="{html.escape(_choice_value(value))}"{selected}>'
            f"{html.escape(_option_label(value, labels, names))}</option>"
        )
    control = _attrs(
        id=field_id,
        name=name,
        required=required,
        aria_describedby=hint_id,
        data_af_type=value_type if value_type in ("integer", "number") else None,
    )
    return (
        f'<div {wrapper}><label class="af-label" for="{field_id}">{label}</label>'
        f"{hint_html}{error_html}<select {control}>{''.join(options)}</select></div>"
    )
