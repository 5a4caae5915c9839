"""The `sparecap demand` commands: post, withdraw and close demands, list and explain them,
match one at once or all in a round, and list matches and rounds. Each is a thin wrapper over
the use case the HTTP API calls, acting as a participant whose roles decide."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table

from sparecap.cli.common import AsOpt, DatabaseOpt, acting, bad_input
from sparecap.cli.text import language, name, say, short_name
from sparecap.db.demands import Demand, Match, MatchRound
from sparecap.domain.demands import DemandEvent, DemandStatus, QuantityUnit
from sparecap.domain.names import reason_message
from sparecap.services.demands import DemandIn, change_demand, list_demands, post_demand
from sparecap.services.ids import MAX_ID
from sparecap.services.matches import explain_demand, list_matches, list_rounds
from sparecap.services.rounds import RoundIn, WeightsIn, instant_match, run_round

app = typer.Typer(help="Demand posts and matching rounds.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_(
    as_: AsOpt,
    status: Annotated[DemandStatus | None, typer.Option(help="Only this status")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Demands the participant may see, one per line."""
    with acting(database, as_) as a:
        rows = list_demands(a.session, principal=a.who, status=status, limit=500)
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
    with acting(database, as_) as a:
        why = explain_demand(a.session, principal=a.who, demand_id=demand_id)
        typer.echo(demand_line(why.demand))
        for m in why.matches:
            for line in match_lines(m):
                typer.echo(line)
        for u in why.unmatched:
            typer.echo(say("miss", round=u.round_id, reason=name(u.reason),
                           detail=json.dumps(u.detail)))  # fmt: skip


def demand_line(d: Demand) -> str:
    return say("demand", id=d.id, status=name(d.status), done=d.matched_quantity,
               quantity=d.quantity, unit=short_name(d.quantity_unit))  # fmt: skip


def window(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}..{end.isoformat()}"


def match_lines(m: Match) -> list[str]:
    """A match with its cost breakdown, and whether it lapsed."""
    lines = [say("match", id=m.id, booking=m.booking_id, unit=m.unit_id,
                 window=window(m.start_at, m.end_at), cost=json.dumps(m.cost))]  # fmt: skip
    if m.lapsed:
        lines.append(say("lapsed", status=name(m.lapsed)))
    return lines


DEFAULT_WEIGHTS = WeightsIn()
PerKmOpt = Annotated[int, typer.Option(help="Cost in minor units per km")]
PerHourLateOpt = Annotated[
    int, typer.Option(help="Cost in minor units per hour after the earliest start")
]


def round_line(rnd: MatchRound) -> str:
    return say("round", id=rnd.id, matched=rnd.matched, demands=rnd.demands,
               objective=rnd.objective, lost=rnd.lost_races)  # fmt: skip


@app.command("round")
def round_(  # noqa: PLR0917 - Typer reads options from positional parameters
    as_: AsOpt,
    category: Annotated[str | None, typer.Option(help="Only demands of this category")] = None,
    fairness_share: Annotated[
        float | None, typer.Option(help="Most of the round one provider may take, in (0, 1]")
    ] = None,
    per_km: PerKmOpt = DEFAULT_WEIGHTS.per_km,
    per_hour_late: PerHourLateOpt = DEFAULT_WEIGHTS.per_hour_late,
    database: DatabaseOpt = None,
) -> None:
    """Run a batch round now (operators): hold the matches, record why the rest missed."""
    try:
        weights = WeightsIn(per_km=per_km, per_hour_late=per_hour_late)
        spec = RoundIn(category=category, fairness_share=fairness_share, weights=weights)
    except ValidationError as exc:
        raise bad_input(exc) from None
    with acting(database, as_, write=True) as a:
        result = run_round(a.session, ctx=a.ctx, principal=a.who, spec=spec)
        rnd = result.round
        lines = [round_line(rnd)]
        misses = Counter(u.reason for u in result.unmatched)
        lines += [say("miss_count", reason=name(r), count=n) for r, n in sorted(misses.items())]
    for line in lines:
        typer.echo(line)


# DemandIn's fields whose option is not the field's name.
POST_OPTIONS = {
    "quantity_unit": "--unit",
    "max_distance_km": "--max-km",
    "max_price_minor": "--max-price",
}
InstantOpt = Annotated[str, typer.Option(help="ISO 8601 with an offset: 2026-12-07T08:00:00+08:00")]


@app.command()
def post(  # noqa: PLR0917 - Typer reads options from positional parameters
    as_: AsOpt,
    category: Annotated[str, typer.Option(help="Category code, e.g. ev_charger")],
    quantity: Annotated[int, typer.Option(help="How many hours, slots or pieces")],
    unit: Annotated[QuantityUnit, typer.Option(help="What the quantity counts")],
    earliest_start: InstantOpt,
    deadline: Annotated[str, typer.Option(help="ISO 8601 with an offset; within 366 days")],
    max_price: Annotated[
        int, typer.Option(help="Ceiling per hour, slot or piece, in minor units (fen for CNY)")
    ],
    currency: Annotated[str, typer.Option(help="ISO currency, e.g. CNY")],
    title: Annotated[str, typer.Option(help="What it is for")] = "",
    lat: Annotated[float | None, typer.Option(help="Where: latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="Where: longitude")] = None,
    max_km: Annotated[float | None, typer.Option(help="Within this distance of lat/lon")] = None,
    splittable: Annotated[
        bool, typer.Option("--splittable", help="Pieces may spread over several lines")
    ] = False,
    min_lot: Annotated[int, typer.Option(help="Smallest part of a split order")] = 1,
    attr: Annotated[
        list[str] | None,
        typer.Option(
            help="A required attribute as key=value, repeatable; the value is JSON if it parses "
            '(kw=50, covered=true, tags=["a"]), else text'
        ),
    ] = None,
    attributes: Annotated[
        str | None, typer.Option(help="Required attributes as a JSON object (--attr adds to it)")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Post a demand (demanders; operators) and print its id and status."""
    fields = {
        "category": category, "title": title, "attributes": _attributes(attr, attributes),
        "quantity": quantity, "quantity_unit": unit, "earliest_start": earliest_start,
        "deadline": deadline, "lat": lat, "lon": lon, "max_distance_km": max_km,
        "max_price_minor": max_price, "currency": currency, "splittable": splittable,
        "min_lot": min_lot,
    }  # fmt: skip
    try:
        spec = DemandIn.model_validate(fields)
    except ValidationError as exc:
        raise bad_input(exc, POST_OPTIONS) from None
    with acting(database, as_, write=True) as a:
        line = demand_line(post_demand(a.session, ctx=a.ctx, principal=a.who, spec=spec))
    typer.echo(line)


def _attributes(pairs: list[str] | None, text: str | None) -> dict[str, Any]:
    """--attributes' object with each --attr key=value over it."""
    found: dict[str, Any] = {}
    if text is not None:
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise typer.BadParameter(say("attr_json", reason=exc)) from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter(say("attr_json", reason=type(loaded).__name__))
        found.update(loaded)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(say("attr_pair", value=pair))
        try:
            found[key.strip()] = json.loads(value)
        except (ValueError, RecursionError):
            found[key.strip()] = value
    return found


def _change(demand_id: int, as_: int, event: DemandEvent, database: str | None) -> None:
    with acting(database, as_, write=True) as a:
        demand = change_demand(a.session, ctx=a.ctx, principal=a.who, demand_id=demand_id,
                               event=event)  # fmt: skip
        line = demand_line(demand)
    typer.echo(line)


DemandArg = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The demand")]


@app.command()
def withdraw(demand_id: DemandArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Withdraw a live demand (its demander; operators)."""
    _change(demand_id, as_, DemandEvent.WITHDRAW, database)


@app.command()
def close(demand_id: DemandArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Close a matched or partly matched demand (its demander; operators)."""
    _change(demand_id, as_, DemandEvent.CLOSE, database)


@app.command("match")
def match_(
    demand_id: DemandArg,
    as_: AsOpt,
    per_km: PerKmOpt = DEFAULT_WEIGHTS.per_km,
    per_hour_late: PerHourLateOpt = DEFAULT_WEIGHTS.per_hour_late,
    database: DatabaseOpt = None,
) -> None:
    """Instant match (its demander; operators): hold the best offer now, or say why not."""
    try:
        weights = WeightsIn(per_km=per_km, per_hour_late=per_hour_late)
    except ValidationError as exc:
        raise bad_input(exc) from None
    with acting(database, as_, write=True) as a:
        result = instant_match(a.session, ctx=a.ctx, principal=a.who, demand_id=demand_id,
                               weights=weights)  # fmt: skip
        rnd = result.round
        lines = [round_line(rnd)]
        for m in result.matches:
            lines += match_lines(m)
        for u in result.unmatched:
            sentence = reason_message(u.reason)[language()]
            lines.append(say("why", reason=name(u.reason), message=sentence))
    for line in lines:
        typer.echo(line)


@app.command()
def matches(
    as_: AsOpt,
    demand: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="Only this demand's matches")
    ] = None,
    round_id: Annotated[
        int | None, typer.Option("--round", min=1, max=MAX_ID, help="Only this round's matches")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Matches the participant is party to (its demands, its capacity); all for staff."""
    with acting(database, as_) as a:
        rows = list_matches(a.session, principal=a.who, demand_id=demand, round_id=round_id,
                            limit=500)  # fmt: skip
        for m in rows:
            via = (
                say("via_round", id=m.round_id)
                if m.round_id is not None
                else say("via_quote", id=m.quote_id)
            )
            typer.echo(say("match_row", id=m.id, demand=m.demand_id, via=via,
                           booking=m.booking_id, unit=m.unit_id, quantity=m.quantity,
                           price=m.price_minor, currency=m.currency,
                           window=window(m.start_at, m.end_at)))  # fmt: skip
            if m.lapsed:
                typer.echo(say("lapsed", status=name(m.lapsed)))
        if not rows:
            typer.echo(say("no_matches"))


@app.command()
def rounds(as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Matching rounds, newest first, with what they matched (operators, auditors)."""
    with acting(database, as_) as a:
        rows = list_rounds(a.session, principal=a.who, limit=500)
        for r in rows:
            typer.echo(say("round_row", id=r.id, kind=short_name(r.kind),
                           at=r.created_at.isoformat(), matched=r.matched, demands=r.demands,
                           objective=r.objective, lost=r.lost_races))  # fmt: skip
        if not rows:
            typer.echo(say("no_rounds"))
