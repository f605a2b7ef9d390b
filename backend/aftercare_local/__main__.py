"""`python -m aftercare_local run`: the whole product on one machine."""

from __future__ import annotations

import click

from aftercare_local import server, stack
from aftercare_local.paths import BUILT_SITE, LOCAL_STATE


@click.group()
def main() -> None:
    """Run Aftercare locally on real engines."""


@main.command()
@click.option("--port", default=8000, show_default=True, help="Port for the site and the API.")
def run(port: int) -> None:
    """Serve the built site and the API on http://127.0.0.1:PORT, data kept in .local/."""
    if not (BUILT_SITE / "index.html").exists():
        raise click.ClickException("the site is not built: run `make run`, which builds it")
    with stack.started(data_dir=LOCAL_STATE / "dynamodb") as local:
        httpd = server.make_server(port, BUILT_SITE, server.load_app())
        click.echo(f"DynamoDB Local: {local.dynamodb_endpoint} (data in .local/dynamodb)")
        click.echo(f"Aftercare:      http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            click.echo("\nStopping.")
        finally:
            httpd.server_close()


if __name__ == "__main__":
    main()
