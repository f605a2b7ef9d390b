"""The API's own HTML pages (the no-JavaScript path): thanks, errors, a warranty's status, a form again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from html import escape
from html.parser import HTMLParser
from importlib import resources
from string import Template

from chalicelib.forms import FORMS, TRACK, WARRANTY_STATUS, FieldError
from chalicelib.forms.answers import WarrantyStatus
from chalicelib.links import track_path
from chalicelib.rules.lifecycles import case_policy
from chalicelib.web.receipts import Thanks

PROBLEM_TITLE = "We could not take your form"
ERRORS_TITLE = "There is a problem with your form"
# A look-up takes no form: its failure is titled for what the person was doing.
LOOKUP_PROBLEM_TITLES = {
    WARRANTY_STATUS.kind: "We could not check your warranty",
    TRACK.kind: "We could not look up your request",
}

# Every page the API draws is drawn in the site's own page: the build keeps its
# "not found" page with the title and the content left as these marks
# (`page_shell`, called by hooks/form_markup.py), so the header, navigation,
# footer and phone number are the site's, as they are now. Without a built site
# (a unit test), the plain page of templates/page.html.
SHELL = "shell"
TITLE_MARK = "<!--af:title-->"
BODY_MARK = "<!--af:body-->"
_TITLE = re.compile(r"<title>[^<]*</title>")
_CONTENT = re.compile(r'(<article class="md-content__inner md-typeset">).*(</article>)', re.DOTALL)


def page_shell(built_page: str) -> str:
    """A built site page with its title and content replaced by the marks `page` fills in."""
    shell, titles = _TITLE.subn(f"<title>{TITLE_MARK} - Aftercare</title>", built_page, count=1)
    shell, contents = _CONTENT.subn(lambda m: m.group(1) + BODY_MARK + m.group(2), shell, count=1)
    if titles != 1 or contents != 1:
        raise ValueError("the built page has no <title> or no content <article> to draw API pages in")
    # The API's pages answer one person's post: nothing for a search engine to keep.
    return shell.replace("<head>", '<head>\n<meta name="robots" content="noindex">', 1)


@cache
def _template() -> Template:
    return Template(resources.files("chalicelib").joinpath("templates/page.html").read_text())


def page(title: str, body: str) -> str:
    """A whole page in the site's look; `body` is HTML already escaped."""
    shell = site_page(SHELL)
    if shell is None:
        return _template().substitute(title=escape(title), body=body)
    return shell.replace(TITLE_MARK, escape(title), 1).replace(BODY_MARK, body, 1)


def errors_page(errors: list[FieldError], back_to: str, more: str | None = None) -> str:
    """`more`: HTML already escaped, shown after the list (a way forward, such as a claim)."""
    items = "\n".join(f"<li>{escape(e.message)}</li>" for e in errors)
    body = f"""<h1>{ERRORS_TITLE}</h1>
<div role="alert">
<p>{len(errors)} {'thing needs' if len(errors) == 1 else 'things need'} correcting:</p>
<ul>
{items}
</ul>
</div>
{more or ""}
<p>Use your browser's Back button to return to the form: what you typed is still there.</p>
<p><a href="{escape(back_to)}">Back to the form</a></p>"""
    return page(ERRORS_TITLE, body)


def problem_page(message: str, back_to: str, more: str | None = None, kind: str | None = None) -> str:
    """`more`: HTML already escaped, shown after the message (a way forward, such as a claim);
    `kind`: the form or look-up that was sent, which names the page."""
    title = LOOKUP_PROBLEM_TITLES.get(kind or "", PROBLEM_TITLE)
    back = "Try again" if kind in LOOKUP_PROBLEM_TITLES else "Back to the form"
    body = f"""<h1>{title}</h1>
<p role="alert">{escape(message)}</p>
{more or ""}
<p><a href="{escape(back_to)}">{back}</a></p>"""
    return page(title, body)


def claim_form(
    action: str, fields: dict[str, str], message: str, honeypot: str, typed: Mapping[str, str] | None = None,
) -> str:
    """A plain form that contests a claim (a serial registered by someone else) with proof of purchase.

    `fields` are sent as they are (the topic, the serial as the product reference);
    `typed`: the name and email given on the refused form, carried over. The
    person may edit the message. It works without JavaScript, in the site's
    form style (its classes), and like every form carries the hidden honeypot.
    """
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    name, email = (escape((typed or {}).get(key, ""), quote=True) for key in ("name", "email"))
    return f"""<section class="af-claim" aria-labelledby="claim-title">
<h2 id="claim-title">Is it yours? Claim it</h2>
<p>Send us this form and reply to our email with a photo of your receipt as proof of purchase.
We check it and, if the product is yours, move the warranty to you.</p>
<form method="post" action="{escape(action)}" class="af-form">
{hidden}
<div class="af-field"><label class="af-label" for="claim-name">Your name</label>
<input id="claim-name" name="name" autocomplete="name" required maxlength="120" value="{name}"></div>
<div class="af-field"><label class="af-label" for="claim-email">Email address</label>
<input id="claim-email" name="email" type="email" autocomplete="email" required maxlength="254"
 value="{email}"></div>
<div class="af-field"><label class="af-label" for="claim-message">Your message</label>
<textarea id="claim-message" name="message" rows="5" required maxlength="5000">
{escape(message)}</textarea></div>
<p hidden><label for="claim-{escape(honeypot)}">Leave this field empty</label>
<input id="claim-{escape(honeypot)}" name="{escape(honeypot)}" value="" tabindex="-1" autocomplete="off"></p>
<button type="submit" class="md-button md-button--primary">Send my claim</button>
</form>
</section>"""


def thanks_page(sent: Thanks) -> str:
    body = f"""<h1>Thank you</h1>
<p>We have your form. Your reference is</p>
<p class="reference"><strong>{escape(sent.reference)}</strong></p>
<p>Please quote it if you contact us about this.</p>
{worked_out(sent)}{_track_link(sent.reference)}<p><a href="/">Back to Aftercare</a></p>"""
    return page("Thank you", body)


def day(iso: object) -> str:
    """A date as people write it: 2 November 2028."""
    try:
        when = date.fromisoformat(str(iso))
    except ValueError:
        return escape(str(iso))
    return f"{when.day} {when:%B %Y}"


def worked_out(sent: Thanks) -> str:
    """What the API worked out from the form (a warranty's end, a return window), as facts."""
    answer = sent.answer
    facts: list[tuple[str, str]] = []
    if "expires_on" in answer:
        facts = [("Product", escape(str(answer.get("product_name", "")))),
                 ("Warranty ends on", day(answer["expires_on"]))]
    elif "return_window_ends_on" in answer:
        inside, covered = answer.get("inside_return_window"), answer.get("under_warranty")
        window, warranty = answer["return_window_ends_on"], answer["warranty_expires_on"]
        facts = [
            ("Return window", ("open until " if inside else "ended on ") + day(window)),
            ("Warranty", ("ends on " if covered else "ended on ") + day(warranty)),
        ]
    if not facts:
        return ""
    rows = "\n".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">\n{rows}\n</dl>\n'


NO_THANKS_TITLE = "This confirmation is no longer available"


def no_thanks_page() -> str:
    body = f"""<h1>{NO_THANKS_TITLE}</h1>
<p>We show a reference only just after its form is sent, and only to the browser that sent it,
for a few minutes.</p>
<p>If you sent us a form and did not note its reference, <a href="/contact/">contact us</a>:
we can find your form from your details.</p>
<p><a href="/">Back to Aftercare</a></p>"""
    return page(NO_THANKS_TITLE, body)


def _track_link(reference: str) -> str:
    """Cases can be followed: the link carries the reference only, never the email address."""
    prefix = reference.split("-", 1)[0]
    cases = case_policy().lifecycles
    if not any(form.reference_prefix == prefix for kind, form in FORMS.items() if kind in cases):
        return ""
    return (f'<p><a href="{escape(track_path(reference))}">Follow your request</a> '
            "with this reference and your email address.</p>\n")


def warranty_status_page(status: WarrantyStatus, back_to: str) -> str:
    verdict = "is under warranty" if status.under_warranty else "is no longer under warranty"
    ends = "Warranty ends on" if status.under_warranty else "Warranty ended on"
    body = f"""<h1>Your warranty</h1>
<p>Your {escape(status.product_name)} {verdict}.</p>
<dl>
<dt>Registered on</dt><dd>{day(status.registered_on)}</dd>
<dt>{ends}</dt><dd>{day(status.expires_on)}</dd>
</dl>
<p><a href="{escape(back_to)}">Check another product</a></p>"""
    return page("Your warranty", body)


# -- A form page again, as the customer sent it (the no-JavaScript path) ----------
#
# The site build keeps a copy of each form's page (hooks/form_markup.py writes
# templates/site/<kind>.html, its links made absolute), so a refused form comes
# back on the site's own look: what was typed in place, each message beside its
# field, and a summary at the top that links to them (the pattern the site's
# script follows with JavaScript on).

SITE_PAGES = "templates/site"
ERROR_CLASS = "af-field--error"


@cache
def site_page(kind: str) -> str | None:
    """The built page that shows this form, or None when the site was not built with the API."""
    path = resources.files("chalicelib").joinpath(f"{SITE_PAGES}/{kind}.html")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def form_prefix(kind: str) -> str:
    """The id prefix the site's form markup gives a form's elements."""
    return f"f-{kind.replace('_', '-')}"


def control_id(kind: str, field: str) -> str:
    return f"{form_prefix(kind)}-{field.replace('_', '-')}"


def form_page(
    kind: str, typed: Mapping[str, str], errors: list[FieldError], *, posted: bool = True,
    after_form: str = "",
) -> str | None:
    """The form's own page, filled with what was typed and marked with `errors`; None without it.

    `posted`: `typed` is a whole post (a box left out was unticked); otherwise
    it is a link's few values, and every other control keeps its default.
    `after_form`: HTML already escaped, put right after the form (a way forward, such as a claim).
    """
    shell = site_page(kind)
    if shell is None:
        return None
    filler = _FormFiller(kind, typed, errors, fields=set(FIELD_NAME.findall(shell)), posted=posted)
    filler.after_form = after_form
    filler.feed(shell)
    filler.close()
    return "".join(filler.out)


FIELD_NAME = re.compile(r'data-af-field="([a-z_]+)"')


def _tag(tag: str, attributes: list[tuple[str, str | None]]) -> str:
    parts = [tag] + [
        name if value is None else f'{name}="{escape(value, quote=True)}"' for name, value in attributes
    ]
    return f"<{' '.join(parts)}>"


def _set(attributes: list[tuple[str, str | None]], name: str, value: str | None | bool) -> None:
    """Set, add or (False) remove one attribute, in place."""
    kept = [(n, v) for n, v in attributes if n != name]
    if value is not False:
        kept.append((name, None if value is True else value))
    attributes[:] = kept


def _get(attributes: list[tuple[str, str | None]], name: str) -> str | None:
    return next((v for n, v in attributes if n == name), None)


class _FormFiller(HTMLParser):
    """Copies a page, changing only the one form: values typed, errors shown, summary filled."""

    def __init__(
        self, kind: str, typed: Mapping[str, str], errors: list[FieldError], fields: set[str],
        posted: bool,
    ):
        super().__init__(convert_charrefs=False)
        self.kind = kind
        self.posted = posted
        self.typed = typed
        self.errors = {e.field: e.message for e in reversed(errors) if e.field in fields}
        self.loose = [e.message for e in errors if e.field not in fields]
        self.summary = [(e.field, e.message) for e in errors if e.field in fields]
        self.out: list[str] = []
        self.in_form = False
        self.in_title = False
        self.field: str | None = None
        self.error_id: str | None = None
        self.select: str | None = None
        self.skip_text = False
        self.after_form = ""

    # Everything outside the form is copied as it came.
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        if tag == "title":
            self.in_title = True
        if tag == "form" and _get(attrs, "data-af-form") == self.kind:
            self.in_form = True
        if not self.in_form:
            self.out.append(raw)
            return
        attributes = list(attrs)
        after = self._change(tag, attributes)
        self.out.append(_tag(tag, attributes) + after)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "textarea":
            self.skip_text = False
        elif tag == "select":
            self.select = None
        elif tag == "form" and self.in_form:
            self.in_form = False
            self.out.append(f"</{tag}>{self.after_form}")
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.in_title and (self.errors or self.loose) and not data.startswith("Error: "):
            data = "Error: " + data
        if not self.skip_text:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{data}]>")

    def _change(self, tag: str, attributes: list[tuple[str, str | None]]) -> str:
        """Change one start tag of the form in place; answer the HTML to put right after it."""
        classes = (_get(attributes, "class") or "").split()
        if "af-honeypot" in classes:
            self.field = None
        field = _get(attributes, "data-af-field")
        if field is not None:
            self.field, self.error_id = field, None
            if field in self.errors:
                _set(attributes, "class", " ".join([*classes, ERROR_CLASS]))
            return ""
        if "af-error-summary" in classes and (self.summary or self.loose):
            _set(attributes, "hidden", False)
            _set(attributes, "autofocus", True)  # the first thing read and focused, as with JS
            return ""
        if "af-error-summary__list" in classes:
            return "".join(
                f'<li><a href="#{control_id(self.kind, field)}">{escape(message)}</a></li>'
                for field, message in self.summary
            ) + "".join(f"<li>{escape(message)}</li>" for message in self.loose)
        if "af-error" in classes and self.field in self.errors:
            self.error_id = _get(attributes, "id")
            _set(attributes, "hidden", False)
            return f'<span class="af-visually-hidden">Error: </span>{escape(self.errors[self.field])}'
        if tag in ("input", "textarea", "select"):
            return self._control(tag, attributes)
        if tag == "option" and self.select is not None and self.select in self.typed:
            _set(attributes, "selected", _get(attributes, "value") == self.typed[self.select])
        return ""

    def _control(self, tag: str, attributes: list[tuple[str, str | None]]) -> str:
        name = _get(attributes, "name") or ""
        if self.field is None or name != self.field:
            return ""
        if self.error_id:
            _set(attributes, "aria-invalid", "true")
            described = (_get(attributes, "aria-describedby") or "").split()
            _set(attributes, "aria-describedby", " ".join([*described, self.error_id]))
        typed = self.typed.get(name)
        kind = _get(attributes, "type")
        if tag == "select":
            self.select = name
        elif tag == "textarea":
            self.skip_text = typed is not None
            return escape(typed or "")
        elif kind in ("checkbox", "radio"):
            if typed is not None or (kind == "checkbox" and self.posted):
                _set(attributes, "checked", typed is not None and (
                    kind == "checkbox" and _get(attributes, "data-af-multiple") is None
                    or typed == _get(attributes, "value")))
        elif typed is not None:
            _set(attributes, "value", typed)
        return ""


UNSUBSCRIBE_TITLE = "Unsubscribe from product news and offers"


def unsubscribe_confirm_page(token: str) -> str:
    body = f"""<h1>{UNSUBSCRIBE_TITLE}</h1>
<p>Press the button and we will send you no more product news or offers by email.
Emails about your own requests, such as replies to an enquiry, still reach you.</p>
<form method="post" action="/api/unsubscribe">
<input type="hidden" name="token" value="{escape(token)}">
<button type="submit" class="md-button md-button--primary">Unsubscribe</button>
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
    title = "We could not unsubscribe you with this link"
    body = f"""<h1>{title}</h1>
<p role="alert">{reason} Nothing has changed.</p>
<p>To stop product news and offers, use the link in a more recent email from us, or
<a href="/contact/">send us an enquiry</a> and we will do it for you.</p>"""
    return page(title, body)
