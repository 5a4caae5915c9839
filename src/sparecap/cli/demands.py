"""The `sparecap demand` commands: list demands, explain one, run a matching round."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table

from sparecap.cli.common import (
    AsOpt,
    DatabaseOpt,
    acting_as,
    bad_input,
    open_platform,
    service_errors,
)
from sparecap.cli.text import name, say, short_name
from sparecap.domain.demands import DemandStatus
from sparecap.services.demands import list_demands
from sparecap.services.ids import MAX_ID
from sparecap.services.matches import explain_demand
from sparecap.services.rounds import RoundIn, WeightsIn, run_round

app = typer.Typer(help="Demand posts and matching rounds.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_(
    as_: AsOpt,
    status: Annotated[DemandStatus | None, typer.Option(help="Only this status")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Demands the participant may see, one per line."""
    with (
        open_platform(database, create=False) as platform,
        service_errors(),
        platform.db.read() as session,
    ):
        rows = list_demands(session, principal=acting_as(session, as_), status=status, limit=500)
        # Fold, not ellipsis: a narrow terminal or a pipe (80 columns) must not cut values.
        headers = say("headers").split("|")
        table = Table(*(Column(h, overflow="fold") for h in headers))
        for d in rows:
            done = f"{d.matched_quantity}/{d.quantity} {short_name(d.quantity_unit)}"
            ceiling = f"{d.max_price_minor} {d.currency}"
            reason = short_name(d.last_reason) if d.last_reason else ""
            table.add_row(
                str(d.id), short_name(d.status), done, d.deadline.isoformat(), ceiling, reason
            )
        console.print(table)


@app.command()
def explain(
    demand_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The demand to explain")],
    as_: AsOpt,
    database: DatabaseOpt = None,
) -> None:
    """A demand's matches with their cost breakdown, and why rounds missed it."""
    with (
        open_platform(database, create=False) as platform,
        service_errors(),
        platform.db.read() as session,
    ):
        why = explain_demand(session, principal=acting_as(session, as_), demand_id=demand_id)
        d = why.demand
        typer.echo(say("demand", id=d.id, status=name(d.status), done=d.matched_quantity,
                       quantity=d.quantity, unit=short_name(d.quantity_unit)))  # fmt: skip
        for m in why.matches:
            window = f"{m.start_at.isoformat()}..{m.end_at.isoformat()}"
            typer.echo(say("match", id=m.id, booking=m.booking_id, unit=m.unit_id,
                           window=window, cost=json.dumps(m.cost)))  # fmt: skip
            if m.lapsed:
                typer.echo(say("lapsed", status=name(m.lapsed)))
        for u in why.unmatched:
            typer.echo(say("miss", round=u.round_id, reason=name(u.reason),
                           detail=json.dumps(u.detail)))  # fmt: skip


@app.command("round")
def round_(  # noqa: PLR0917 - Typer reads options from positional parameters
    as_: AsOpt,
    category: Annotated[str | None, typer.Option(help="Only demands of this category")] = None,
    fairness_share: Annotated[
        float | None, typer.Option(help="Most of the round one provider may take, in (0, 1]")
    ] = None,
    per_km: Annotated[int, typer.Option(help="Cost in minor units per km")] = WeightsIn().per_km,
    per_hour_late: Annotated[
        int, typer.Option(help="Cost in minor units per hour after the earliest start")
    ] = WeightsIn().per_hour_late,
    database: DatabaseOpt = None,
) -> None:
    """Run a batch round now (operators): hold the matches, record why the rest missed."""
    with open_platform(database, create=False) as platform, service_errors():
        try:
            weights = WeightsIn(per_km=per_km, per_hour_late=per_hour_late)
            spec = RoundIn(category=category, fairness_share=fairness_share, weights=weights)
        except ValidationError as exc:
            raise bad_input(exc) from None
        with platform.db.write() as session:
            result = run_round(session, ctx=platform.ctx, principal=acting_as(session, as_),
                               spec=spec)  # fmt: skip
            rnd = result.round
            typer.echo(say("round", id=rnd.id, matched=rnd.matched, demands=rnd.demands,
                           objective=rnd.objective, lost=rnd.lost_races))  # fmt: skip
            reasons: dict[str, int] = {}
            for u in result.unmatched:
                reasons[u.reason] = reasons.get(u.reason, 0) + 1
            for reason, count in sorted(reasons.items()):
                typer.echo(say("miss_count", reason=name(reason), count=count))
