"""The site's build hooks: forms from the models, the privacy notice and catalog facts from data."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from chalicelib.intake.uploads import FIELD as ATTACHMENTS_FIELD
from chalicelib.rules.retailer import retailer
from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[2]


def load_hook(name: str) -> ModuleType:
    path = REPO / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"site_hook_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


form_markup = load_hook("form_markup")
privacy_notice = load_hook("privacy_notice")
catalog_markers = load_hook("catalog_markers")


class FormControls(HTMLParser):
    """The names, ids and labels of one rendered form's controls."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.ids: list[str] = []
        # Fields whose files the script uploads (the file input is unnamed: the form posts ids).
        self.file_fields: set[str] = set()
        # Hidden values: a files field's ids, or what a link carries (a follow-up token).
        self.hidden_names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "fieldset" and attributes.get("data-af-files"):
            self.file_fields.add(str(attributes["data-af-files"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append({"tag": tag, **attributes})
        elif tag == "input" and attributes.get("name"):
            self.hidden_names.add(str(attributes["name"]))
        if tag == "label" and attributes.get("for"):
            self.label_targets.add(str(attributes["for"]))


def rendered(kind: str) -> FormControls:
    specs = form_markup.form_specs()
    names = form_markup.product_names()
    parser = FormControls()
    parser.feed(form_markup.render_form(specs[kind], names))
    return parser


KINDS = sorted(form_markup.form_specs())


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_form_fields_are_exactly_the_models_fields(kind: str) -> None:
    model = form_markup.form_specs()[kind].model
    controls = rendered(kind).controls
    names = {c["name"] for c in controls if c.get("name")} - {form_markup.HONEYPOT_FIELD}
    # A file picker has no name: the script uploads its files and posts their ids as `attachments`.
    if any(c.get("type") == "file" for c in controls):
        names.add(ATTACHMENTS_FIELD)
    # A hidden field holds what a link brings (the follow-up token), never something to type.
    names |= rendered(kind).hidden_names
    assert names == set(model.model_fields)


@pytest.mark.parametrize("kind", KINDS)
def test_every_control_has_a_label_and_ids_are_unique(kind: str) -> None:
    form = rendered(kind)
    for control in form.controls:
        assert control["id"] in form.label_targets, control
    assert len(form.ids) == len(set(form.ids))


@pytest.mark.parametrize("kind", KINDS)
def test_required_fields_are_marked_required(kind: str) -> None:
    model = form_markup.form_specs()[kind].model
    required = set(model.model_json_schema().get("required", []))
    marked = {c["name"] for c in rendered(kind).controls if "required" in c}
    assert marked == required - {
        name for name in required if model.model_json_schema()["properties"][name].get("type")
        == "boolean"
    }


def test_enquiry_form_posts_to_the_api_and_carries_the_honeypot() -> None:
    spec = form_markup.form_specs()["enquiry"]
    markup = form_markup.render_form(spec, {})
    assert 'action="/api/enquiries" method="post"' in markup
    assert re.search(r'<div class="af-honeypot" aria-hidden="true">.*name="website"[^>]*'
                     r'tabindex="-1" autocomplete="off"', markup)
    assert 'autocomplete="email"' in markup and 'type="email"' in markup
    assert "<textarea" in markup and 'name="message"' in markup


def test_form_marker_for_an_unknown_kind_fails_the_build() -> None:
    form_markup._state.update(specs=form_markup.form_specs(), names={})
    page = SimpleNamespace(file=SimpleNamespace(src_uri="contact.md"))
    with pytest.raises(PluginError, match="no_such_kind"):
        form_markup.on_page_content("<!-- form: no_such_kind -->", page, None, None)


def policy_keeping_enquiries_for(months: int) -> Any:
    policy = privacy_notice.load_policy(REPO)
    return dataclasses.replace(policy, retention_months={**policy.retention_months, "enquiry": months})


def test_privacy_notice_follows_the_retention_in_the_data_policy() -> None:
    pages = {"enquiry": "contact.md"}
    before = privacy_notice.notice_markdown(policy_keeping_enquiries_for(24), pages)
    after = privacy_notice.notice_markdown(policy_keeping_enquiries_for(7), pages)
    assert "| Enquiries | 24 months (2 years) |" in before
    assert "| Enquiries | 7 months |" in after
    assert ": 7 months." in after


def test_privacy_notice_covers_every_kind_and_the_rights() -> None:
    policy = privacy_notice.load_policy(REPO)
    notice = privacy_notice.notice_markdown(policy, {})
    assert set(policy.notices) == set(policy.retention_months)
    for kind in policy.notices.values():
        assert kind.title in notice
        assert kind.purpose in notice
        assert kind.who_can_see in notice
    assert retailer().privacy_email in notice
    assert retailer().legal_name in notice
    assert policy.storage in notice and policy.backups in notice
    assert "within one month" in notice
    assert "unsubscribe link" in notice


def test_warranty_terms_come_from_the_catalog() -> None:
    catalog = catalog_markers.load_catalog(REPO)
    page = catalog_markers.render_markers(
        "Intro\n\n<!-- warranty-terms: vista-55-oled -->\n\nWithin "
        "<!-- policy: return_window_days --> days.\n\n<!-- amc-products -->\n",
        "guides/vista-55-oled.md",
        catalog,
    )
    vista = catalog.products["vista-55-oled"]
    assert f"{vista.warranty_months} months" in page
    assert "annual maintenance contracts](../policies/maintenance-contracts.md)" in page
    assert f"Within {catalog.policy.return_window_days} days." in page
    for product in catalog.products.values():
        listed = f"[{product.name}]({Path(product.guide).name})" in page
        assert listed == product.amc_offered


def test_a_marker_for_an_unknown_product_fails_the_build() -> None:
    catalog = catalog_markers.load_catalog(REPO)
    with pytest.raises(PluginError):
        catalog_markers.render_markers("<!-- warranty-terms: nope -->", "guides/x.md", catalog)
    with pytest.raises(PluginError):
        catalog_markers.render_markers("<!-- policy: nope_days -->", "guides/x.md", catalog)


def test_theme_fixes_name_the_search_dialog_and_defer_the_bundle() -> None:
    theme_fixes = load_hook("theme_fixes")
    page = (
        '<div class="md-search" data-md-component="search" role="dialog">'
        '<script src="../assets/javascripts/bundle.a5f9d56c.min.js"></script>'
    )
    fixed = theme_fixes.on_post_page(page, None, None)
    assert 'role="dialog" aria-label="Search"' in fixed
    assert '<script src="../assets/javascripts/bundle.a5f9d56c.min.js" defer>' in fixed
