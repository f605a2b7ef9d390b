"""The API's own plain HTML pages (the no-JavaScript path): thanks, errors, a warranty's status."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources
from string import Template

from chalicelib.forms import FieldError
from chalicelib.forms.answers import WarrantyStatus

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
<p><a href="/">Back to Aftercare</a></p>"""
    return page("Thank you", body)


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


UNSUBSCRIBE_TITLE = "Unsubscribe from product news and offers"


def unsubscribe_confirm_page(token: str) -> str:
    body = f"""<h1>{UNSUBSCRIBE_TITLE}</h1>
<p>Press the button and we will send you no more product news or offers by email.
Emails about your own requests, such as replies to an enquiry, still reach you.</p>
<form method="post" action="/api/unsubscribe">
<input type="hidden" name="token" value="{escape(token)}">
<button type="submit">Unsubscribe</button>
</form>
<p><a href="/">Back to Aftercare</a></p>"""
    return page(UNSUBSCRIBE_TITLE, body)


def unsubscribed_page() -> str:
    body = """<h1>You are unsubscribed</h1>
<p role="status">We have withdrawn your consent: you will get no more product news or offers from us
by email. If you change your mind, tick the box on any of our forms.</p>
<p><a href="/">Back to Aftercare</a></p>"""
    return page("You are unsubscribed", body)


def unsubscribe_problem_page(expired: bool) -> str:
    reason = ("This unsubscribe link is too old to use." if expired
              else "This unsubscribe link is not one of ours, or it was cut short when it was copied.")
    body = f"""<h1>We could not unsubscribe you with this link</h1>
<p role="alert">{reason} Nothing has changed.</p>
<p>To stop product news and offers, use the link in a more recent email from us, or
<a href="/contact/">send us an enquiry</a> and we will do it for you.</p>"""
    return page("We could not unsubscribe you", body)
