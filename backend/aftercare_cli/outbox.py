"""`aftercare outbox` (emails pending or failed, and resending one) and `aftercare show REF`.

Resending never sends from here: staff mark the message `resend`, and the
notifier, which alone may send email and open recipient addresses, sends it
again when the change reaches it through the table's stream.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click
from chalicelib.notify import case_emails
from chalicelib.notify import notifier as notify
from chalicelib.store import items
from chalicelib.store.items import epoch, timestamp
from chalicelib.store.table import WriteConflict

from aftercare_cli.audit import audited
from aftercare_cli.listing import FORMAT_OPTION
from aftercare_cli.listing import show as show_rows
from aftercare_cli.records import CASE_COLUMNS
from aftercare_cli.staff import Staff
from aftercare_cli.subjects import SubjectRequestError

# What staff see as waiting: claimed but not confirmed sent, or asked for again.
PENDING = (items.SENDING, items.RESEND)
SHOWN = ("reference", "message", "about_kind", "status", "attempts", "created_at", "updated_at",
         items.RETRY_AT_ATTRIBUTE, "last_error")


def outbox_rows(staff: Staff, which: str) -> list[dict[str, Any]]:
    statuses = {"pending": PENDING, "failed": (items.FAILED,),
                "all": (*PENDING, items.FAILED, items.SENT)}[which]
    rows = []
    for status in statuses:
        for item in staff.table.query_kind(items.OUTBOX_KIND, status=status, now_epoch=epoch(staff.now())):
            rows.append({name: item.get("sk") if name == "message" else item.get(name) for name in SHOWN})
    return sorted(rows, key=lambda row: str(row["created_at"]))


def ask_resend(staff: Staff, reference: str, message: str) -> str:
    """Mark one message `resend`; answers the status it had."""
    partition, sort = items.sent_key(reference, message)
    record = staff.table.get(partition, sort, now_epoch=epoch(staff.now()))
    if record is None:
        raise SubjectRequestError(f"no {message} for {reference} in the outbox")
    status = str(record.get("status"))
    if status == items.RESEND:
        return status
    try:
        staff.table.transition(partition, sort, status_from=status, guard=notify.SENT_GUARD,
                               changes={"status": items.RESEND, "updated_at": timestamp(staff.now())})
    except WriteConflict:
        raise SubjectRequestError(f"the {message} for {reference} changed meanwhile; look again") from None
    return status


def case(staff: Staff, reference: str) -> dict[str, Any]:
    """One submission, decrypted, with the emails sent about it."""
    now_epoch = epoch(staff.now())
    item = staff.table.get(*items.submission_key(reference), now_epoch=now_epoch)
    if item is None:
        raise SubjectRequestError(f"there is no submission {reference}")
    shown: dict[str, Any] = {
        name: item.get(name) for name in ("reference", "kind", "status", "created_at", "resolved_at",
                                          "resolved_by", *CASE_COLUMNS) if item.get(name) is not None
    }
    shown["fields"] = item.get("fields") or {}
    if item.get("personal"):
        shown["personal"] = staff.cipher.open(item["personal"], kind=item["kind"], reference=reference)
    # Every email about it: confirmation, staff alert and each case update the customer was sent.
    sent_partition = items.sent_key(reference, "")[0]
    shown["emails"] = {
        record["sk"]: {"status": record.get("status"), "updated_at": record.get("updated_at")}
        for record in staff.table.query_partition(sent_partition, now_epoch=now_epoch)
    }
    return shown


def lazy_staff(ctx: click.Context) -> Staff:
    staff: Staff = ctx.obj.get()
    return staff


OUTBOX_TABLE = {"reference": "Reference", "message": "Message", "status": "Status", "attempts": "Tries",
                "updated_at": "Last change", items.RETRY_AT_ATTRIBUTE: "Next try", "last_error": "Last error"}


@click.group(invoke_without_command=True)
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
    from aftercare_cli.main import _plainly

    staff = lazy_staff(ctx)
    with _plainly(ctx.obj):
        rows = outbox_rows(staff, which) if which else outbox_rows(staff, "pending") + outbox_rows(
            staff, "failed")
    shown = show_rows(rows, OUTBOX_TABLE, list_format)
    click.echo(f"{shown} message(s)", err=True)


def _known_message(ctx: click.Context, param: click.Parameter, message: str) -> str:
    if message in notify.MESSAGES or re.fullmatch(re.escape(case_emails.CASE_UPDATE) + r"\d{6}", message):
        return message
    raise click.BadParameter(f"{', '.join(notify.MESSAGES)} or a case update (case-update-NNNNNN), "
                             "as `aftercare show REFERENCE` lists them")


@outbox.command("resend")
@click.argument("reference")
@click.argument("message", callback=_known_message)
@click.pass_context
def outbox_resend(ctx: click.Context, reference: str, message: str) -> None:
    """Send MESSAGE about REFERENCE again (the notifier sends it within seconds).

    A pending message may have gone already (the notifier stopped between
    sending and recording it): resending it may give the person a second copy.
    """
    from aftercare_cli.main import _plainly

    staff = lazy_staff(ctx)
    with _plainly(ctx.obj), audited(staff, "outbox.resend", [], detail={"reference": reference,
                                                                 "message": message}) as action:
        was = ask_resend(staff, reference, message)
        action.item_count = 1
    if was == items.SENDING:
        click.echo("note: it was pending, so it may have gone already", err=True)
    click.echo(f"{message} for {reference} will be sent again")


@outbox.command("retry")
@click.option("--dry-run", is_flag=True, help="Only say what is due; change nothing.")
@click.pass_context
def outbox_retry(ctx: click.Context, dry_run: bool) -> None:
    """Send again every message that is due: claims whose sender stopped (older than the
    notifier's lease) and failures whose backoff has passed.

    Like `resend`, it marks them and the notifier sends them. The notifier's own
    sweep (`Notifier.sweep`) does the same on a schedule; this is the staff's way to
    do it now. Messages refused for good or out of attempts are left to `resend`.
    """
    from aftercare_cli.main import _plainly

    staff = lazy_staff(ctx)
    with _plainly(ctx.obj):
        due = list(notify.due_for_retry(staff.table, staff.now()))
        if dry_run:
            for record in due:
                click.echo(f"{record['reference']} {record['sk']}: {record.get('status')}, due")
            click.echo(f"{len(due)} message(s) due; nothing changed (dry run)")
            return
        with audited(staff, "outbox.retry", [], detail={"due": len(due)}) as action:
            marked = 0
            for record in due:
                if notify.ask_again(staff.table, record, staff.now()):
                    marked += 1
                    click.echo(f"{record['reference']} {record['sk']}: was {record.get('status')}")
            action.item_count = marked
    click.echo(f"{marked} message(s) will be sent again"
               + (f"; {len(due) - marked} changed meanwhile" if marked < len(due) else ""))


@click.command()
@click.argument("reference")
@click.pass_context
def show(ctx: click.Context, reference: str) -> None:
    """Show one submission, decrypted, with the emails sent about it (as JSON)."""
    from aftercare_cli.main import _plainly

    staff = lazy_staff(ctx)
    with _plainly(ctx.obj), audited(staff, "case.show", [], detail={"reference": reference}) as action:
        shown = case(staff, reference)
        action.kinds, action.item_count = [shown["kind"]], 1
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
