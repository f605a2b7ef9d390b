"""Spam screening without third parties: where a post came from, a honeypot, a fill time, a per-address limit.

- Cross-site posts are refused (403): a browser names the page's site in
  Sec-Fetch-Site or Origin, and a page on another site cannot change either, so
  no other site can have its visitors' browsers post to us.
- The honeypot (`website`, hidden from people and from screen readers) is only
  ever filled by robots. A hit is answered exactly as the same body would be
  without it (the field errors if invalid, else a success with a real-looking
  reference and the usual details), and nothing is stored: the robot learns nothing.
- The fill time (`X-Form-Fill-Ms`, sent by the site's script) screens JSON
  posts that carry it: too fast is refused with a 400 that asks to send again,
  rather than silently dropped, so a quick person (autofill) knows, and their
  second try, seconds later, passes. A page vote is a single click, with no
  filling to time: its fill time counts for nothing and it is screened as a
  post without one (below).
- A post without a fill time (a plain HTML form, or a script that leaves the
  header out) is held to the no-JavaScript rules instead: the browser must say
  it comes from our own site (Sec-Fetch-Site or Origin; a post that says
  nothing is refused), and each address may send only so many such posts in a
  window (`PlainPostLimit`, a 429 with Retry-After). A person without
  JavaScript sends both headers without knowing; leaving the fill time out
  buys a script nothing.

A robot that runs the site's script and reads these answers could also have
read this file; the honeypot is the trap that stays silent, and the CDN's
per-address rule is the limit that holds across every instance of the function.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from chalicelib.web.posts import CROSS_SITE, SAME_SITE, FormPost

MINIMUM_FILL_MILLISECONDS = 2000
TOO_FAST_MESSAGE = "That was quicker than we expected. Please check the form and send it again."
CROSS_SITE_MESSAGE = "We only take forms sent from our own site. Please use the form on our help centre."
RATE_LIMITED_MESSAGE = "We have had a lot of forms from your connection just now. Please try again later."
PLAIN_POSTS_PER_WINDOW = 20
PLAIN_POST_WINDOW_SECONDS = 600
MAX_ADDRESSES = 10_000  # the oldest are forgotten first: memory stays bounded


class Verdict(Enum):
    GENUINE = "genuine"
    DECOY = "decoy"  # answer as if stored, store nothing
    TOO_FAST = "too-fast"  # refuse with 400, store nothing
    CROSS_SITE = "cross-site"  # refuse with 403: not from our site, or says nothing of where from
    RATE_LIMITED = "rate-limited"  # refuse with 429 and Retry-After


@dataclass
class PlainPostLimit:
    """At most `limit` posts without a fill time per address in a sliding window, per instance."""

    limit: int = PLAIN_POSTS_PER_WINDOW
    window_seconds: int = PLAIN_POST_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, init=False, repr=False)

    def allow(self, address: str) -> bool:
        now = self.clock()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        self._seen[address] = times
        while len(self._seen) > MAX_ADDRESSES:
            self._seen.popitem(last=False)
        return allowed


def screen(
    post: FormPost, limit: PlainPostLimit | None = None, address: str = "", *, timed: bool = True,
) -> Verdict:
    """`timed=False` for a single click (a page vote): there is no filling to time, so
    its fill time counts for nothing and it is held to the no-JavaScript rules."""
    if post.site == CROSS_SITE:
        return Verdict.CROSS_SITE
    timed = timed and not post.from_browser_form and post.fill_milliseconds is not None
    if not timed and post.site != SAME_SITE:
        return Verdict.CROSS_SITE
    if post.honeypot_filled:
        return Verdict.DECOY
    if timed:
        assert post.fill_milliseconds is not None
        return Verdict.TOO_FAST if post.fill_milliseconds < MINIMUM_FILL_MILLISECONDS else Verdict.GENUINE
    if limit is not None and not limit.allow(address):
        return Verdict.RATE_LIMITED
    return Verdict.GENUINE
