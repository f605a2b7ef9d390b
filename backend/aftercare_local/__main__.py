"""`python -m aftercare_local run`: the whole product on one machine."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from aftercare_local import s3, server, stack
from aftercare_local.paths import BUILT_SITE, LOCAL_STATE


@click.group()
def main() -> None:
    """Run Aftercare locally on real engines."""


@main.command()
@click.option("--port", default=8000, show_default=True, help="Port for the site and the API.")
@click.option("--dynamodb-port", type=int, default=None,
              help="Port for DynamoDB Local [default: the Chalice config's local stage, 8001].")
def run(port: int, dynamodb_port: int | None) -> None:
    """Serve the built site and the API on http://127.0.0.1:PORT, data kept in .local/."""
    if not (BUILT_SITE / "index.html").exists():
        raise click.ClickException("the site is not built: run `make run`, which builds it")
    # A terminal's Ctrl-C raises KeyboardInterrupt; a plain kill should stop
    # DynamoDB Local just as cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with stack.started(data_dir=LOCAL_STATE / "dynamodb", dynamodb_port=dynamodb_port,
                       s3_data_dir=LOCAL_STATE / "s3") as local:
        httpd = server.make_server(port, BUILT_SITE, server.load_app())
        assert local.s3 is not None
        local.s3.on_new_upload(s3.checker_handler(sys.modules["app"]))
        click.echo(f"DynamoDB Local: {local.dynamodb_endpoint} (data in .local/dynamodb)")
        click.echo(f"S3 (s3rver):    {local.s3.endpoint} (attachments in .local/s3)")
        click.echo(f"Aftercare:      http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            click.echo("\nStopping.")
        finally:
            httpd.server_close()


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
    httpd = server.make_server(port, Path(site_dir), server.load_app())
    click.echo(f"listening on http://127.0.0.1:{httpd.server_address[1]}/", err=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
