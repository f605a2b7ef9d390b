"""The plain HTML page a no-JavaScript "Track a request" post is answered with."""

from __future__ import annotations

from datetime import date
from html import escape

from chalicelib.forms.tracking import CaseProgress
from chalicelib.languages import SOURCE_LANGUAGE, day_in_words, speaker
from chalicelib.web.pages import page


def case_progress_page(progress: CaseProgress, back_to: str, language: str = SOURCE_LANGUAGE) -> str:
    """The case's words are already in `language` (the tracker's); the page's own are said here."""
    _ = speaker(language)

    def on(day: date) -> str:
        return day_in_words(day, language)

    facts = [(_("Reference"), progress.reference), (_("Received on"), on(progress.received_on))]
    if progress.handler:
        facts.append((_("Handled by"), progress.handler))
    if progress.visit_window:
        facts.append((_("Visit window"), progress.visit_window))
    if progress.next_step:
        facts.append((_("What happens next"), progress.next_step))
    if progress.next_step_due_on:
        facts.append((_("We promised this by"), on(progress.next_step_due_on)))
    listed = "\n".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    steps = "\n".join(f"<li>{on(step.on)}: {escape(step.words)}</li>" for step in progress.steps)
    messages = "\n".join(
        f"<li><p>{on(message.on)}</p><p>{escape(message.message)}</p></li>" for message in progress.messages
    )
    told = (f'<h2>{_("Messages from us")}</h2>\n<ul class="af-messages">\n{messages}\n</ul>\n'
            if messages else "")
    what = progress.title.lower() if language == SOURCE_LANGUAGE else progress.title
    title = _("Your {what}").format(what=what)
    body = f"""<h1>{escape(title)}</h1>
<p class="af-status"><strong>{escape(progress.status_words)}</strong></p>
<dl>
{listed}
</dl>
<h2>{_("What has happened so far")}</h2>
<ol>
{steps}
</ol>
{told}<p><a href="{escape(back_to)}">{_("Track another request")}</a></p>"""
    return page(title, body, language)
