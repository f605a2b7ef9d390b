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
from chalicelib.languages import N_, SOURCE_LANGUAGE, Said, day_in_words, say, speaker
from chalicelib.links import track_path
from chalicelib.rules.lifecycles import case_policy
from chalicelib.web.receipts import Thanks

PROBLEM_TITLE = N_("We could not take your form")
ERRORS_TITLE = N_("There is a problem with your form")
# A look-up takes no form: its failure is titled for what the person was doing.
LOOKUP_PROBLEM_TITLES = {
    WARRANTY_STATUS.kind: N_("We could not check your warranty"),
    TRACK.kind: N_("We could not look up your request"),
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


def in_language(path: str, language: str) -> str:
    """A site page's path in a language (English at /, another at /<code>/, as the site is built)."""
    if language == SOURCE_LANGUAGE or not path.startswith("/") or path.startswith("//"):
        return path
    return f"/{language}{path}"


def page(title: str, body: str, language: str = SOURCE_LANGUAGE) -> str:
    """A whole page in the site's look, in its language; `body` is HTML already escaped."""
    shell = site_page(SHELL, language)
    if shell is None:
        return _template().substitute(title=escape(title), body=body, language=language)
    return shell.replace(TITLE_MARK, escape(title), 1).replace(BODY_MARK, body, 1)


def errors_page(errors: list[FieldError], back_to: str, more: str | None = None,
                language: str = SOURCE_LANGUAGE) -> str:
    """`more`: HTML already escaped, shown after the list (a way forward, such as a claim)."""
    _ = speaker(language)
    items = "\n".join(f"<li>{escape(e.message)}</li>" for e in errors)
    count = Said("1 thing needs correcting:") if len(errors) == 1 else Said(
        "{count} things need correcting:", count=len(errors))
    body = f"""<h1>{_(ERRORS_TITLE)}</h1>
<div role="alert">
<p>{escape(say(language, count))}</p>
<ul>
{items}
</ul>
</div>
{more or ""}
<p>{_("Use your browser's Back button to return to the form: what you typed is still there.")}</p>
<p><a href="{escape(back_to)}">{_("Back to the form")}</a></p>"""
    return page(_(ERRORS_TITLE), body, language)


def problem_page(message: str, back_to: str, more: str | None = None, kind: str | None = None,
                 language: str = SOURCE_LANGUAGE) -> str:
    """`more`: HTML already escaped, shown after the message (a way forward, such as a claim);
    `kind`: the form or look-up that was sent, which names the page. `message` is in `language`."""
    _ = speaker(language)
    title = _(LOOKUP_PROBLEM_TITLES.get(kind or "", PROBLEM_TITLE))
    back = _("Try again") if kind in LOOKUP_PROBLEM_TITLES else _("Back to the form")
    body = f"""<h1>{escape(title)}</h1>
<p role="alert">{escape(message)}</p>
{more or ""}
<p><a href="{escape(back_to)}">{back}</a></p>"""
    return page(title, body, language)


def claim_form(
    action: str, fields: dict[str, str], message: str, honeypot: str, typed: Mapping[str, str] | None = None,
    language: str = SOURCE_LANGUAGE,
) -> str:
    """A plain form that contests a claim (a serial registered by someone else) with proof of purchase.

    `fields` are sent as they are (the topic, the serial as the product reference);
    `typed`: the name and email given on the refused form, carried over. The
    person may edit the message. It works without JavaScript, in the site's
    form style (its classes), and like every form carries the hidden honeypot
    and, in another language than English, the language the answer is to be in.
    """
    _ = speaker(language)
    sent = {**fields, "language": language} if language != SOURCE_LANGUAGE else fields
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in sent.items()
    )
    name, email = (escape((typed or {}).get(key, ""), quote=True) for key in ("name", "email"))
    return f"""<section class="af-claim" aria-labelledby="claim-title">
<h2 id="claim-title">{_("Is it yours? Claim it")}</h2>
<p>{_("Send us this form and reply to our email with a photo of your receipt as proof of purchase. "
      "We check it and, if the product is yours, move the warranty to you.")}</p>
<form method="post" action="{escape(action)}" class="af-form">
{hidden}
<div class="af-field"><label class="af-label" for="claim-name">{_("Your name")}</label>
<input id="claim-name" name="name" autocomplete="name" required maxlength="120" value="{name}"></div>
<div class="af-field"><label class="af-label" for="claim-email">{_("Email address")}</label>
<input id="claim-email" name="email" type="email" autocomplete="email" required maxlength="254"
 value="{email}"></div>
<div class="af-field"><label class="af-label" for="claim-message">{_("Your message")}</label>
<textarea id="claim-message" name="message" rows="5" required maxlength="5000">
{escape(message)}</textarea></div>
<p hidden><label for="claim-{escape(honeypot)}">{_("Leave this field empty")}</label>
<input id="claim-{escape(honeypot)}" name="{escape(honeypot)}" value="" tabindex="-1" autocomplete="off"></p>
<button type="submit" class="md-button md-button--primary">{_("Send my claim")}</button>
</form>
</section>"""


def thanks_page(sent: Thanks, language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    body = f"""<h1>{_("Thank you")}</h1>
<p>{_("We have your form. Your reference is")}</p>
<p class="reference"><strong>{escape(sent.reference)}</strong></p>
<p>{_("Please quote it if you contact us about this.")}</p>
{worked_out(sent, language)}{_track_link(sent.reference, language)}<p><a href="{in_language("/", language)}">{
        _("Back to Aftercare")}</a></p>"""
    return page(_("Thank you"), body, language)


def day(iso: object, language: str = SOURCE_LANGUAGE) -> str:
    """A date as people write it: 2 November 2028, 2 नवंबर 2028."""
    try:
        when = date.fromisoformat(str(iso))
    except ValueError:
        return escape(str(iso))
    return escape(day_in_words(when, language))


def worked_out(sent: Thanks, language: str = SOURCE_LANGUAGE) -> str:
    """What the API worked out from the form (a warranty's end, a return window), as facts."""
    _ = speaker(language)
    answer = sent.answer
    facts: list[tuple[str, str]] = []
    if "expires_on" in answer:
        facts = [(_("Product"), escape(str(answer.get("product_name", "")))),
                 (_("Warranty ends on"), day(answer["expires_on"], language))]
    elif "return_window_ends_on" in answer:
        inside, covered = answer.get("inside_return_window"), answer.get("under_warranty")
        window, warranty = answer["return_window_ends_on"], answer["warranty_expires_on"]
        facts = [
            (_("Return window"), (_("open until {date}") if inside else _("ended on {date}")).format(
                date=day(window, language))),
            (_("Warranty"), (_("ends on {date}") if covered else _("ended on {date}")).format(
                date=day(warranty, language))),
        ]
    if not facts:
        return ""
    rows = "\n".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">\n{rows}\n</dl>\n'


NO_THANKS_TITLE = N_("This confirmation is no longer available")


def no_thanks_page(language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    contact = f'<a href="{in_language("/contact/", language)}">{_("contact us")}</a>'
    body = f"""<h1>{_(NO_THANKS_TITLE)}</h1>
<p>{_("We show a reference only just after its form is sent, and only to the browser that sent it, "
      "for a few minutes.")}</p>
<p>{_("If you sent us a form and did not note its reference, {contact}: "
      "we can find your form from your details.").format(contact=contact)}</p>
<p><a href="{in_language("/", language)}">{_("Back to Aftercare")}</a></p>"""
    return page(_(NO_THANKS_TITLE), body, language)


def _track_link(reference: str, language: str = SOURCE_LANGUAGE) -> str:
    """Cases can be followed: the link carries the reference only, never the email address."""
    _ = speaker(language)
    prefix = reference.split("-", 1)[0]
    cases = case_policy().lifecycles
    if not any(form.reference_prefix == prefix for kind, form in FORMS.items() if kind in cases):
        return ""
    link = f'<a href="{escape(track_path(reference, language))}">{_("Follow your request")}</a>'
    return "<p>" + _("{link} with this reference and your email address.").format(link=link) + "</p>\n"


def warranty_status_page(status: WarrantyStatus, back_to: str, language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    product = escape(status.product_name)
    verdict = (_("Your {product} is under warranty.") if status.under_warranty
               else _("Your {product} is no longer under warranty.")).format(product=product)
    ends = _("Warranty ends on") if status.under_warranty else _("Warranty ended on")
    body = f"""<h1>{_("Your warranty")}</h1>
<p>{verdict}</p>
<dl>
<dt>{_("Registered on")}</dt><dd>{day(status.registered_on, language)}</dd>
<dt>{ends}</dt><dd>{day(status.expires_on, language)}</dd>
</dl>
<p><a href="{escape(back_to)}">{_("Check another product")}</a></p>"""
    return page(_("Your warranty"), body, language)


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
def site_page(kind: str, language: str = SOURCE_LANGUAGE) -> str | None:
    """The built page that shows this form in a language (each other language's in its folder),
    or None when the site was not built with the API."""
    folder = SITE_PAGES if language == SOURCE_LANGUAGE else f"{SITE_PAGES}/{language}"
    path = resources.files("chalicelib").joinpath(f"{folder}/{kind}.html")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def form_prefix(kind: str) -> str:
    """The id prefix the site's form markup gives a form's elements."""
    return f"f-{kind.replace('_', '-')}"


def control_id(kind: str, field: str) -> str:
    return f"{form_prefix(kind)}-{field.replace('_', '-')}"


def form_page(
    kind: str, typed: Mapping[str, str], errors: list[FieldError], *, posted: bool = True,
    after_form: str = "", language: str = SOURCE_LANGUAGE,
) -> str | None:
    """The form's own page, filled with what was typed and marked with `errors`; None without it.

    `posted`: `typed` is a whole post (a box left out was unticked); otherwise
    it is a link's few values, and every other control keeps its default.
    `after_form`: HTML already escaped, put right after the form (a way forward, such as a claim).
    `errors` are in `language`, the language of the page.
    """
    shell = site_page(kind, language)
    if shell is None:
        return None
    filler = _FormFiller(kind, typed, errors, fields=set(FIELD_NAME.findall(shell)), posted=posted)
    filler.error_word = say(language, N_("Error: "))
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
        self.error_word = "Error: "

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
        if self.in_title and (self.errors or self.loose) and not data.startswith(self.error_word):
            data = self.error_word + data
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
            hidden = f'<span class="af-visually-hidden">{escape(self.error_word)}</span>'
            return hidden + escape(self.errors[self.field])
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


UNSUBSCRIBE_TITLE = N_("Unsubscribe from product news and offers")


def unsubscribe_confirm_page(token: str, language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    in_other = f'\n<input type="hidden" name="language" value="{escape(language)}">' if (
        language != SOURCE_LANGUAGE) else ""
    body = f"""<h1>{_(UNSUBSCRIBE_TITLE)}</h1>
<p>{_("Press the button and we will send you no more product news or offers by email. "
      "Emails about your own requests, such as replies to an enquiry, still reach you.")}</p>
<form method="post" action="/api/unsubscribe">
<input type="hidden" name="token" value="{escape(token)}">{in_other}
<button type="submit" class="md-button md-button--primary">{_("Unsubscribe")}</button>
</form>
<p><a href="{in_language("/", language)}">{_("Back to Aftercare")}</a></p>"""
    return page(_(UNSUBSCRIBE_TITLE), body, language)


def unsubscribed_page(language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    body = f"""<h1>{_("You are unsubscribed")}</h1>
<p role="status">{_("We have withdrawn your consent: you will get no more product news or offers from us "
                    "by email. If you change your mind, tick the box on any of our forms.")}</p>
<p><a href="{in_language("/", language)}">{_("Back to Aftercare")}</a></p>"""
    return page(_("You are unsubscribed"), body, language)


def unsubscribe_problem_page(expired: bool, language: str = SOURCE_LANGUAGE) -> str:
    _ = speaker(language)
    reason = (_("This unsubscribe link is too old to use.") if expired
              else _("This unsubscribe link is not one of ours, or it was cut short when it was copied."))
    title = _("We could not unsubscribe you with this link")
    enquiry = f'<a href="{in_language("/contact/", language)}">{_("send us an enquiry")}</a>'
    body = f"""<h1>{title}</h1>
<p role="alert">{reason} {_("Nothing has changed.")}</p>
<p>{_("To stop product news and offers, use the link in a more recent email from us, or "
      "{enquiry} and we will do it for you.").format(enquiry=enquiry)}</p>"""
    return page(title, body, language)
