"""The API's own plain HTML pages (the no-JavaScript path): thanks, errors, a warranty's status."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources
from string import Template
from urllib.parse import quote

from chalicelib.forms import FORMS, FieldError
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.lifecycles import case_policy

PROBLEM_TITLE = "We could not take your form"
ERRORS_TITLE = "There is a problem with your form"


@cache
def _template() -> Template:
    return Template(resources.files("chalicelib").joinpath("templates/page.html").read_text())


def page(title: str, body: str) -> str:
    """A whole page in the site's plain style; `body` is HTML already escaped."""
    return _template().substitute(title=escape(title), body=body)


def errors_page(errors: list[FieldError], back_to: str) -> str:
    items = "\n".join(f"<li>{escape(e.message)}</li>" for e in errors)
    body = f"""<h1>{ERRORS_TITLE}</h1>
<div role="alert">
<p>{len(errors)} {'thing needs' if len(errors) == 1 else 'things need'} correcting:</p>
<ul>
{items}
</ul>
</div>
<p>Use your browser's Back button to return to the form: what you typed is still there.</p>
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return page(ERRORS_TITLE, body)


def problem_page(message: str, back_to: str) -> str:
    body = f"""<h1>{PROBLEM_TITLE}</h1>
<p role="alert">{escape(message)}</p>
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return page(PROBLEM_TITLE, body)


def thanks_page(reference: str) -> str:
    body = f"""<h1>Thank you</h1>
<p>We have your form. Your reference is</p>
<p class="reference"><strong>{escape(reference)}</strong></p>
<p>Please quote it if you contact us about this.</p>
{_track_link(reference)}<p><a href="/">Back to Aftercare</a></p>"""
    return page("Thank you", body)


def _track_link(reference: str) -> str:
    """Cases can be followed: the link carries the reference only, never the email address."""
    prefix = reference.split("-", 1)[0]
    cases = case_policy().lifecycles
    if not any(form.reference_prefix == prefix for kind, form in FORMS.items() if kind in cases):
        return ""
    return (f'<p><a href="/track/?reference={quote(reference)}">Follow your request</a> '
            "with this reference and your email address.</p>\n")


def warranty_status_page(status: WarrantyStatus, back_to: str) -> str:
    verdict = "is under warranty" if status.under_warranty else "is no longer under warranty"
    body = f"""<h1>Your warranty</h1>
<p>Your {escape(status.product_name)} {verdict}.</p>
<dl>
<dt>Registered on</dt><dd>{status.registered_on.isoformat()}</dd>
<dt>Warranty covers until</dt><dd>{status.expires_on.isoformat()}</dd>
</dl>
<p><a href="{escape(back_to)}">Check another product</a></p>"""
    return page("Your warranty", body)
