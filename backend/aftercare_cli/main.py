"""The `aftercare` command: staff exports, data-subject requests, consent and cases."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from chalicelib.cases.book import Change
from chalicelib.forms.fields import Email
from chalicelib.notify import attachment_notices
from chalicelib.notify.notifier import MESSAGES
from chalicelib.rules.lifecycles import case_policy
from chalicelib.rules.visit_windows import window_words
from chalicelib.settings import ConfigurationError
from chalicelib.staff import cases
from chalicelib.staff.desk import StaffDesk
from chalicelib.staff.exceptions import ServiceUnavailable, StaffError
from chalicelib.staff.export import Position, Window
from chalicelib.staff.outbox import is_known_message
from chalicelib.staff.pipeline import default_workers, make_pool
from chalicelib.staff.records import exportable_kinds, known_statuses, product_ids
from chalicelib.staff.sheets import FORMATS, sink_for
from chalicelib.staff.subject_copy import as_html
from chalicelib.store.items import CONSENT_KIND, CONSENT_KINDS, RETRY_AT_ATTRIBUTE, SENDING
from pydantic import TypeAdapter, ValidationError

from aftercare_cli.listing import FORMAT_OPTION, TerminalProgress, show, wants_table
from aftercare_cli.target import Target, actor_of


class _Dates(click.ParamType):
    """A day as staff write it (2026-12-07, or day first: 07/12/2026, 7.12.2026) or a UTC time."""

    name = "date"
    FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y",
               "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M")
    WORDS = "YYYY-MM-DD, DD/MM/YYYY (day first), DD.MM.YYYY or YYYY-MM-DDTHH:MM:SS (UTC)"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        for pattern in self.FORMATS:
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
        self.fail(f"'{value}' is not a date: write it as {self.WORDS}", param, ctx)


DATES = _Dates()
DATE_HELP = f"Formats: {_Dates.WORDS}."
KIND_ALIASES = {"consents": CONSENT_KIND}
EMAIL_RULE: TypeAdapter[str] = TypeAdapter(Email)
COPY_FORMATS = ("json", "html")
AUDIT_TABLE = {"created_at": "when (UTC)", "actor": "staff", "action": "action", "kinds": "kinds",
               "item_count": "items", "outcome": "outcome", "about_subject": "person",
               "detail": "detail"}
FIND_TABLE = {"record": "record", "kind": "kind", "reference": "reference", "created_at": "when (UTC)",
              "status": "status"}
CONSENT_TABLE = {"reference": "reference", "kind": "consent", "status": "status", "given_at": "given (UTC)",
                 "source_form": "on the form", "notice_version": "notice", "withdrawn_at": "withdrawn (UTC)"}
UNREACHABLE = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
               "ConnectionClosedError"}
NO_CREDENTIALS = {"NoCredentialsError", "UnrecognizedClientException", "ExpiredTokenException",
                  "InvalidSignatureException", "ProfileNotFound"}


def _local_defaults() -> tuple[dict[str, str], str]:
    from aftercare_local.paths import RUNNING_STACK
    from aftercare_local.stack import staff_environment

    return staff_environment(RUNNING_STACK)


def _backend_dir() -> Path:
    from aftercare_local.paths import BACKEND

    return BACKEND


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--profile", help="AWS profile to act as (your own staff credentials).")
@click.option("--region", help="AWS region of the table and keys (default: the profile's).")
@click.option("--table", "table_name", help="Submissions table name. [env: AFTERCARE_TABLE_NAME]")
@click.option("--kms-key-id", help="KMS key that encrypts submissions. [env: AFTERCARE_KMS_KEY_ID]")
@click.option("--subject-key-id",
              help="KMS HMAC key for finding a person by email. [env: AFTERCARE_SUBJECT_KEY_ID]")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, region: str | None, table_name: str | None,
        kms_key_id: str | None, subject_key_id: str | None) -> None:
    """Aftercare staff tools: export submissions and answer customers' data requests.

    \b
    Where it works:
      * by default, on the local stack that `make run` is running, on
        whatever ports (it records them in .local/stack.json; with none
        running, DynamoDB Local at 127.0.0.1:8001 and the keys in .local/keys);
      * on AWS when you give --profile, --region or --table, or when
        AFTERCARE_TABLE_NAME is set; the KMS key ids come from the options or
        AFTERCARE_KMS_KEY_ID / AFTERCARE_SUBJECT_KEY_ID, credentials from the
        profile or the usual AWS variables.

    Every command that reads or changes personal data writes an audit record:
    your AWS identity, the action, the kinds and how many items (never the
    data itself). `aftercare audit` lists them.
    """
    target = Target(profile, region, table_name, kms_key_id, subject_key_id)
    lazy = _LazyStaff()

    def local_defaults() -> dict[str, str]:
        environment, lazy.where = _local_defaults()
        return environment

    def staff() -> StaffDesk:
        try:
            settings = target.settings(os.environ, local_defaults, _backend_dir())
        except ConfigurationError as problem:
            raise click.ClickException(str(problem)) from None
        if not lazy.where:
            lazy.where = (f"the DynamoDB endpoint {settings.dynamodb_endpoint} you set"
                          if settings.dynamodb_endpoint else
                          f"AWS, region {settings.region or 'of your profile'}")
        return StaffDesk.for_actor(settings, actor_of(settings))

    lazy.build = staff
    ctx.obj = lazy


class _LazyStaff:
    """Settings are read when a command runs, so `--help` works anywhere."""

    def __init__(self) -> None:
        self.build: Any = None
        self.where = ""  # what the command line tried, in words, for its messages
        self._staff: StaffDesk | None = None

    def get(self) -> StaffDesk:
        if self._staff is None:
            try:
                self._staff = self.build()
            except ConfigurationError as problem:
                raise click.ClickException(str(problem)) from None
        return self._staff

    def unreachable(self, problem: ServiceUnavailable) -> str:
        """A storage failure in plain words: what was tried, and what to do."""
        code = problem.code
        settings = self._staff.context.settings if self._staff else None
        table = settings.table_name if settings else "?"
        endpoint = settings.dynamodb_endpoint if settings else None
        if code in UNREACHABLE:
            if endpoint:
                return (f"could not reach DynamoDB at {endpoint}: tried {self.where}. Start the "
                        "local stack with `make run`, or set AFTERCARE_DYNAMODB_ENDPOINT to where it runs")
            return f"could not reach DynamoDB: tried {self.where}; check your network and --region"
        if code == "ResourceNotFoundException":
            return f"there is no table {table}: tried {self.where}. Check --table or AFTERCARE_TABLE_NAME"
        if code in NO_CREDENTIALS:
            return f"no usable AWS credentials for {self.where}: give --profile, or sign in again"
        return f"DynamoDB refused the request ({code}): tried table {table} on {self.where}"


@contextlib.contextmanager
def _plainly(lazy: _LazyStaff) -> Iterator[None]:
    """Service failures become one readable line, never a traceback with data in it."""
    try:
        yield
    except ServiceUnavailable as problem:
        if problem.service == "DynamoDB":
            raise click.ClickException(lazy.unreachable(problem)) from None
        raise click.ClickException(str(problem)) from None
    except (StaffError, ConfigurationError) as problem:
        raise click.ClickException(str(problem) or type(problem).__name__) from None


def _email(_: click.Context, __: click.Parameter, value: str) -> str:
    """The form's own email rule; the message never repeats the address."""
    try:
        return str(EMAIL_RULE.validate_python(value.strip()))
    except ValidationError:
        raise click.BadParameter("that is not an email address (like ann@example.com)") from None


def _optional_email(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _email(context, parameter, value)


def _window(since: datetime | None, until: datetime | None) -> Window:
    window = Window.of(since, until)
    if window.since and window.until and window.since > window.until:
        raise click.BadParameter(
            f"--since ({_text(since)}) is after --until ({_text(until)}): nothing can match",
            param_hint="'--since' / '--until'",
        )
    return window


def _kinds(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[str]:
    known = exportable_kinds()
    if not values or "all" in values:
        return [kind for kind in known if kind not in CONSENT_KINDS]
    kinds = []
    for value in values:
        kind = KIND_ALIASES.get(value, value)
        if kind not in known:
            raise click.BadParameter(f"'{value}' is not one of: all, consents, {', '.join(known)}")
        if kind not in kinds:
            kinds.append(kind)
    return kinds


@contextlib.contextmanager
def _output(path: str, binary: bool) -> Iterator[IO[Any]]:
    if path == "-":
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    mode = "wb" if binary else "w"
    try:
        opened = open(path, mode, **({} if binary else {"encoding": "utf-8", "newline": ""}))  # noqa: SIM115
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise click.ClickException(f"cannot write to {path}: {reason}") from None
    with opened as stream:
        yield stream


# -- export ---------------------------------------------------------------------------

@cli.command()
@click.option("--kind", "kinds", multiple=True, callback=_kinds, metavar="KIND",
              help="A kind to export (repeat for several): enquiry, complaint, ..., `consents` "
                   "for the current opt-in mailing list, or `all` (default: every form).")
@click.option("--since", type=DATES, metavar="DATE",
              help=f"From this date or time (UTC), inclusive. {DATE_HELP}")
@click.option("--until", type=DATES, metavar="DATE",
              help="Up to this date (the whole day) or time (UTC), inclusive.")
@click.option("--status", type=click.Choice(known_statuses()),
              help="Only items with this status.")
@click.option("--product", type=click.Choice(product_ids()),
              help="Only this product's submissions (only the forms that ask which product).")
@click.option("--format", "file_format", type=click.Choice(FORMATS),
              help="Output format (default: from the file's suffix, else csv).")
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
              help="Where to write; - is standard output.")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Parallel decryptors (default: one more than the CPUs with local keys, "
                   "16 with KMS).")
@click.pass_obj
def export(lazy: _LazyStaff, kinds: list[str], since: datetime | None, until: datetime | None,
           status: str | None, product: str | None, file_format: str | None, output: str,
           workers: int | None) -> None:
    """Export submissions, personal fields decrypted, to CSV, JSON Lines or XLSX.

    Columns follow each form's fields in order, headed (in CSV and XLSX) by
    the labels the customer read; JSON Lines keys each value by the field's
    name. Items past their retention time are left out. CSV starts with a
    UTF-8 byte-order mark so that Excel reads any script. The signed link of a
    follow-up rating is never exported. In CSV, a cell a spreadsheet would run as a formula
    (=..., @..., +A1) starts with a ' so it shows as text; phone numbers such
    as +44 20 7946 0000 are left alone. XLSX has typed cells (text never runs),
    real dates, a frozen header row with filters, and fitting column widths.
    A row counter shows on a terminal.

    \b
    Examples:
      aftercare export --kind enquiry --since 2026-01-01 -o enquiries.xlsx
      aftercare export --kind complaint --status received --format jsonl
      aftercare export --kind return_request --product <id> -o returns.csv
      aftercare export --kind consents -o mailing.csv
    """
    window = _window(since, until)
    suffix = _format_of(output)
    if file_format and suffix and file_format != suffix:
        raise click.UsageError(
            f"--format {file_format} does not match -o {output}: "
            f"drop --format, or name the file .{file_format}"
        )
    file_format = file_format or suffix or "csv"
    if file_format == "xlsx" and output == "-" and sys.stdout.isatty():
        raise click.UsageError("XLSX is binary: give -o FILE.xlsx")
    desk = lazy.get()
    workers = workers or default_workers(desk.context.settings)
    with _plainly(lazy), _output(output, binary=file_format == "xlsx") as stream:
        pool = make_pool(desk.context.settings, workers)
        try:
            counts = desk.export(
                kinds, window, status, sink_for(file_format, stream, kinds), pool=pool,
                in_flight=max(2, workers * 2), progress=TerminalProgress.for_terminal(),
                file_format=file_format, described={"since": _text(since), "until": _text(until)},
                product=product,
            )
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    summary = ", ".join(f"{kind} {count}" for kind, count in counts.items())
    click.echo(f"exported {sum(counts.values())} rows ({summary})", err=True)


SUBMISSIONS_TABLE = {"reference": "reference", "kind": "kind", "created_at": "received (UTC)",
                     "status": "status", "product": "product", "name": "name"}


@cli.command()
@click.option("--kind", "kinds", multiple=True, callback=_kinds, metavar="KIND",
              help="A kind (repeat for several), or `all` (default: every form).")
@click.option("--since", type=DATES, metavar="DATE", help=f"From this date or time (UTC). {DATE_HELP}")
@click.option("--until", type=DATES, metavar="DATE", help="Up to this date (the whole day) or time (UTC).")
@click.option("--status", type=click.Choice(known_statuses()), help="Only items with this status.")
@click.option("--product", type=click.Choice(product_ids()), help="Only this product's submissions.")
@click.option("--rows", type=click.IntRange(1, 500), default=50, show_default=True, help="Rows a page.")
@click.option("--after", metavar="POSITION", default="",
              help="Start after this position (printed at the foot of the page before).")
@FORMAT_OPTION
@click.pass_obj
def submissions(lazy: _LazyStaff, kinds: list[str], since: datetime | None, until: datetime | None,
                status: str | None, product: str | None, rows: int, after: str, list_format: str) -> None:
    """List a page of what `aftercare export` would write for the same filter: reference, kind,
    received, status, product and the name (decrypted), as the console's Submissions page does.

    A table on a terminal, JSON lines when piped; the next page's --after is printed last."""
    with _plainly(lazy):
        shown, following = lazy.get().submissions(
            kinds, _window(since, until), status, product, after=Position.parse(after, kinds), rows=rows)
    show(shown, SUBMISSIONS_TABLE, list_format)
    click.echo(f"{len(shown)} submission(s)" + (f"; next page: --after {following.token}" if following
                                                 else "; the last page"), err=True)


def _format_of(output: str) -> str | None:
    """The format a file's ending names; an ending that names none is refused, never guessed."""
    if output == "-":
        return None
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix and suffix not in FORMATS:
        raise click.UsageError(
            f"cannot write .{suffix}: name the file .csv, .jsonl or .xlsx (XLSX opens in Excel)")
    return suffix or None


def _text(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


# -- subject --------------------------------------------------------------------------

EMAIL_OPTION = click.option("--email", required=True, callback=_email,
                            help="The person's email address, as they gave it.")


@cli.group()
def subject() -> None:
    """Answer a person's request to see, correct or erase their data.

    Items are found by a keyed hash of the normalised email address (case and
    spaces do not matter), never by the address itself.
    """


@subject.command("find")
@EMAIL_OPTION
@FORMAT_OPTION
@click.pass_obj
def subject_find(lazy: _LazyStaff, email: str, list_format: str) -> None:
    """List what is stored about the person: record, kind, reference, date, status.

    A table on a terminal, JSON lines when piped."""
    with _plainly(lazy):
        items = lazy.get().find_person(email)
    show(items, FIND_TABLE, list_format)
    click.echo(f"{len(items)} item(s) found", err=True)


@subject.command("export")
@EMAIL_OPTION
@click.option("--format", "copy_format", type=click.Choice(COPY_FORMATS),
              help="json, or html to read and print (default: from the file's suffix, else json).")
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
              help="Where to write the copy; - is standard output.")
@click.pass_obj
def subject_export(lazy: _LazyStaff, email: str, copy_format: str | None, output: str) -> None:
    """Write the copy of everything stored about the person, to send them.

    A readable document written for them: one section per submission with
    the form's own questions and the answers given (files by their names),
    its status and what was done about it in the track page's words with
    what we told them (never an internal note), a registered warranty's
    dates, marketing consents, and the date each will be deleted.
    JSON, or an HTML page (-o ann.html) to read, print or attach.
    """
    suffix = Path(output).suffix.lower().lstrip(".")
    if copy_format and suffix in COPY_FORMATS and suffix != copy_format:
        raise click.UsageError(f"--format {copy_format} does not match -o {output}")
    copy_format = copy_format or (suffix if suffix in COPY_FORMATS else "json")
    desk = lazy.get()
    with _plainly(lazy), _output(output, binary=False) as stream:
        document = desk.person_copy(email)
        if copy_format == "html":
            stream.write(as_html(document))
        else:
            json.dump(document, stream, ensure_ascii=False, indent=2)
            stream.write("\n")
    click.echo(f"{len(document['submissions'])} submission(s) and "
               f"{len(document['marketing_consents'])} consent(s) exported", err=True)


@subject.command("correct")
@EMAIL_OPTION
@click.option("--reference", required=True, help="The submission's reference, e.g. ENQ-7K3M-Q9XD.")
@click.option("--field", "field_name", required=True, help="The form field to correct, e.g. name or phone.")
@click.option("--value", required=True, help="The corrected value (empty clears an optional field).")
@click.pass_obj
def subject_correct(lazy: _LazyStaff, email: str, reference: str, field_name: str, value: str) -> None:
    """Correct one field of one of the person's submissions.

    The value is checked by the form's own rules (date rules as on the day it
    was sent), so nothing the form would refuse can be stored. Everything
    derived from the submission changes with it, in one transaction: a
    warranty's record moves to a corrected serial number and its expiry
    follows a corrected purchase date; consent records follow the email and
    name. If something cannot follow (the new serial is already registered),
    nothing changes and the reason is shown. Correcting the email moves the
    submission to the new address: later requests must use that one.
    """
    with _plainly(lazy):
        done = lazy.get().correct(email, reference, field_name, value)
    moved = " (now found under the new email address)" if done.subject_changed else ""
    names = ", ".join(name.replace("-", " ") for name in done.derived)
    derived = f", with the records derived from it ({names})" if names else ""
    click.echo(f"corrected {done.field} of {done.reference}{derived}{moved}")


@subject.command("erase")
@EMAIL_OPTION
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def subject_erase(lazy: _LazyStaff, email: str, yes: bool) -> None:
    """Erase every item of the person: submissions, consents, idempotency and other records.

    Erasure from the live table is final. Backups age out on their own:
    point-in-time recovery keeps 35 days and AWS Backup copies expire on their
    schedule, so the person's data is gone from every copy after that time.
    The audit record keeps only the keyed hash, the count and who erased.
    """
    desk = lazy.get()
    with _plainly(lazy):
        found = desk.count_to_erase(email)
        if not found:
            click.echo("nothing stored for that email address")
            return
        if not yes:
            click.confirm(f"Erase {found} item(s) of this person for good?", abort=True)
        erased = desk.erase(email)
    click.echo(f"erased {sum(erased.values())} item(s): "
               + ", ".join(f"{count} {name}" for name, count in sorted(erased.items())))


# -- attachments ----------------------------------------------------------------------

ATTACHMENT_COLUMNS = {"name": "file", "type": "type", "bytes": "bytes", "check": "check",
                      "refusal": "why refused", "saved": "saved as"}


@cli.group("attachments")
def attachments_group() -> None:
    """Files customers sent with their forms (checked, photo metadata stripped)."""


@attachments_group.command("get")
@click.argument("reference")
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False),
              help="Folder to save the files in (made if missing).")
@FORMAT_OPTION
@click.pass_obj
def attachments_get(lazy: _LazyStaff, reference: str, directory: str, list_format: str) -> None:
    """Download a submission's files under their own names (made safe to save; a name that
    was not sent is REFERENCE-1.jpg, ...); refused files are listed, not saved."""
    with _plainly(lazy):
        found = lazy.get().files(reference)
    rows = []
    if found:
        folder = Path(directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise click.ClickException(f"cannot make {directory}: {error.strerror}") from None
    for attached in found:
        row = {**attached.row, "saved": None}
        if attached.saved_name is not None and attached.content is not None:
            path = Path(directory) / attached.saved_name
            path.write_bytes(attached.content)
            row["saved"] = str(path)
        rows.append(row)
    if not rows:
        click.echo(f"{reference} has no attachments", err=True)
    show(rows, ATTACHMENT_COLUMNS, list_format)


@attachments_group.command("sweep")
@click.pass_obj
def attachments_sweep(lazy: _LazyStaff) -> None:
    """Delete files never attached to a form, or whose submission expired or was erased. Run daily."""
    with _plainly(lazy):
        counts = lazy.get().sweep_files()
    click.echo(f"deleted {counts['uploads']} unchecked upload(s) and {counts['attachments']} "
               f"attachment(s); kept {counts['kept']}")


# -- consent ------------------------------------------------------------------------

@cli.group()
def consent() -> None:
    """A person's marketing consent. The mailing list: `aftercare export --kind consents`."""


@consent.command("list")
@EMAIL_OPTION
@FORMAT_OPTION
@click.pass_obj
def consent_list(lazy: _LazyStaff, email: str, list_format: str) -> None:
    """Show each consent the person gave: when, on which form, under which notice, and its status.

    A table on a terminal, JSON lines when piped."""
    with _plainly(lazy):
        records = lazy.get().consents(email)
    show([{"reference": item["reference"], "kind": item["kind"], "status": item["status"],
           **(item.get("fields") or {})} for item in records], CONSENT_TABLE, list_format)
    click.echo(f"{len(records)} consent record(s)", err=True)


@consent.command("withdraw")
@EMAIL_OPTION
@click.pass_obj
def consent_withdraw(lazy: _LazyStaff, email: str) -> None:
    """Withdraw the person's marketing consent: they leave the mailing list at once.

    The records stay, marked withdrawn with the time, as proof for the data
    policy's retention period.
    """
    with _plainly(lazy):
        withdrawn = lazy.get().withdraw_consents(email)
    click.echo(f"withdrew {withdrawn} consent(s)")


# -- cases --------------------------------------------------------------------------

def _case_kinds(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[str]:
    known = cases.case_kinds()
    for value in values:
        if value not in known:
            raise click.BadParameter(f"'{value}' is not one of: {', '.join(known)}")
    return list(values) or known


@cli.command("cases")
@click.option("--kind", "kinds", multiple=True, callback=_case_kinds, metavar="KIND",
              help="Only this kind (repeat for several): " + ", ".join(case_policy().lifecycles) + ".")
@click.option("--status", type=click.Choice(cases.case_statuses()), help="Only cases in this status.")
@click.option("--handler", help="Only cases this handler has taken on.")
@click.option("--overdue", is_flag=True, help="Only cases whose promise date has passed.")
@click.option("--closed", is_flag=True,
              help="Closed cases instead, newest first, with the rating the customer gave (if any).")
@click.option("--rated", is_flag=True, help="With --closed: only cases the customer rated.")
@click.option("--since", "closed_since", type=DATES, metavar="DATE",
              help=f"With --closed: cases received from this date (default: {cases.CLOSED_DAYS} days ago).")
@FORMAT_OPTION
@click.pass_obj
def cases_list(lazy: _LazyStaff, kinds: list[str], status: str | None, handler: str | None,
               overdue: bool, closed: bool, rated: bool, closed_since: datetime | None,
               list_format: str) -> None:
    """List open cases, overdue first: age, handler, the promise date and any rating (no personal data).

    The promise date counts working days (weekends and the holidays in
    lifecycles.toml left out) from when the case entered its status. With
    --closed, closed cases and the rating each customer gave through the
    follow-up email. A table on a terminal, JSON lines when piped.
    """
    if (rated or closed_since) and not closed:
        raise click.UsageError("--rated and --since go with --closed")
    if closed and (status or handler or overdue):
        raise click.UsageError("--status, --handler and --overdue list open cases: drop them with --closed")
    desk = lazy.get()
    if closed:
        default_since = desk.context.now().date() - timedelta(days=cases.CLOSED_DAYS)
        since = closed_since.date() if closed_since else default_since
        with _plainly(lazy):
            rows = desk.closed_cases(kinds, since=since, rated_only=rated)
        show(rows, cases.LIST_COLUMNS, list_format)
        click.echo(f"{len(rows)} closed case(s), {sum(row['rating'] is not None for row in rows)} rated",
                   err=True)
        return
    with _plainly(lazy):
        rows = desk.open_cases(kinds, status=status, handler=handler, overdue_only=overdue)
    show(rows, cases.LIST_COLUMNS, list_format)
    late = sum(row["overdue"] for row in rows)
    click.echo(f"{len(rows)} open case(s), {late} overdue", err=True)


@cli.group()
def case() -> None:
    """One case: show it in full, assign it, move it on in its lifecycle."""


@case.command("show")
@click.argument("reference")
@FORMAT_OPTION
@click.pass_obj
def case_show(lazy: _LazyStaff, reference: str, list_format: str) -> None:
    """Everything about case REFERENCE, decrypted: its fields, status, promise and history.

    Readable lines on a terminal, one JSON document when piped.
    """
    with _plainly(lazy):
        shown = lazy.get().case(reference)
    if not wants_table(list_format):
        click.echo(json.dumps(shown, ensure_ascii=False, default=str))
        return
    _print_case(shown)


def _print_case(shown: dict[str, Any]) -> None:
    """One case as readable lines: its state, then fields, files and history."""
    for name in ("reference", "kind", "created_at", "status", "status_words", "status_since",
                 "handler", "visit_window", "promise", "due_on"):
        value = window_words(shown.get(name)) if name == "visit_window" else shown.get(name)
        click.echo(f"{name.replace('_', ' ') + ':':14} {value or '-'}")
    if shown["rating"] is not None:
        click.echo(f"{'rating:':14} {shown['rating']} of 5, on {shown['rated_at']} "
                   f"(feedback {shown['rating_feedback']})")
    click.echo(f"{'next moves:':14} {', '.join(shown['next_moves']) or '-'}")
    if "warranty" in shown:
        warranty = shown["warranty"]
        click.echo(f"{'warranty:':14} {warranty['words']} (registration {warranty['registration']})")
    click.echo("fields:")
    for name, value in shown["fields"].items():
        click.echo(f"  {name}: {'-' if value is None else value}")
    if shown["attachments"]:
        click.echo("attachments:")
    for number, attached in enumerate(shown["attachments"], 1):
        size = attachment_notices.size_words(attached["bytes"]) or "size unknown"
        click.echo(f"  {number}. {attached['name']}  {size}  {attached['check']}"
                   + (f" ({attached['refusal']})" if attached["refusal"] else ""))
    click.echo("history:")
    for entry in shown["history"]:
        _print_entry(entry)


def _print_entry(entry: dict[str, Any]) -> None:
    """One change of a case's history, with what was written on it."""
    click.echo(f"  {entry['at']}  {entry['status']}  by {entry['by']}"
               + (f"  handler {entry['handler']}" if entry["handler"] else "")
               + (f"  window {window_words(entry['window'])}" if entry["window"] else ""))
    if entry["note"]:
        click.echo(f"    note: {entry['note']}")
    if entry["told_customer"]:
        click.echo(f"    told customer: {entry['told_customer']}")
    if entry.get("customer_wrote"):
        held = f" (held: {entry['held']})" if entry.get("held") else ""
        files = f" ({entry['files']} file(s), under attachments)" if entry.get("files") else ""
        click.echo(f"    customer wrote{held}{files}: {entry['customer_wrote']}")


def _changed(lazy: _LazyStaff, reference: str, change: Change) -> None:
    with _plainly(lazy):
        entry = lazy.get().change_case(reference, change)
    handled = f", handled by {change.handler}" if change.handler else ""
    click.echo(f"{entry['reference']} is {entry['status']}{handled} (change {entry['version']})")


@case.command("assign")
@click.argument("reference")
@click.option("--handler", required=True, help="The handler's name; the customer sees the first name.")
@click.option("--note", help="An internal note (stored encrypted, never shown to the customer).")
@click.pass_obj
def case_assign(lazy: _LazyStaff, reference: str, handler: str, note: str | None) -> None:
    """Give case REFERENCE to a handler (its status stays as it is)."""
    _changed(lazy, reference, Change(handler=handler, note=note))


@case.command("update")
@click.argument("reference")
@click.option("--status", required=True, help="The new status; `case show` lists the legal ones.")
@click.option("--note", help="An internal note: what was done, or why (stored encrypted).")
@click.option("--tell-customer", "message",
              help="A message for the customer: on the track page, and emailed to them with this move "
              "(closing a case too).")
@click.option("--handler", help="Name a handler with the move (acknowledging a complaint needs one).")
@click.option("--window", help="A service visit's window: a date and a part of the day (morning, "
              "afternoon, all day) or a time range, e.g. '2026-12-03 morning' or '2026-12-03 09:00-12:00'.")
@click.pass_obj
def case_update(lazy: _LazyStaff, reference: str, status: str, note: str | None, message: str | None,
                handler: str | None, window: str | None) -> None:
    """Move case REFERENCE to a new status; the lifecycle refuses illegal moves.

    Each change is kept in the case's history with your identity and the time.
    A move into a status the customer hears of (lifecycles.toml: tell), or any
    move with a message for them, emails them once, with that message; never
    the internal note.
    """
    _changed(lazy, reference,
             Change(status=status, handler=handler, note=note, message=message, window=window))


# -- audit ----------------------------------------------------------------------------

@cli.command()
@click.option("--since", type=DATES, metavar="DATE",
              help=f"From this date or time (UTC), inclusive. {DATE_HELP}")
@click.option("--until", type=DATES, metavar="DATE",
              help="Up to this date (the whole day) or time (UTC), inclusive.")
@click.option("--email", callback=_optional_email, metavar="EMAIL",
              help="Only actions about this person (matched by the keyed hash, as stored).")
@click.option("--action", "action_name", metavar="ACTION",
              help="Only this action, e.g. subject.erase, or every subject.* action with `subject`.")
@click.option("--actor", metavar="TEXT", help="Only actions by staff whose identity contains TEXT.")
@FORMAT_OPTION
@click.pass_obj
def audit(lazy: _LazyStaff, since: datetime | None, until: datetime | None, email: str | None,
          action_name: str | None, actor: str | None, list_format: str) -> None:
    """List the audit trail, oldest first: who did what, when, to how many items.

    A table on a terminal, JSON lines when piped. The person is shown by the
    start of their keyed hash, never by name or address.

    \b
    Examples:
      aftercare audit --since 2026-01-01 --action subject.erase
      aftercare audit --email ann@example.com
      aftercare audit --actor sam --format jsonl
    """
    window = _window(since, until)
    with _plainly(lazy):
        wanted = lazy.get().audit_trail(window, email=email, action=action_name, actor=actor)
        shown = show(wanted, AUDIT_TABLE, list_format, limits={"about_subject": 13})
    click.echo(f"{shown} audit record(s)", err=True)


# -- outbox ---------------------------------------------------------------------------

OUTBOX_TABLE = {"reference": "Reference", "message": "Message", "status": "Status", "attempts": "Tries",
                "updated_at": "Last change", RETRY_AT_ATTRIBUTE: "Next try", "last_error": "Last error"}


@cli.group(invoke_without_command=True)
@click.option("--status", "which", type=click.Choice(["pending", "failed", "all"]), default=None,
              help="Only these (default: pending and failed).")
@FORMAT_OPTION
@click.pass_context
def outbox(ctx: click.Context, which: str | None, list_format: str) -> None:
    """Emails not (yet) sent: pending (claimed, not confirmed sent) and failed ones.

    Lists reference, message (confirmation or staff-alert), status and the last
    error; never addresses or content. Resend one with `aftercare outbox resend`,
    or every one that is due with `aftercare outbox retry`.
    """
    if ctx.invoked_subcommand is not None:
        return
    lazy: _LazyStaff = ctx.obj
    with _plainly(lazy):
        rows = lazy.get().outbox(which or "waiting")
    shown = show(rows, OUTBOX_TABLE, list_format)
    click.echo(f"{shown} message(s)", err=True)


def _known_message(_: click.Context, __: click.Parameter, message: str) -> str:
    if is_known_message(message):
        return message
    raise click.BadParameter(f"{', '.join(MESSAGES)} or a case update (case-update-NNNNNN), "
                             "as `aftercare case show REFERENCE` lists them")


@outbox.command("resend")
@click.argument("reference")
@click.argument("message", callback=_known_message)
@click.pass_obj
def outbox_resend(lazy: _LazyStaff, reference: str, message: str) -> None:
    """Send MESSAGE about REFERENCE again (the notifier sends it within seconds).

    A pending message may have gone already (the notifier stopped between
    sending and recording it): resending it may give the person a second copy.
    """
    with _plainly(lazy):
        was = lazy.get().resend(reference, message)
    if was == SENDING:
        click.echo("note: it was pending, so it may have gone already", err=True)
    click.echo(f"{message} for {reference} will be sent again")


@outbox.command("retry")
@click.option("--dry-run", is_flag=True, help="Only say what is due; change nothing.")
@click.pass_obj
def outbox_retry(lazy: _LazyStaff, dry_run: bool) -> None:
    """Send again every message that is due: claims whose sender stopped (older than the
    notifier's lease) and failures whose backoff has passed.

    Like `resend`, it marks them and the notifier sends them. The daily schedule
    does the same (the digest's sweep); this is the staff's way to do it now.
    Messages refused for good or out of attempts are left to `resend`.
    """
    desk = lazy.get()
    with _plainly(lazy):
        if dry_run:
            due = desk.due_for_retry()
            for record in due:
                click.echo(f"{record['reference']} {record['sk']}: {record.get('status')}, due")
            click.echo(f"{len(due)} message(s) due; nothing changed (dry run)")
            return
        marked, due_count = desk.retry_due()
    for record in marked:
        click.echo(f"{record['reference']} {record['sk']}: was {record.get('status')}")
    click.echo(f"{len(marked)} message(s) will be sent again"
               + (f"; {due_count - len(marked)} changed meanwhile" if len(marked) < due_count else ""))


if __name__ == "__main__":
    cli()


# -- insight ------------------------------------------------------------------------

@cli.group()
def insight() -> None:
    """The daily counters behind the console's insight page (/staff/insight)."""


@insight.command("rebuild")
@click.option("--check", "check_only", is_flag=True,
              help="Only compare the live counters with a recount; change nothing.")
@click.pass_obj
def insight_rebuild(lazy: _LazyStaff, check_only: bool) -> None:
    """Recount the daily counters from the table (after an upgrade, or to check them).

    Every day the table still holds items for is recounted, and the live counters are
    corrected by the difference, so a form counted meanwhile is neither lost nor counted
    twice. Days whose items are all gone keep their counters. Nothing is decrypted."""
    with _plainly(lazy):
        found = lazy.get().rebuild_insight(check_only=check_only)
    for difference in found:
        click.echo(f"{difference.day} {difference.counter}: live {difference.live}, "
                   f"recounted {difference.rebuilt}")
    verb = "differ" if check_only else "corrected"
    click.echo(f"{len(found)} counter(s) {verb}" if found else "the counters agree with the table")

