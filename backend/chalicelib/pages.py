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


def problem_page(message: str, back_to: str, more: str | None = None) -> str:
    """`more`: HTML already escaped, shown after the message (a way forward, such as a claim)."""
    body = f"""<h1>{PROBLEM_TITLE}</h1>
<p role="alert">{escape(message)}</p>
{more or ""}
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return page(PROBLEM_TITLE, body)


def claim_form(action: str, fields: dict[str, str], message: str, honeypot: str) -> str:
    """A plain form that contests a claim (a serial registered by someone else) with proof of purchase.

    `fields` are sent as they are (the topic, the serial as the product reference);
    the person adds their name and email and may edit the message. It works
    without JavaScript and, like every form, carries the hidden honeypot.
    """
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    return f"""<h2>Is it yours? Claim it</h2>
<p>Send us this form and reply to our email with a photo of your receipt as proof of purchase.
We check it and, if the product is yours, move the warranty to you.</p>
<form method="post" action="{escape(action)}">
{hidden}
<p><label for="claim-name">Your name</label><br>
<input id="claim-name" name="name" autocomplete="name" required maxlength="120"></p>
<p><label for="claim-email">Email address</label><br>
<input id="claim-email" name="email" type="email" autocomplete="email" required maxlength="254"></p>
<p><label for="claim-message">Your message</label><br>
<textarea id="claim-message" name="message" rows="5" required maxlength="5000">
{escape(message)}</textarea></p>
<p hidden><label for="claim-{escape(honeypot)}">Leave this field empty</label>
<input id="claim-{escape(honeypot)}" name="{escape(honeypot)}" value="" tabindex="-1" autocomplete="off"></p>
<p><button type="submit">Send my claim</button></p>
</form>"""


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
