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
