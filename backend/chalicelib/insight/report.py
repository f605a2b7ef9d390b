"""The insight page's figures for a period, from the daily counters alone.

One Query reads the aggregate items of the period and of the period before it (for the
change); nothing else is read and nothing is decrypted. The figures come out as `Table`s:
a title, column headings and rows of cells, each number cell with the link to the list
behind it (drill-down), drawn as a chart and as an accessible table by the page, and
written as CSV by the download. Medians and 90th percentiles come from the histograms,
so they are said as "under N hours" (the bucket they fall in).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from chalicelib.forms import FORMS
from chalicelib.insight import counters, tally
from chalicelib.insight.counters import BUCKET_HOURS, OVER, Adds, parts
from chalicelib.rules.catalog import catalog
from chalicelib.rules.lifecycles import CasePolicy
from chalicelib.store.table import SubmissionTable

PERIOD_WEEKS = (4, 13, 52)
LONGEST_PERIOD_DAYS = 5 * 366
SATISFIED = (4, 5)
SUBMISSIONS_LIST = "/staff/submissions"
CASES_LIST = "/staff/cases"
# The statuses a case's outcome is read from: what a return became, a complaint resolved, ...
OUTCOME_STATUSES = {
    "return_request": ("repair_item_received", "replacement_item_received", "exchange_item_received",
                       "refund_item_received", "declined"),
    "complaint": ("resolved",),
    "service_visit": ("done",),
    "enquiry": ("answered",),
}
ASPECT_WORDS = {"overall": "Overall", "product_quality": "Product quality",
                "staff_attitude": "Staff attitude", "speed_of_service": "Speed of service",
                "keeping_promises": "Keeping promises"}


class BadPeriod(ValueError):
    """A period the page cannot show; the message names the field."""


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included."""

    start: date
    end: date

    @classmethod
    def last_weeks(cls, weeks: int, today: date) -> Period:
        return cls(today - timedelta(days=7 * weeks - 1), today)

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        if end < start:
            raise BadPeriod("to: the end of the period comes before its start")
        if (end - start).days > LONGEST_PERIOD_DAYS:
            raise BadPeriod(f"from: a period is at most {LONGEST_PERIOD_DAYS} days long")
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def weeks(self) -> list[Period]:
        """The period in weeks counted back from its end (the first may be shorter)."""
        found = []
        end = self.end
        while end >= self.start:
            start = max(self.start, end - timedelta(days=6))
            found.append(Period(start, end))
            end = start - timedelta(days=1)
        return found[::-1]

    def holds(self, day: str) -> bool:
        return self.start.isoformat() <= day <= self.end.isoformat()


@dataclass(frozen=True)
class Filters:
    """Product and kind, as picked on the page (empty: all). A counter without the dimension a
    filter asks for (a page vote has no product) is left out while that filter is set."""

    product: str = ""
    kind: str = ""

    def passes(self, kind: str | None, product: str | None) -> bool:
        if self.kind and kind != self.kind:
            return False
        return not self.product or product == self.product


@lru_cache(maxsize=65_536)
def dimensions(counter: str) -> tuple[str | None, str | None]:
    """The kind and product a counter is about, where it has them."""
    measure, *rest = parts(counter)
    if measure == "sub" or measure == "caserate" or measure == "move":
        return rest[0], rest[1]
    if measure == "detail":
        return rest[0], rest[3]
    if measure in ("first", "close", "promise", "followup"):
        return rest[0], None
    if measure == "rate":
        return counters.FEEDBACK_KIND, None
    if measure in ("vote", "missing"):
        return counters.PAGE_KIND, None
    return None, None


def totals(adds: Adds, period: Period, filters: Filters) -> Counter[str]:
    """Each counter summed over the days of the period that pass the filters."""
    return sums(adds, [period], filters)[0]


def sums(adds: Adds, periods: list[Period], filters: Filters) -> list[Counter[str]]:
    """`totals` for several periods in one pass over the counters: each day's counters are
    added to every period that holds the day (the page's period, the one before, each week)."""
    found: list[Counter[str]] = [Counter() for _ in periods]
    for (day, _), counts in adds.items():
        holding = [found[index] for index, period in enumerate(periods) if period.holds(day)]
        if not holding:
            continue
        for counter, number in counts.items():
            if number and filters.passes(*dimensions(counter)):
                for total in holding:
                    total[counter] += number
    return found


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None = None
    link: str | None = None


@dataclass
class Table:
    """One chart's figures: rows of cells under headings; `chart` says how the page draws it."""

    key: str
    title: str
    headings: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: str = "bar"  # bar: the first number column per row; line: one point per row
    note: str = ""


def _list_link(kind: str, product: str, period: Period) -> str:
    query = {"kind": kind, "product": "" if product in (counters.NONE, counters.OTHER) else product,
             "since": period.start.isoformat(), "until": period.end.isoformat()}
    return SUBMISSIONS_LIST + "?" + urlencode({name: value for name, value in query.items() if value})


def _cases_link(kind: str, queue: str, since: date | None = None) -> str:
    query = {"queue": queue, "kind": kind, "since": since.isoformat() if since else ""}
    return CASES_LIST + "?" + urlencode({name: value for name, value in query.items() if value})


def _number(value: float | None, link: str | None = None, digits: int = 0) -> Cell:
    if value is None:
        return Cell("–")
    return Cell(f"{value:.{digits}f}" if digits else f"{value:,.0f}", value, link)


def _share(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _percent(value: float | None) -> Cell:
    return Cell("–") if value is None else Cell(f"{value:.0f}%", value)


def _change(now: float | None, before: float | None, unit: str = "") -> Cell:
    if now is None or before is None:
        return Cell("–")
    delta = now - before
    return Cell(f"{delta:+.1f}{unit}", delta)


def _ratings(total: Counter[str], prefix: str) -> Counter[int]:
    found: Counter[int] = Counter()
    for counter, number in total.items():
        if counter.startswith(prefix):
            found[int(parts(counter)[-1])] += number
    return found


def average(ratings: Counter[int]) -> float | None:
    count = sum(ratings.values())
    return sum(value * number for value, number in ratings.items()) / count if count else None


def satisfied(ratings: Counter[int]) -> float | None:
    return _share(sum(ratings[value] for value in SATISFIED), sum(ratings.values()))


def percentile_bucket(histogram: Mapping[str, int], share: float) -> str | None:
    """The bucket in which the given share of the times falls ("under N hours"), or None."""
    count = sum(histogram.values())
    if not count:
        return None
    running = 0
    for bucket in counters.BUCKETS:
        running += histogram.get(bucket, 0)
        if running >= share * count:
            return bucket
    return OVER


def bucket_words(bucket: str | None) -> str:
    if bucket is None:
        return "–"
    if bucket == OVER:
        return f"over {BUCKET_HOURS[-1] // 24} days"
    hours = int(bucket)
    return f"under {hours // 24} day{'s' if hours > 24 else ''}" if hours >= 24 and hours % 24 == 0 \
        else f"under {hours} hour{'s' if hours > 1 else ''}"


def _by(total: Counter[str], measure: str, position: int) -> Counter[str]:
    found: Counter[str] = Counter()
    for counter, number in total.items():
        pieces = parts(counter)
        if pieces[0] == measure:
            found[pieces[position]] += number
    return found


@dataclass
class Report:
    period: Period
    filters: Filters
    tables: list[Table]
    headline: dict[str, tuple[float | None, float | None]]

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def read(table: SubmissionTable, period: Period, now: datetime) -> Adds:
    """The counters of the period and the one before it: one Query on the aggregate items."""
    return tally.stored(table, now, period.previous().start.isoformat(), period.end.isoformat())


def build(adds: Adds, period: Period, filters: Filters, policy: CasePolicy,
          open_cases: Iterable[Mapping[str, object]] = ()) -> Report:
    """Every figure of the page from the counters (read by `read`), and the cases open now
    (rows of the open-cases listing: kind, product, overdue), which no counter keeps."""
    weeks = period.weeks()
    total, before, *each_week = sums(adds, [period, period.previous(), *weeks], filters)
    weekly = list(zip(weeks, each_week, strict=True))
    tables = [
        *_satisfaction(total, before, weekly, period),
        *_pages(total, weekly, period),
        *_promises(total, weekly, period, policy, filters),
        open_now(open_cases, policy, filters),
        *_returns_and_complaints(total, weekly, period),
    ]
    overall_now, overall_before = _ratings(total, "rate|overall|"), _ratings(before, "rate|overall|")
    kept = _by(total, "promise", 2)
    kept_before = _by(before, "promise", 2)
    votes, votes_before = _by(total, "vote", 2), _by(before, "vote", 2)
    headline = {
        "Forms received": (float(sum(_by(total, "sub", 1).values())),
                           float(sum(_by(before, "sub", 1).values()))),
        "Average overall rating": (average(overall_now), average(overall_before)),
        "Satisfied (4 or 5), %": (satisfied(overall_now), satisfied(overall_before)),
        "Promises kept, %": (_share(kept["kept"], sum(kept.values())),
                             _share(kept_before["kept"], sum(kept_before.values()))),
        "Help pages found helpful, %": (_share(votes["yes"], sum(votes.values())),
                                        _share(votes_before["yes"], sum(votes_before.values()))),
    }
    return Report(period, filters, tables, headline)


def _week_label(week: Period) -> str:
    return f"{week.start:%d %b}"


def _satisfaction(total: Counter[str], before: Counter[str], weekly: list[tuple[Period, Counter[str]]],
                  period: Period) -> list[Table]:
    aspects = Table("satisfaction", "Satisfaction by aspect (feedback forms)",
                    ["Aspect", "Average of 5", "Satisfied (4 or 5)", "Ratings", "Average, change"])
    for aspect, words in ASPECT_WORDS.items():
        now, then = _ratings(total, f"rate|{aspect}|"), _ratings(before, f"rate|{aspect}|")
        aspects.rows.append([Cell(words), _number(average(now), _list_link("feedback", "", period), 2),
                             _percent(satisfied(now)), _number(sum(now.values())),
                             _change(average(now), average(then))])
    distribution = Table("distribution", "Overall rating: how many gave each score",
                         ["Score", "Ratings", "Share"])
    overall = _ratings(total, "rate|overall|")
    for value in counters.RATINGS:
        link = _list_link("feedback", "", period)
        distribution.rows.append([Cell(f"{value} of 5"), _number(overall[value], link),
                                  _percent(_share(overall[value], sum(overall.values())))])
    trend = Table("satisfaction_trend", "Average overall rating per week",
                  ["Week from", "Average of 5", "Ratings"], chart="line")
    for week, counts in weekly:
        ratings = _ratings(counts, "rate|overall|")
        link = _list_link("feedback", "", week)
        trend.rows.append([Cell(_week_label(week)), _number(average(ratings), link, 2),
                           _number(sum(ratings.values()))])
    by_product = Table("case_ratings_product", "Cases rated by their customer, per product",
                       ["Product", "Average of 5", "Satisfied (4 or 5)", "Ratings"])
    by_kind = Table("case_ratings_kind", "Cases rated by their customer, per kind of case",
                    ["Kind", "Average of 5", "Satisfied (4 or 5)", "Ratings", "Follow-up emails sent",
                     "Response rate"])
    names = catalog().product_names()
    products = sorted({parts(c)[2] for c in total if c.startswith("caserate|")})
    for product in products:
        ratings = _ratings(Counter({c: n for c, n in total.items()
                                    if c.startswith("caserate|") and parts(c)[2] == product}), "caserate|")
        by_product.rows.append([Cell(names.get(product, "No product")),
                                _number(average(ratings), None, 2), _percent(satisfied(ratings)),
                                _number(sum(ratings.values()))])
    sent = _by(total, "followup", 1)
    for kind in sorted({parts(c)[1] for c in total if c.startswith(("caserate|", "followup|"))}):
        ratings = _ratings(Counter({c: n for c, n in total.items()
                                    if c.startswith(f"caserate|{kind}|")}), "caserate|")
        by_kind.rows.append([Cell(FORMS[kind].title), _number(average(ratings), None, 2),
                             _percent(satisfied(ratings)), _number(sum(ratings.values())),
                             _number(sent[kind]), _percent(_share(sum(ratings.values()), sent[kind]))])
    return [aspects, distribution, trend, by_product, by_kind]


def _pages(total: Counter[str], weekly: list[tuple[Period, Counter[str]]], period: Period) -> list[Table]:
    pages = Table("pages", "Help pages: was this page helpful?",
                  ["Page", "Yes", "No", "Share of yes", "What was missing (comments)"])
    votes: dict[str, Counter[str]] = {}
    for counter, number in total.items():
        pieces = parts(counter)
        if pieces[0] == "vote":
            votes.setdefault(pieces[1], Counter())[pieces[2]] += number
        elif pieces[0] == "missing":
            votes.setdefault(pieces[1], Counter())["missing"] += number
    link = _list_link(counters.PAGE_KIND, "", period)
    for page, counts in sorted(votes.items(), key=lambda pair: -(pair[1]["yes"] + pair[1]["no"])):
        pages.rows.append([Cell(page), _number(counts["yes"], link), _number(counts["no"], link),
                           _percent(_share(counts["yes"], counts["yes"] + counts["no"])),
                           _number(counts["missing"])])
    trend = Table("pages_trend", "Share of yes per week, all pages", ["Week from", "Share of yes", "Votes"],
                  chart="line")
    for week, counts in weekly:
        answers = _by(counts, "vote", 2)
        link = _list_link(counters.PAGE_KIND, "", week)
        trend.rows.append([Cell(_week_label(week)), Cell(*_share_cell(answers), link),
                           _number(sum(answers.values()))])
    return [pages, trend]


def _share_cell(answers: Counter[str]) -> tuple[str, float | None]:
    share = _share(answers["yes"], sum(answers.values()))
    return ("–", None) if share is None else (f"{share:.0f}%", share)


def _promises(total: Counter[str], weekly: list[tuple[Period, Counter[str]]], period: Period,
              policy: CasePolicy, filters: Filters) -> list[Table]:
    kinds = [kind for kind in policy.lifecycles if not filters.kind or kind == filters.kind]
    flow = Table("cases_weekly", "Cases opened and closed per week",
                 ["Week from", *(f"{FORMS[k].title}: {what}" for k in kinds
                                 for what in ("opened", "closed"))])
    for week, counts in weekly:
        opened, closed = _by(counts, "sub", 1), Counter[str]()
        for counter, number in counts.items():
            pieces = parts(counter)
            if pieces[0] == "move" and policy.lifecycle(pieces[1]).statuses.get(pieces[3]) is not None \
                    and policy.lifecycle(pieces[1]).statuses[pieces[3]].closed:
                closed[pieces[1]] += number
        row = [Cell(_week_label(week))]
        for kind in kinds:
            row += [_number(opened[kind], _list_link(kind, "", week)),
                    _number(closed[kind], _cases_link(kind, "closed", week.start))]
        flow.rows.append(row)
    times = Table("promises", "Promises and times, per kind of case",
                  ["Kind", "Promises kept", "Kept", "Missed", "First answer: median", "First answer: 90%",
                   "Closing: median", "Closing: 90%"])
    for kind in kinds:
        kept = Counter({p[2]: n for c, n in total.items()
                        if (p := parts(c))[0] == "promise" and p[1] == kind})
        first = {p[2]: n for c, n in total.items() if (p := parts(c))[0] == "first" and p[1] == kind}
        close = {p[2]: n for c, n in total.items() if (p := parts(c))[0] == "close" and p[1] == kind}
        times.rows.append([Cell(FORMS[kind].title), _percent(_share(kept["kept"], sum(kept.values()))),
                           _number(kept["kept"]), _number(kept["missed"], _cases_link(kind, "overdue")),
                           Cell(bucket_words(percentile_bucket(first, 0.5))),
                           Cell(bucket_words(percentile_bucket(first, 0.9))),
                           Cell(bucket_words(percentile_bucket(close, 0.5))),
                           Cell(bucket_words(percentile_bucket(close, 0.9)))])
    return [flow, times]


def open_now(rows: Iterable[Mapping[str, object]], policy: CasePolicy, filters: Filters) -> Table:
    """Cases open now and overdue now, per kind: each number a link to that queue of the case list."""
    table = Table("open_now", "Cases open now, and overdue now", ["Kind", "Open", "Overdue"])
    opened: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for row in rows:
        kind, product = str(row.get("kind")), str(row.get("product") or counters.NONE)
        if filters.passes(kind, product):
            opened[kind] += 1
            overdue[kind] += bool(row.get("overdue"))
    for kind in policy.lifecycles:
        if filters.passes(kind, filters.product or None):
            table.rows.append([Cell(FORMS[kind].title),
                               _number(opened[kind], _queue_link(kind, "open", filters.product)),
                               _number(overdue[kind], _queue_link(kind, "overdue", filters.product))])
    return table


def _queue_link(kind: str, queue: str, product: str) -> str:
    query = {"queue": queue, "kind": kind, "product": product}
    return CASES_LIST + "?" + urlencode({name: value for name, value in query.items() if value})


def _returns_and_complaints(total: Counter[str], weekly: list[tuple[Period, Counter[str]]],
                            period: Period) -> list[Table]:
    names = catalog().product_names()
    reasons = Table("reasons", "Returns, complaints, enquiries and visits by reason, per product",
                    ["Kind", "Reason", "Product", "Count"])
    for counter, number in sorted(total.items()):
        pieces = parts(counter)
        if pieces[0] == "detail":
            kind, _, choice, product = pieces[1:]
            reasons.rows.append([Cell(FORMS[kind].title), Cell(choice.replace("_", " ").replace("-", " ")),
                                 Cell(names.get(product, "No product")),
                                 _number(number, _list_link(kind, product, period))])
    outcomes = Table("outcomes", "Outcomes of cases, per product", ["Kind", "Outcome", "Product", "Count"])
    for counter, number in sorted(total.items()):
        pieces = parts(counter)
        if pieces[0] == "move" and pieces[3] in OUTCOME_STATUSES.get(pieces[1], ()):
            outcomes.rows.append([Cell(FORMS[pieces[1]].title), Cell(outcome_words(pieces[3])),
                                  Cell(names.get(pieces[2], "No product")),
                                  _number(number, _list_link(pieces[1], pieces[2], period))])
    warranty = Table("warranty_weekly", "Warranty registrations per week, per product",
                     ["Week from", *names.values()])
    for week, counts in weekly:
        registered = Counter({parts(c)[2]: n for c, n in counts.items()
                              if c.startswith("sub|warranty_registration|")})
        warranty.rows.append([Cell(_week_label(week)),
                              *(_number(registered[product],
                                        _list_link("warranty_registration", product, week))
                                for product in names)])
    return [reasons, outcomes, warranty]


def outcome_words(status: str) -> str:
    return status.removesuffix("_item_received").replace("_", " ")


def rows_for_csv(report: Report) -> Iterable[list[str]]:
    """Every table of the report, one after the other: its title, its headings, its rows."""
    for table in report.tables:
        yield [table.title]
        yield table.headings
        for row in table.rows:
            yield [cell.text if cell.value is None else _plain(cell.value) for cell in row]
        yield []


def _plain(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


