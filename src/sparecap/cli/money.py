"""`sparecap money`: pay, top up, pay out, settle, statements and the journal's reconciliation.

Commands that act for someone take `--as PARTICIPANT`: the CLI runs on the operator's own
machine against the database, so it acts with that participant's roles, as the API would for
their key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import settle_once
from sparecap.cli.common import AsOpt, DatabaseOpt, acting_as, err, open_platform, service_errors
from sparecap.cli.text import name, say
from sparecap.services import payments, statements
from sparecap.services.errors import InvalidInputError
from sparecap.services.ids import MAX_ID
from sparecap.services.principals import Principal
from sparecap.services.reconcile import reconcile

app = typer.Typer(help="Money: payments, payouts, settlement, statements, reconciliation.")
console = Console()

# Ids within the columns' range (services/ids.py), so a huge one is a usage error.
IdArg = Annotated[int, typer.Argument(min=1, max=MAX_ID)]
CurrencyOpt = Annotated[str, typer.Option(help="ISO currency, e.g. CNY")]


def _principal(platform: Platform, participant_id: int) -> Principal:
    with platform.db.read() as session:
        return acting_as(session, participant_id)


def _show(payment_id: int, status: str, amount: int, currency: str) -> None:
    line = say("payment", id=payment_id, status=name(status), amount=amount, currency=currency)
    console.print(line)


@app.command("pay")
def pay(
    booking: IdArg,
    participant: AsOpt,
    method: Annotated[str, typer.Option(help="'wallet' or a provider, e.g. sandbox")] = "wallet",
    instrument: Annotated[str, typer.Option(help="card token; sandbox:ok|decline|late")] = "",
    database: DatabaseOpt = None,
) -> None:
    """Pay a booking's total (and deposit) from a wallet or through a provider."""
    with open_platform(database) as platform, service_errors():
        who = _principal(platform, participant)
        with platform.db.write() as session:
            body = payments.PayIn(method=method, instrument=instrument)
            p = payments.pay_booking(
                session, ctx=platform.ctx, principal=who, booking_id=booking, body=body
            )
            _show(p.id, p.status, p.amount_minor, p.currency)


@app.command("top-up")
def top_up(
    amount: int, participant: AsOpt, currency: CurrencyOpt = "CNY",
    instrument: str = "", database: DatabaseOpt = None,
) -> None:  # fmt: skip
    """Put money into a wallet through the sandbox provider."""
    with open_platform(database) as platform, service_errors():
        who = _principal(platform, participant)
        body = _amount(amount, currency, instrument)
        with platform.db.write() as session:
            p = payments.top_up(session, ctx=platform.ctx, principal=who, body=body)
            _show(p.id, p.status, p.amount_minor, p.currency)


@app.command("payout")
def payout(
    amount: int, participant: AsOpt, currency: CurrencyOpt = "CNY",
    to: Annotated[str, typer.Option(help="bank account")] = "bank:demo",
    database: DatabaseOpt = None,
) -> None:  # fmt: skip
    """Pay wallet money out to a bank account."""
    with open_platform(database) as platform, service_errors():
        who = _principal(platform, participant)
        body = _amount(amount, currency, to)
        with platform.db.write() as session:
            p = payments.request_payout(session, ctx=platform.ctx, principal=who, body=body)
            _show(p.id, p.status, p.amount_minor, p.currency)


def _amount(amount: int, currency: str, instrument: str) -> payments.AmountIn:
    try:
        return payments.AmountIn(amount_minor=amount, currency=currency, instrument=instrument)
    except ValueError as exc:
        raise InvalidInputError(str(exc).splitlines()[-1], code="invalid_amount") from exc


@app.command("settle")
def settle(database: DatabaseOpt = None) -> None:
    """Release every escrow whose dispute window has passed."""
    with open_platform(database) as platform, service_errors():
        console.print(say("settled", count=settle_once(platform)))


@app.command("statement")
def statement(  # noqa: PLR0917 (Typer reads the options from the signature)
    participant: IdArg,
    start: Annotated[datetime, typer.Option(help="period start (UTC)")],
    end: Annotated[datetime, typer.Option(help="period end (UTC), exclusive")],
    currency: CurrencyOpt = "CNY",
    format: Annotated[str, typer.Option(help="csv or json")] = "csv",
    database: DatabaseOpt = None,
) -> None:
    """A participant's statement for a period, as CSV or JSON on stdout."""
    with open_platform(database) as platform, service_errors():
        who = _principal(platform, participant)
        with platform.db.read() as session:
            result = statements.statement(
                session, principal=who, participant_id=participant, currency=currency,
                start=_utc(start), end=_utc(end),
            )  # fmt: skip
    if format == "json":
        print(json.dumps(result.summary(), default=str, indent=2))
    else:
        print(result.to_csv(), end="")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("reconcile")
def reconcile_command(database: DatabaseOpt = None) -> None:
    """Check the journal's invariants; exits 1 naming each problem found."""
    with open_platform(database) as platform, platform.db.read() as session:
        report = reconcile(session)
    table = Table(*say("balance_headers").split("|"))
    for key, value in report.totals.items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(say("journal_size", entries=report.entries, lines=report.lines))
    if not report.ok:
        for problem in report.problems:
            err.print(f"[red]{say('problem')}[/red] {problem}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]{say('reconciles')}[/green]")
