"""The `sparecap` command: serve, demo, database, operators, keys, resource CSV, timers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from sparecap.api.app import create_app
from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import run_timers_once
from sparecap.cli import demands as demands_cli
from sparecap.cli import ledger as ledger_cli
from sparecap.cli import match as match_cli
from sparecap.cli import money as money_cli
from sparecap.cli import notifications as notifications_cli
from sparecap.cli import quotes as quotes_cli
from sparecap.cli.common import DatabaseOpt, err, open_platform, service_errors, settings_for
from sparecap.cli.text import language, say
from sparecap.db.migrate import upgrade
from sparecap.services.demo import DemoMarket, seed_demo
from sparecap.services.participants import create_participant, issue_api_key
from sparecap.services.resource_csv import export_resources, import_resources

app = typer.Typer(help="Sparecap: an open exchange for spare capacity.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators and API keys.", no_args_is_help=True)
resources_app = typer.Typer(help="Resources as CSV.", no_args_is_help=True)
timers_app = typer.Typer(help="Booking timers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")
app.add_typer(resources_app, name="resources")
app.add_typer(timers_app, name="timers")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(match_cli.app, name="match")
app.add_typer(money_cli.app, name="money")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(demands_cli.app, name="demand")
app.add_typer(quotes_cli.app, name="quote")

console = Console()

HostOpt = Annotated[str, typer.Option(help="Interface to listen on")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on")]


WorkersOpt = Annotated[
    int, typer.Option(min=1, max=64, help="Server processes; more use more cores")
]


def _serve(platform: Platform, host: str, port: int, workers: int = 1) -> None:
    if workers == 1:
        uvicorn.run(create_app(platform), host=host, port=port, access_log=False)
        return
    # Each worker process opens the database itself, from the same settings.
    os.environ["SPARECAP_DATABASE_URL"] = platform.settings.database_url
    platform.close()
    uvicorn.run(
        "sparecap.api.asgi:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=False,
    )


@app.command()
def serve(
    database: DatabaseOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: WorkersOpt = 1,
) -> None:
    """Run the HTTP API (and the timer runner) against the configured database."""
    with open_platform(database) as platform:
        _serve(platform, host, port, workers)


@app.command()
def demo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    path: Annotated[Path, typer.Option(help="SQLite file for the demo")] = Path("var/demo.sqlite3"),
    keep: Annotated[bool, typer.Option(help="Reuse an existing demo database")] = False,
) -> None:
    """Seed a demo market in Shenzhen into an embedded SQLite file and serve it."""
    fresh = not (keep and path.exists())
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with open_platform(f"sqlite:///{path}") as platform:
        if fresh:
            with platform.db.write() as session:
                market = seed_demo(session, ctx=platform.ctx)
            _print_demo(market)
        console.print(say("demo_urls", host=host, port=port))
        _serve(platform, host, port)


def _print_demo(market: DemoMarket) -> None:
    table = Table(title=say("demo_title"))
    for column in say("demo_headers").split("|"):
        table.add_column(column, no_wrap=True)
    for key, api_key in market.api_keys.items():
        table.add_row(key, str(market.participant_ids[key]), api_key)
    console.print(table)
    for line in market.money_story:
        console.print(say("demo_money", line=line[language()]))
    for line in market.matching_story:
        console.print(say("demo_matching", line=line[language()]))
    seeded = say(
        "demo_seeded", resources=len(market.resource_ids), bookings=len(market.booking_ids)
    )
    console.print(seeded)


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None) -> None:
    """Apply all migrations."""
    url = settings_for(database).database_url
    try:
        upgrade(url)
    except Exception as exc:
        err.print(f"[red]{say('migration_failed')}[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(say("at_head", url=url.split("@")[-1]))


@operator_app.command("create")
def operator_create(
    name: Annotated[str, typer.Argument(help="Operator's name")],
    database: DatabaseOpt = None,
) -> None:
    """Create an operator and print its first API key."""
    with open_platform(database) as platform, service_errors(), platform.db.write() as session:
        op = create_participant(
                session, ctx=platform.ctx, name=name, kind="organisation",
                roles=["operator"], verification_level=3,
        )  # fmt: skip
        key = issue_api_key(session, ctx=platform.ctx, participant_id=op.id, label="cli")
    typer.echo(say("operator_created", id=op.id, api_key=key))


@operator_app.command("issue-key")
def issue_key(
    participant_id: Annotated[int, typer.Argument(help="Participant to issue a key for")],
    label: Annotated[str, typer.Option(help="What the key is for")] = "",
    database: DatabaseOpt = None,
) -> None:
    """Issue a new API key for any participant."""
    with open_platform(database) as platform, service_errors(), platform.db.write() as session:
        key = issue_api_key(session, ctx=platform.ctx, participant_id=participant_id, label=label)
    typer.echo(key)


@resources_app.command("import")
def resources_import(
    csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    provider: Annotated[int, typer.Option(help="Participant id of the owning provider")],
    database: DatabaseOpt = None,
) -> None:
    """Import resources from CSV for one provider: all rows or none."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        err.print(f"[red]bad_csv:[/red] {say('not_utf8')}")
        raise typer.Exit(1) from None
    with open_platform(database) as platform, service_errors(), platform.db.write() as session:
        created = import_resources(session, ctx=platform.ctx, provider_id=provider, text=text)
        ids = [r.id for r in created]
    console.print(say("imported", count=len(ids), ids=ids))


@resources_app.command("export")
def resources_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File; default stdout")
    ] = None,
    provider: Annotated[int | None, typer.Option(help="Only this provider's")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Export resources as CSV (the format import reads)."""
    with open_platform(database) as platform, platform.db.read() as session:
        text = export_resources(session, provider_id=provider)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(say("wrote", path=output))


@timers_app.command("run")
def timers_run(database: DatabaseOpt = None) -> None:
    """Fire every due booking timer once (the server does this on its own every second)."""
    with open_platform(database) as platform:
        fired = run_timers_once(platform)
    console.print(say("timers_fired", count=fired))


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONUTF8", "1")
    app()
