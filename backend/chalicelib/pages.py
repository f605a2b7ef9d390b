"""Plain HTML answers for the no-JavaScript path that are more than a thank-you or an error list."""

from __future__ import annotations

from html import escape

from chalicelib.forms.answers import WarrantyStatus
from chalicelib.web import Answer, html_answer


def warranty_status_page(status: WarrantyStatus, back_to: str) -> Answer:
    verdict = "is under warranty" if status.under_warranty else "is no longer under warranty"
    body = f"""<h1>Your warranty</h1>
<p>Your {escape(status.product_name)} {verdict}.</p>
<dl>
<dt>Registered on</dt><dd>{status.registered_on.isoformat()}</dd>
<dt>Warranty covers until</dt><dd>{status.expires_on.isoformat()}</dd>
</dl>
<p><a href="{escape(back_to)}">Check another product</a></p>"""
    return html_answer(200, "Your warranty", body)


UNSUBSCRIBE_TITLE = "Unsubscribe from product news and offers"


def unsubscribe_confirm_page(token: str) -> Answer:
    body = f"""<h1>{UNSUBSCRIBE_TITLE}</h1>
<p>Press the button and we will send you no more product news or offers by email.
Emails about your own requests, such as replies to an enquiry, still reach you.</p>
<form method="post" action="/api/unsubscribe">
<input type="hidden" name="token" value="{escape(token)}">
<button type="submit">Unsubscribe</button>
</form>
<p><a href="/">Back to Aftercare</a></p>"""
    return html_answer(200, UNSUBSCRIBE_TITLE, body)


def unsubscribed_page() -> Answer:
    body = """<h1>You are unsubscribed</h1>
<p role="status">We have withdrawn your consent: you will get no more product news or offers from us
by email. If you change your mind, tick the box on any of our forms.</p>
<p><a href="/">Back to Aftercare</a></p>"""
    return html_answer(200, "You are unsubscribed", body)


def unsubscribe_problem_page(expired: bool) -> Answer:
    reason = ("This unsubscribe link is too old to use." if expired
              else "This unsubscribe link is not one of ours, or it was cut short when it was copied.")
    body = f"""<h1>We could not unsubscribe you with this link</h1>
<p role="alert">{reason} Nothing has changed.</p>
<p>To stop product news and offers, use the link in a more recent email from us, or
<a href="/contact/">send us an enquiry</a> and we will do it for you.</p>"""
    return html_answer(400, "We could not unsubscribe you", body)
