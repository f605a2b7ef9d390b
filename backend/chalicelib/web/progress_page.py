"""The plain HTML page a no-JavaScript "Track a request" post is answered with."""

from __future__ import annotations

from datetime import date
from html import escape

from chalicelib.forms.tracking import CaseProgress
from chalicelib.web.pages import page


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def case_progress_page(progress: CaseProgress, back_to: str) -> str:
    facts = [("Reference", progress.reference), ("Received on", _day(progress.received_on))]
    if progress.handler:
        facts.append(("Handled by", progress.handler))
    if progress.visit_window:
        facts.append(("Visit window", progress.visit_window))
    if progress.next_step:
        facts.append(("What happens next", progress.next_step))
    if progress.next_step_due_on:
        facts.append(("We promised this by", _day(progress.next_step_due_on)))
    listed = "\n".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    steps = "\n".join(f"<li>{_day(step.on)}: {escape(step.words)}</li>" for step in progress.steps)
    messages = "\n".join(
        f"<li><p>{_day(message.on)}</p><p>{escape(message.message)}</p></li>" for message in progress.messages
    )
    told = f'<h2>Messages from us</h2>\n<ul class="af-messages">\n{messages}\n</ul>\n' if messages else ""
    body = f"""<h1>Your {escape(progress.title.lower())}</h1>
<p class="af-status"><strong>{escape(progress.status_words)}</strong></p>
<dl>
{listed}
</dl>
<h2>What has happened so far</h2>
<ol>
{steps}
</ol>
{told}<p><a href="{escape(back_to)}">Track another request</a></p>"""
    return page(f"Your {progress.title.lower()}", body)
