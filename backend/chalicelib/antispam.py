"""Spam screening without third parties: a honeypot field and a minimum fill time.

- The honeypot (`website`, hidden from people and from screen readers) is only
  ever filled by robots. A hit is answered exactly as the same body would be
  without it (the field errors if invalid, else a success with a real-looking
  reference and the usual details), and nothing is stored: the robot learns nothing.
- The fill time (`X-Form-Fill-Ms`, sent by the site's script) applies to
  JavaScript posts only; API clients and no-JavaScript forms do not send it.
  Too fast a post is refused with a 400 that asks to send again, rather than
  silently dropped: a quick person (autofill, a one-click page vote) must not
  lose what they sent without knowing, and their second try, seconds later,
  passes. A robot that runs the site's script and reads this answer could also
  have read this file; the honeypot is the trap that stays silent.
"""

from __future__ import annotations

from enum import Enum

from chalicelib.web import FormPost

MINIMUM_FILL_MILLISECONDS = 2000
TOO_FAST_MESSAGE = "That was quicker than we expected. Please check the form and send it again."


class Verdict(Enum):
    GENUINE = "genuine"
    DECOY = "decoy"  # answer as if stored, store nothing
    TOO_FAST = "too-fast"  # refuse with 400, store nothing


def screen(post: FormPost, *, timed: bool = True) -> Verdict:
    """`timed=False` for a single click (a page vote): there is no filling to time."""
    if post.honeypot_filled:
        return Verdict.DECOY
    if (
        timed
        and not post.from_browser_form
        and post.fill_milliseconds is not None
        and post.fill_milliseconds < MINIMUM_FILL_MILLISECONDS
    ):
        return Verdict.TOO_FAST
    return Verdict.GENUINE
