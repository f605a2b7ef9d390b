"""The insight page (handlers and admins): satisfaction, help pages, promises, returns and complaints.

Its figures come from the daily counters (chalicelib.insight), drawn as SVG charts, each with its
table of numbers and each bar a link to the list behind it; the period and filters are in the
query string, so every view is a link and works without JavaScript. The latest "what was
missing" comments are the only words shown: handlers read them through the desk (decrypted,
audited). The CSV download holds the same figures, no comment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from chalicelib.console import pages
from chalicelib.console.exchange import Answer, Request, Services
from chalicelib.console.session import StaffSession
from chalicelib.forms import FORMS
from chalicelib.insight import charts, report
from chalicelib.rules.catalog import catalog
from chalicelib.staff.exceptions import ServiceUnavailable, StaffError
from chalicelib.staff.sheets import neutralise

DEFAULT_WEEKS = 4


class BadQuery(ValueError):
    """A query-string value the page cannot use; the message names the field."""


def _day(query: Mapping[str, str], name: str) -> date | None:
    text = (query.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: a date like 2026-11-30") from None


def chosen(query: Mapping[str, str], today: date) -> tuple[report.Period, report.Filters, str]:
    """The period (last 4/13/52 weeks, or from–to dates) and filters the query string asks for,
    and the weeks picked ("" for dates)."""
    start, end = _day(query, "from"), _day(query, "to")
    weeks_text = (query.get("weeks") or "").strip()
    try:
        if start or end:
            period = report.Period.between(start or end or today, end or today)
            weeks_text = ""
        else:
            weeks = int(weeks_text or DEFAULT_WEEKS)
            if weeks not in report.PERIOD_WEEKS:
                raise BadQuery("weeks: 4, 13 or 52")
            period = report.Period.last_weeks(weeks, today)
            weeks_text = str(weeks)
    except ValueError as problem:
        raise BadQuery(str(problem) if isinstance(problem, BadQuery | report.BadPeriod)
                       else "weeks: 4, 13 or 52") from None
    product, kind = (query.get("product") or "").strip(), (query.get("kind") or "").strip()
    if product and product not in catalog().product_names():
        raise BadQuery("product: not one of the catalog's products")
    if kind and kind not in FORMS:
        raise BadQuery("kind: not one of the forms")
    return period, report.Filters(product=product, kind=kind), weeks_text


def _today(console: Services) -> date:
    clock: Callable[[], float] = getattr(console, "clock", None) or (lambda: datetime.now(UTC).timestamp())
    return datetime.fromtimestamp(clock(), UTC).date()


def _refused(problem: Exception, session: StaffSession) -> Answer:
    status = 503 if isinstance(problem, ServiceUnavailable) else 400
    answer = Answer(status, pages.message_page("That did not work", str(problem), session).encode())
    if status == 503:
        answer.headers["Retry-After"] = "30"
    return answer


def insight(console: Services, request: Request, session: StaffSession) -> Answer:
    try:
        period, filters, weeks = chosen(request.query, _today(console))
    except BadQuery as problem:
        return _refused(problem, session)
    desk = console.desk_for(session.identity.email)
    try:
        figures = desk.insight(period, filters)
        comments = desk.missing_comments(period) if filters.kind in ("", "page_feedback") \
            and not filters.product else []
    except StaffError as problem:
        return _refused(problem, session)
    query = {"weeks": weeks, "from": "" if weeks else period.start.isoformat(),
             "to": "" if weeks else period.end.isoformat(), "product": filters.product, "kind": filters.kind}
    csv_link = "/staff/insight.csv?" + urlencode({name: value for name, value in query.items() if value})
    html = pages.render(
        "insight.html", session, title="Insight", report=figures, weeks=weeks, choices=report.PERIOD_WEEKS,
        drawn=[(table, charts.chart(table)) for table in figures.tables], comments=comments,
        products=catalog().product_names(), form_kinds={kind: form.title for kind, form in FORMS.items()},
        csv_link=csv_link,
    )
    return Answer(200, html.encode())


def insight_csv(console: Services, request: Request, session: StaffSession) -> Answer:
    try:
        period, filters, _ = chosen(request.query, _today(console))
        figures = console.desk_for(session.identity.email).insight(period, filters)
    except (BadQuery, StaffError) as problem:
        return _refused(problem, session)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with the mark
    writer = csv.writer(out)
    writer.writerow([f"Insight from {period.start.isoformat()} to {period.end.isoformat()}",
                     f"product: {filters.product or 'all'}", f"kind: {filters.kind or 'all'}"])
    for row in report.rows_for_csv(figures):
        writer.writerow([neutralise(cell) for cell in row])
    name = f"insight-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Answer(200, out.getvalue().encode(), {"Content-Type": "text/csv; charset=utf-8",
                                                 "Content-Disposition": f'attachment; filename="{name}"'})


VIEWS: dict[str, Callable[..., Answer]] = {"insight": insight, "insight_csv": insight_csv}
