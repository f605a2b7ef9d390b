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
  window (`PlainPostLimits`, a 429 with Retry-After). A person without
  JavaScript sends both headers without knowing; leaving the fill time out
  buys a script nothing.

The per-address limits count what costs us something, so one honest person
never meets them, and a shop's Wi-Fi or a mobile carrier's NAT (many people
behind one address) rarely does: per address and ten minutes, 60 forms stored
or look-ups answered (a form refused with a 400 and sent again is counted once,
when it is taken; a repeat of one already taken is not counted again), 120 page
votes apart from those (a vote never uses up a form's room), and a ceiling of
300 plain posts of any kind, refused ones included, so that a robot cannot
post garbage without end. Each function instance counts its own; the CDN's
per-address rule is the limit across them all.

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

from chalicelib.languages import N_
from chalicelib.web.posts import CROSS_SITE, SAME_SITE, FormPost

MINIMUM_FILL_MILLISECONDS = 2000
TOO_FAST_MESSAGE = N_("That was quicker than we expected. Please check the form and send it again.")
CROSS_SITE_MESSAGE = N_("We only take forms sent from our own site. Please use the form on our help centre.")
RATE_LIMITED_MESSAGE = N_("We have had a lot of forms from your connection just now. Please try again later.")
PLAIN_POST_WINDOW_SECONDS = 600
PLAIN_FORMS_PER_WINDOW = 60  # forms stored and look-ups answered (see the module's docstring)
PLAIN_VOTES_PER_WINDOW = 120  # "Was this page helpful?" votes and their comments
PLAIN_POSTS_PER_WINDOW = 300  # every plain post, refused ones too
MAX_ADDRESSES = 10_000  # the oldest are forgotten first: memory stays bounded


class Verdict(Enum):
    GENUINE = "genuine"
    DECOY = "decoy"  # answer as if stored, store nothing
    TOO_FAST = "too-fast"  # refuse with 400, store nothing
    CROSS_SITE = "cross-site"  # refuse with 403: not from our site, or says nothing of where from
    RATE_LIMITED = "rate-limited"  # refuse with 429 and Retry-After


@dataclass
class PlainPostLimit:
    """At most `limit` counted posts per address in a sliding window, per instance."""

    limit: int = PLAIN_FORMS_PER_WINDOW
    window_seconds: int = PLAIN_POST_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, init=False, repr=False)

    def has_room(self, address: str) -> bool:
        """Whether one more post from `address` would be within the limit (counts nothing)."""
        return len(self._times(address)) < self.limit

    def count(self, address: str) -> None:
        self._times(address).append(self.clock())

    def allow(self, address: str) -> bool:
        """Count the post if there is room for it; answer whether there was."""
        allowed = self.has_room(address)
        if allowed:
            self.count(address)
        return allowed

    def _times(self, address: str) -> deque[float]:
        now = self.clock()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        self._seen[address] = times
        while len(self._seen) > MAX_ADDRESSES:
            self._seen.popitem(last=False)
        return times


def _limit(limit: int) -> Callable[[], PlainPostLimit]:
    return lambda: PlainPostLimit(limit)


@dataclass
class PlainPostLimits:
    """The per-address limits on posts held to the no-JavaScript rules (see the module docstring).

    `forms` is checked at screening and counted only once a form is taken (`count_taken`)."""

    forms: PlainPostLimit = field(default_factory=_limit(PLAIN_FORMS_PER_WINDOW))
    votes: PlainPostLimit = field(default_factory=_limit(PLAIN_VOTES_PER_WINDOW))
    every_post: PlainPostLimit = field(default_factory=_limit(PLAIN_POSTS_PER_WINDOW))

    @classmethod
    def of(cls, forms: int) -> PlainPostLimits:
        """Limits with `forms` forms per window, the others in proportion (a test, a deploy setting)."""
        votes = forms * PLAIN_VOTES_PER_WINDOW // PLAIN_FORMS_PER_WINDOW
        posts = forms * PLAIN_POSTS_PER_WINDOW // PLAIN_FORMS_PER_WINDOW
        return cls(PlainPostLimit(forms), PlainPostLimit(max(1, votes)), PlainPostLimit(max(1, posts)))

    def admit(self, address: str, *, vote: bool) -> bool:
        if not self.every_post.allow(address):
            return False
        if vote:
            return self.votes.allow(address)
        return self.forms.has_room(address)

    def count_taken(self, address: str) -> None:
        self.forms.count(address)


def held_to_plain_rules(post: FormPost, *, timed: bool = True) -> bool:
    """A post without a usable fill time: a plain HTML form, a script that leaves it out, a vote."""
    return not (timed and not post.from_browser_form and post.fill_milliseconds is not None)


def screen(
    post: FormPost, limits: PlainPostLimits | None = None, address: str = "", *, timed: bool = True,
) -> Verdict:
    """`timed=False` for a single click (a page vote): there is no filling to time, so
    its fill time counts for nothing and it is held to the no-JavaScript rules, and to
    the votes' own limit."""
    if post.site == CROSS_SITE:
        return Verdict.CROSS_SITE
    plain = held_to_plain_rules(post, timed=timed)
    if plain and post.site != SAME_SITE:
        return Verdict.CROSS_SITE
    if post.honeypot_filled:
        return Verdict.DECOY
    if not plain:
        assert post.fill_milliseconds is not None
        return Verdict.TOO_FAST if post.fill_milliseconds < MINIMUM_FILL_MILLISECONDS else Verdict.GENUINE
    if limits is not None and not limits.admit(address, vote=not timed):
        return Verdict.RATE_LIMITED
    return Verdict.GENUINE
