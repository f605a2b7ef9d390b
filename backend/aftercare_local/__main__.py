"""`python -m aftercare_local run`: the whole product on one machine."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click
from chalicelib.console.signin import STAFF_GROUPS
from chalicelib.web.origin import SECRET_VARIABLE

from aftercare_local import inbound, mail, oidc, s3, schedule, server, stack, streams
from aftercare_local.dynamodb import DynamoDBLocalError
from aftercare_local.paths import BUILT_SITE, LOCAL_STATE, RUNNING_STACK


def origin_secret() -> str:
    """A secret for this run, set where the app reads it, for the server to add as CloudFront does."""
    secret = server.new_origin_secret()
    os.environ[SECRET_VARIABLE] = secret
    return secret


@click.group()
def main() -> None:
    """Run Aftercare locally on real engines."""


@main.command()
@click.option("--port", default=8000, show_default=True,
              help="Port for the site and the API (make run: PORT).")
@click.option("--dynamodb-port", type=int, default=None,
              help="Port for DynamoDB Local (make run: DYNAMODB_PORT) "
                   "[default: the Chalice config's local stage, 8001].")
@click.option("--s3-port", type=int, default=None,
              help="Port for the S3 engine, s3rver (make run: S3_PORT) "
                   "[default: the Chalice config's local stage, 8003].")
@click.option("--smtp-port", default=8025, show_default=True,
              help="Port for MailDev's SMTP server (make run: SMTP_PORT).")
@click.option("--mail-port", default=8002, show_default=True,
              help="Port for MailDev's web inbox (make run: MAIL_PORT).")
@click.option("--oidc-port", default=8004, show_default=True,
              help="Port for the local staff sign-in provider (make run: OIDC_PORT).")
@click.option("--inbound-smtp-port", default=8005, show_default=True,
              help="Port for the SMTP listener that takes customers' replies (make run: INBOUND_SMTP_PORT).")
@click.option("--digest-hour", default=7, show_default=True, type=click.IntRange(0, 23),
              help="Hour (UTC) of the daily staff digests, as the AWS schedule (make run: DIGEST_HOUR).")
def run(port: int, dynamodb_port: int | None, s3_port: int | None, smtp_port: int, mail_port: int,
        oidc_port: int, inbound_smtp_port: int, digest_hour: int) -> None:
    """Serve the built site and the API on http://127.0.0.1:PORT, data kept in .local/."""
    dynamodb_port = dynamodb_port or stack.default_port("AFTERCARE_DYNAMODB_ENDPOINT")
    s3_port = s3_port or stack.default_port("AFTERCARE_S3_ENDPOINT")
    _port_is_free(port, "the site and the API", "PORT")
    _port_is_free(dynamodb_port, "DynamoDB Local", "DYNAMODB_PORT")
    _port_is_free(s3_port, "the S3 engine (s3rver)", "S3_PORT")
    _port_is_free(smtp_port, "MailDev's SMTP server", "SMTP_PORT")
    _port_is_free(mail_port, "MailDev's inbox", "MAIL_PORT")
    _port_is_free(oidc_port, "the local staff sign-in provider", "OIDC_PORT")
    _port_is_free(inbound_smtp_port, "the SMTP listener for replies", "INBOUND_SMTP_PORT")
    if not (BUILT_SITE / "index.html").exists():
        raise click.ClickException("the site is not built: run `make run`, which builds it")
    # A terminal's Ctrl-C raises KeyboardInterrupt; a plain kill should stop
    # DynamoDB Local just as cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with stack.started(data_dir=LOCAL_STATE / "dynamodb", dynamodb_port=dynamodb_port,
                           s3_data_dir=LOCAL_STATE / "s3", s3_port=s3_port) as local, \
                mail.running(smtp_port, mail_port, LOCAL_STATE / "maildev") as maildev, \
                oidc.running(oidc_port, oidc.DEFAULT_STATE_DIR, port) as sign_in:
            os.environ.update(AFTERCARE_SMTP_PORT=str(maildev.smtp_port),
                              AFTERCARE_SITE_URL=f"http://127.0.0.1:{port}",
                              AFTERCARE_REPLY_DOMAIN=os.environ.get("AFTERCARE_REPLY_DOMAIN")
                              or inbound.LOCAL_REPLY_DOMAIN,
                              **oidc.console_environment(sign_in))
            try:
                httpd = server.make_server(port, BUILT_SITE, server.load_app(), origin_secret=origin_secret())
            except OSError as error:
                raise click.ClickException(_busy(port, "the site and the API", "PORT", error)) from None
            replies = contextlib.ExitStack()
            replies.enter_context(inbound.listening(inbound_smtp_port, inbound.app_receiver()))
            stack.write_running_state(RUNNING_STACK, local, port, smtp_port=maildev.smtp_port,
                                      sign_in_issuer=sign_in.issuer, mail_port=mail_port,
                                      inbound_smtp_port=inbound_smtp_port)
            assert local.s3 is not None
            local.s3.on_new_upload(s3.checker_handler(sys.modules["app"]))
            stop = threading.Event()
            reader = streams.reader_for(local.dynamodb_endpoint, local.table_name,
                                        streams.notifier_handler(), LOCAL_STATE / "streams")
            notifier = threading.Thread(target=reader.run, args=(stop,), name="notifier", daemon=True)
            notifier.start()
            daily = schedule.DailyRun(schedule.digest_handler(), digest_hour)
            threading.Thread(target=daily.run, args=(stop,), name="digest", daemon=True).start()
            click.echo(f"DynamoDB Local: {local.dynamodb_endpoint} (data in .local/dynamodb)")
            click.echo(f"S3 (s3rver):    {local.s3.endpoint} (attachments in .local/s3)")
            click.echo(f"MailDev:        {maildev.inbox_url} (SMTP on 127.0.0.1:{maildev.smtp_port}, "
                       "mail in .local/maildev)")
            click.echo("Stream reader:  sends the table's emails to MailDev (place kept in .local/streams)")
            click.echo(f"Staff sign-in:  {sign_in.issuer} (OpenID provider, accounts in .local/oidc); "
                       "add a staff account:\n                .venv/bin/python -m aftercare_local staff add "
                       "EMAIL --group handlers|privacy|admins")
            click.echo(f"Replies:        SMTP on 127.0.0.1:{inbound_smtp_port} takes mail to "
                       f"reply+...@{os.environ['AFTERCARE_REPLY_DOMAIN']} onto its case")
            click.echo(f"Daily digests:  at {digest_hour:02d}:00 UTC "
                       "(`python -m aftercare_local digest` sends them now)")
            click.echo(f"Aftercare:      http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
            try:
                httpd.serve_forever()
            except KeyboardInterrupt:
                click.echo("\nStopping.")
            finally:
                stop.set()
                replies.close()
                notifier.join(timeout=10)
                RUNNING_STACK.unlink(missing_ok=True)
                httpd.server_close()
    except DynamoDBLocalError as error:
        hint = " (another `make run`? set DYNAMODB_PORT to move it)" if "in use" in str(error) else ""
        raise click.ClickException(f"DynamoDB Local: {error}{hint}") from None
    except s3.S3EngineError as error:
        hint = " (another `make run`? set S3_PORT to move it)" if "in use" in str(error) else ""
        raise click.ClickException(f"S3 engine (s3rver): {error}{hint}") from None
    except oidc.LocalSignInError as error:
        raise click.ClickException(str(error)) from None


def _port_is_free(port: int, what: str, variable: str) -> None:
    """A busy port is one plain line naming the variable that moves it, not a traceback."""
    with socket.socket() as probe:
        # As the servers themselves bind: connections of a stack just stopped, left in
        # TIME_WAIT, must not keep the next start from its own ports.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise click.ClickException(_busy(port, what, variable, error)) from None


def _busy(port: int, what: str, variable: str, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} for {what} is already in use (another `make run`?): "
                f"choose another one, e.g. {variable}={port + 80} make run")
    return f"cannot listen on 127.0.0.1:{port} for {what}: {error.strerror or error}; set {variable}"


@main.command()
@click.option("--port", required=True, type=int, help="Port for the site and the API (0: any free one).")
@click.option("--dynamodb-endpoint", required=True, help="A running DynamoDB Local.")
@click.option("--table", "table_name", required=True, help="The submissions table (must exist).")
@click.option("--key-dir", required=True, type=click.Path(file_okay=False), help="Local keys.")
@click.option("--site-dir", default=str(BUILT_SITE), show_default=True, type=click.Path())
def serve(port: int, dynamodb_endpoint: str, table_name: str, key_dir: str, site_dir: str) -> None:
    """Serve site and API against an already running DynamoDB Local (used by the tests)."""
    os.environ.update(stack.LOCAL_CREDENTIALS)
    os.environ.update(
        AFTERCARE_TABLE_NAME=table_name,
        AFTERCARE_DYNAMODB_ENDPOINT=dynamodb_endpoint,
        AFTERCARE_LOCAL_KEY_DIR=str(Path(key_dir).resolve()),
    )
    # Errors only: a caller that never reads stderr must not fill the pipe and stall us.
    httpd = server.make_server(port, Path(site_dir), server.load_app(), origin_secret=origin_secret(),
                               log_requests=False)
    click.echo(f"listening on http://127.0.0.1:{httpd.server_address[1]}/", err=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


@main.command()
@click.option("--dynamodb-endpoint", required=True, help="A running DynamoDB Local.")
@click.option("--table", "table_name", required=True, help="The submissions table (must exist).")
@click.option("--key-dir", required=True, type=click.Path(file_okay=False), help="Local keys.")
@click.option("--smtp-port", required=True, type=int, help="An SMTP server on 127.0.0.1 (MailDev).")
@click.option("--site-url", default="http://127.0.0.1:8000", show_default=True, help="Links in emails.")
@click.option("--state-dir", required=True, type=click.Path(file_okay=False),
              help="Where the reader keeps its place in the stream.")
def notify(dynamodb_endpoint: str, table_name: str, key_dir: str, smtp_port: int, site_url: str,
           state_dir: str) -> None:
    """Read the table's stream and send its emails, as `run` does (used by the tests)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.update(stack.LOCAL_CREDENTIALS)
    os.environ.update(
        AFTERCARE_TABLE_NAME=table_name,
        AFTERCARE_DYNAMODB_ENDPOINT=dynamodb_endpoint,
        AFTERCARE_LOCAL_KEY_DIR=str(Path(key_dir).resolve()),
        AFTERCARE_SMTP_PORT=str(smtp_port),
        AFTERCARE_SITE_URL=site_url,
    )
    reader = streams.reader_for(dynamodb_endpoint, table_name, streams.notifier_handler(), Path(state_dir))
    click.echo("reading the stream", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        reader.run(threading.Event())


@main.command()
@click.option("--smtp-port", type=int, default=None,
              help="MailDev's SMTP port [default: the running `make run`'s, else 8025].")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="List the submissions of this day [default: yesterday, as the schedule does].")
@click.option("--dynamodb-endpoint", default=None, help="Another DynamoDB Local [default: `make run`'s].")
@click.option("--table", "table_name", default=None, help="Its submissions table (with --dynamodb-endpoint).")
@click.option("--key-dir", default=None, type=click.Path(file_okay=False), help="Its local keys.")
def digest(smtp_port: int | None, day: datetime | None, dynamodb_endpoint: str | None,
           table_name: str | None, key_dir: str | None) -> None:
    """Send the daily staff digests now, on the stack `run` started (it also sends them each day)."""
    os.environ.update(stack.LOCAL_CREDENTIALS)
    environment, _ = stack.staff_environment(RUNNING_STACK)
    os.environ.update(environment)
    if dynamodb_endpoint:
        os.environ["AFTERCARE_DYNAMODB_ENDPOINT"] = dynamodb_endpoint
    if table_name:
        os.environ["AFTERCARE_TABLE_NAME"] = table_name
    if key_dir:
        os.environ["AFTERCARE_LOCAL_KEY_DIR"] = str(Path(key_dir).resolve())
    state = stack.running_state(RUNNING_STACK) or {}
    os.environ["AFTERCARE_SMTP_PORT"] = str(smtp_port or state.get("smtp_port") or 8025)
    server.load_app()
    if day is None:
        outcomes = schedule.digest_handler()(schedule.scheduled_event(datetime.now(UTC)), None)
    else:
        from app import get_notifier

        notifier = get_notifier()
        outcomes = notifier.send_digests(day.date())
        outcomes["overdue"] = notifier.send_overdue_digest(notifier.clock().date())
    for name, outcome in outcomes.items():
        click.echo(f"{name}: {outcome}")


@main.command("seed")
@click.option("--forms", default=300, show_default=True, type=click.IntRange(1, 100_000),
              help="How many forms and votes to send.")
@click.option("--seed", "seed_number", default=7, show_default=True,
              help="The random seed (same seed, same mix).")
@click.option("--base-url", default=None, help="The server [default: the running `make run`'s].")
@click.option("--dynamodb-endpoint", default=None, help="Another DynamoDB Local [default: `make run`'s].")
@click.option("--table", "table_name", default=None, help="Its submissions table (with --dynamodb-endpoint).")
@click.option("--key-dir", default=None, type=click.Path(file_okay=False), help="Its local keys.")
def seed_command(forms: int, seed_number: int, base_url: str | None, dynamodb_endpoint: str | None,
                 table_name: str | None, key_dir: str | None) -> None:
    """Send a few hundred mixed forms, votes and ratings through the API and move the cases they
    open through their lifecycles, for the console's insight page (/staff/insight) to show."""
    from chalicelib.settings import Settings

    from aftercare_local.seed import seed

    os.environ.update(stack.LOCAL_CREDENTIALS)
    environment, _ = stack.staff_environment(RUNNING_STACK)
    os.environ.update(environment)
    for name, value in (("AFTERCARE_DYNAMODB_ENDPOINT", dynamodb_endpoint),
                        ("AFTERCARE_TABLE_NAME", table_name),
                        ("AFTERCARE_LOCAL_KEY_DIR", str(Path(key_dir).resolve()) if key_dir else None)):
        if value:
            os.environ[name] = value
    state = stack.running_state(RUNNING_STACK) or {}
    url = base_url or f"http://127.0.0.1:{state.get('port', 8000)}"
    done = seed(url, Settings.from_environ(os.environ), forms=forms, seed_number=seed_number)
    click.echo(f"sent {sum(done.posted.values())} form(s): "
               + ", ".join(f"{count} {kind}" for kind, count in sorted(done.posted.items())))
    if done.refused:
        click.echo("refused: " + ", ".join(f"{count} {what}" for what, count in sorted(done.refused.items())))
    click.echo(f"moved cases {done.moves} time(s); {done.rated} case(s) rated through the follow-up link")


@main.group()
def staff() -> None:
    """Staff accounts of the local sign-in provider (in AWS, the Cognito user pool holds them)."""


@staff.command("add")
@click.argument("email")
@click.option("--group", "groups", required=True, multiple=True, type=click.Choice(STAFF_GROUPS),
              help="The console's group: handlers (cases), privacy (a person's data), admins (everything); "
                   "repeat it for several.")
@click.option("--state-dir", default=str(oidc.DEFAULT_STATE_DIR), show_default=".local/oidc",
              type=click.Path(file_okay=False), help="The provider's state folder (its accounts file).")
def staff_add(email: str, groups: tuple[str, ...], state_dir: str) -> None:
    """Create a local staff account, or reset its password and groups; prints the new password last.

    Works while `make run` runs: the provider reads its accounts at each sign-in.
    """
    try:
        password, existed = oidc.add_account(Path(state_dir), email, groups)
    except s3.S3EngineError as error:
        hint = " (another `make run`? set S3_PORT to move it)" if "in use" in str(error) else ""
        raise click.ClickException(f"S3 engine (s3rver): {error}{hint}") from None
    except oidc.LocalSignInError as error:
        raise click.ClickException(str(error)) from None
    done = "Reset the password and groups of" if existed else "Created"
    click.echo(f"{done} the local staff account {email.strip().lower()} ({', '.join(sorted(set(groups)))}); "
               f"it signs in on the site's /staff/ with the password {password}")


if __name__ == "__main__":
    main()
