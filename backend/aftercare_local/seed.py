"""`python -m aftercare_local seed`: a few hundred mixed forms, votes and ratings sent through the
API, and cases moved through their lifecycles by a staff desk, for the insight page to show.

Everything goes the way it goes in use: forms are posted to the running server's API (as the
site's script posts them), cases are moved through the staff desk (audited, under the actor
"seed"), and a case is rated through the feedback form with the signed follow-up link's token,
as the email asking how we did would carry it. The stream reader counts it all.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from chalicelib.cases import follow_up
from chalicelib.cases.book import Change
from chalicelib.forms import FORMS
from chalicelib.rules.catalog import catalog, normalise_serial
from chalicelib.rules.lifecycles import case_policy
from chalicelib.settings import Settings
from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.exceptions import StaffError

# As the site's script in a browser posts: its fill time and the browser's Sec-Fetch-Site.
BROWSER_JSON = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}
# Of every hundred forms, how many of each kind (the rest are page votes).
SHARES = {"feedback": 18, "warranty_registration": 10, "complaint": 14, "return_request": 12, "enquiry": 12,
          "service_visit": 6}
PAGES = ("/guides/aura-book-14/", "/guides/purewash-8/", "/help/returns/", "/help/warranty/")
MISSING = ("Say where the reset button is.", "A picture of the filter would help.", "How long does it take?")
ACTOR = "seed@aftercare.example"


@dataclass
class Seeded:
    """What the seed did: forms taken per kind, refusals, case moves, ratings tied to cases."""

    posted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    moves: int = 0
    rated: int = 0
    cases: list[str] = field(default_factory=list)


@dataclass
class Seeder:
    base_url: str
    settings: Settings
    chance: random.Random
    today: date
    seeded: Seeded = field(default_factory=Seeded)

    def post(self, kind: str, body: dict[str, Any]) -> str | None:
        request = urllib.request.Request(f"{self.base_url}/api{FORMS[kind].path}", method="POST",  # noqa: S310
                                         data=json.dumps(body).encode(), headers=BROWSER_JSON)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own server
                reference = str(json.load(answer)["reference"])
        except urllib.error.HTTPError as refusal:
            self.seeded.refused[f"{kind} {refusal.code}"] += 1
            return None
        self.seeded.posted[kind] += 1
        return reference

    def body(self, kind: str, **changes: Any) -> dict[str, Any]:
        body = dict(FORMS[kind].model.example(self.today))  # type: ignore[attr-defined]
        fields = FORMS[kind].model.model_fields
        body.update({name: value for name, value in changes.items() if name in fields})
        return body

    def product(self) -> dict[str, Any]:
        product = catalog().product(self.chance.choice(sorted(catalog().product_names())))
        serial = product.serial_example
        for _ in range(50):
            tail = "".join(self.chance.choice("0123456789") if c.isdigit() else c for c in serial[-5:])
            candidate = serial[:-5] + tail
            if product.accepts_serial(normalise_serial(candidate)):
                serial = candidate
                break
        released = max(product.released, self.today - timedelta(days=20))
        return {"product": product.id, "serial_number": serial,
                "purchase_date": (released + timedelta(days=self.chance.randint(0, 5))).isoformat()}

    def one(self, kind: str) -> None:
        chance = self.chance
        if kind == "feedback":
            self.post(kind, self.body(kind, **{aspect: chance.randint(1, 5) for aspect in (
                "overall", "product_quality", "staff_attitude", "speed_of_service", "keeping_promises")},
                case_reference=None, comment=None))
        elif kind == "page_feedback":
            page, helpful = chance.choice(PAGES), chance.random() < 0.65
            self.post(kind, {"page": page, "helpful": helpful})
            if not helpful and chance.random() < 0.5:
                self.post(kind, {"page": page, "helpful": False, "follows_vote": True,
                                 "comment": chance.choice(MISSING)})
        else:
            changes: dict[str, Any] = {"follow_up_consent": chance.random() < 0.6, **self.product()}
            if kind == "complaint":
                changes["category"] = chance.choice(["product-fault", "poor-service", "delivery", "other"])
            elif kind == "return_request":
                changes["wanted_outcome"] = chance.choice(["repair", "replacement", "refund", "exchange"])
            elif kind == "enquiry":
                changes["topic"] = chance.choice(["product-use", "installation", "warranty", "returns"])
            elif kind == "service_visit":
                changes["need"] = chance.choice(["installation", "repair"])
            reference = self.post(kind, self.body(kind, **changes))
            if reference and kind in case_policy().lifecycles:
                self.seeded.cases.append(reference)

    def move(self, desk: StaffDesk, reference: str) -> None:
        """A case along its lifecycle, a random number of steps, each carrying what its move needs."""
        chance = self.chance
        shown = desk.case(reference)
        kind, status = shown["kind"], shown["status"]
        lifecycle = case_policy().lifecycle(kind)
        for _ in range(chance.randint(0, 5)):
            here = lifecycle.status(status)
            if here.closed:
                break
            target = chance.choice(here.moves) if kind == "return_request" else here.moves[-1] \
                if status in ("done", "resolved") else here.moves[0]
            needs = lifecycle.status(target).needs
            week_on = self.today + timedelta(days=7)
            visit = week_on + timedelta(days=2 if week_on.weekday() >= 5 else 0)
            change = Change(status=target, handler="Sam Lee" if "handler" in needs else None,
                            note="Done as agreed." if "note" in needs else None,
                            message="We have looked into it." if "message" in needs else None,
                            window=f"{visit.isoformat()} morning" if "window" in needs else None)
            try:
                desk.change_case(reference, change)
            except StaffError:
                break
            status = target
            self.seeded.moves += 1
        if lifecycle.status(status).closed and chance.random() < 0.7:
            self.rate(reference)

    def rate(self, reference: str) -> None:
        """The customer answers the email asking how we did, through its signed link."""
        token = follow_up.sign(self.settings.subject_hasher(), reference, _far(self.today))
        if self.post("feedback", self.body("feedback", overall=self.chance.randint(1, 5), comment=None,
                                           case_reference=reference, follow_up_token=token)):
            self.seeded.rated += 1


def _far(today: date) -> Any:
    from datetime import UTC, datetime, time

    return datetime.combine(today + timedelta(days=follow_up.LINK_DAYS), time(), UTC)


def seed(base_url: str, settings: Settings, *, forms: int = 300, seed_number: int = 7,
         today: date | None = None) -> Seeded:
    """Post `forms` mixed forms and votes, then move every case a random way and rate some."""
    from datetime import UTC, datetime

    chance = random.Random(seed_number)  # noqa: S311 - a test mix, not a secret
    seeder = Seeder(base_url.rstrip("/"), settings, chance, today or datetime.now(UTC).date())
    kinds = [kind for kind, share in SHARES.items() for _ in range(share)]
    kinds += ["page_feedback"] * (100 - len(kinds))
    for _ in range(forms):
        seeder.one(seeder.chance.choice(kinds))
    desk = StaffDesk.for_actor(settings, ACTOR)
    for reference in seeder.seeded.cases:
        seeder.move(desk, reference)
    return seeder.seeded
