"""The `sparecap quote` commands: quote on a demand, counter, accept, decline, withdraw, read.

Thin wrappers over the negotiation use cases the HTTP API calls, acting as a participant whose
roles and side of the quote decide (only the side that did not write a quote may accept it).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from sparecap.cli.common import AsOpt, DatabaseOpt, acting, bad_input
from sparecap.cli.demands import match_lines, window
from sparecap.cli.text import name, say
from sparecap.db.demands import Quote
from sparecap.domain.demands import QuoteEvent
from sparecap.services import negotiation
from sparecap.services.demands import get_demand
from sparecap.services.ids import MAX_ID

app = typer.Typer(help="Quotes on demands: offer, counter, accept.", no_args_is_help=True)

QuoteArg = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The quote")]
PriceOpt = Annotated[
    int, typer.Option(help="The whole offer's price, in minor units (fen for CNY)")
]
# QuoteIn's and CounterIn's fields whose option is not the field's name.
QUOTE_OPTIONS = {"resource_id": "--resource", "unit_id": "--unit", "price_minor": "--price"}


def quote_lines(q: Quote) -> list[str]:
    unit = q.unit_id if q.unit_id is not None else say("any_unit")
    lines = [say("quote", id=q.id, demand=q.demand_id, author=q.author_id, status=name(q.status),
                 resource=q.resource_id, unit=unit, quantity=q.quantity, price=q.price_minor,
                 currency=q.currency, window=window(q.start_at, q.end_at))]  # fmt: skip
    if q.parent_id is not None:
        lines.append(say("counters", parent=q.parent_id))
    if q.booking_id is not None:
        lines.append(say("booked", booking=q.booking_id))
    if q.note:
        lines.append(say("note", note=q.note))
    return lines


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _valid(model: type[negotiation.QuoteIn] | type[negotiation.CounterIn], **fields: Any) -> Any:
    """The request as the API would take it; bad input is a usage error naming the option."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise bad_input(exc, QUOTE_OPTIONS) from None


@app.command()
def create(  # noqa: PLR0917 - Typer reads options from positional parameters
    demand_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The demand to quote on")],
    as_: AsOpt,
    resource: Annotated[int, typer.Option(help="Your resource that would serve it")],
    price: PriceOpt,
    quantity: Annotated[int, typer.Option(help="How much of the demand it covers")],
    start: Annotated[str, typer.Option(help="ISO 8601 with an offset: 2026-12-07T08:00:00+08:00")],
    end: Annotated[str, typer.Option(help="ISO 8601 with an offset")],
    unit: Annotated[
        int | None, typer.Option(help="One unit of the resource (default: any)")
    ] = None,
    note: Annotated[str, typer.Option(help="A note for the other side")] = "",
    database: DatabaseOpt = None,
) -> None:
    """Quote on a demand with one of your resources (providers; operators for anyone's)."""
    spec = _valid(negotiation.QuoteIn, resource_id=resource, unit_id=unit, price_minor=price,
                  quantity=quantity, start=start, end=end, note=note)  # fmt: skip
    with acting(database, as_, write=True) as a:
        quote = negotiation.create_quote(a.session, ctx=a.ctx, principal=a.who,
                                         demand_id=demand_id, spec=spec)  # fmt: skip
        lines = quote_lines(quote)
    _echo(lines)


@app.command("list")
def list_(
    demand_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The demand")],
    as_: AsOpt,
    database: DatabaseOpt = None,
) -> None:
    """A demand's quotes: all for its demander and staff, a provider's own otherwise."""
    with acting(database, as_) as a:
        get_demand(a.session, principal=a.who, demand_id=demand_id)  # as the API: may it see it
        rows = negotiation.list_quotes(a.session, principal=a.who, demand_id=demand_id)
        for q in rows:
            _echo(quote_lines(q))
        if not rows:
            typer.echo(say("no_quotes"))


@app.command()
def show(quote_id: QuoteArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """One quote (its two sides; staff)."""
    with acting(database, as_) as a:
        quote = negotiation.get_quote(a.session, principal=a.who, quote_id=quote_id)
        _echo(quote_lines(quote))


@app.command()
def counter(  # noqa: PLR0917 - Typer reads options from positional parameters
    quote_id: QuoteArg,
    as_: AsOpt,
    price: PriceOpt,
    quantity: Annotated[int | None, typer.Option(help="New quantity (default: the same)")] = None,
    start: Annotated[str | None, typer.Option(help="New start, ISO 8601 with an offset")] = None,
    end: Annotated[str | None, typer.Option(help="New end, ISO 8601 with an offset")] = None,
    note: Annotated[str, typer.Option(help="A note for the other side")] = "",
    database: DatabaseOpt = None,
) -> None:
    """Answer a quote with new terms (the side that did not write it): a new quote."""
    spec = _valid(negotiation.CounterIn, price_minor=price, quantity=quantity, start=start,
                  end=end, note=note)  # fmt: skip
    with acting(database, as_, write=True) as a:
        quote = negotiation.counter_quote(a.session, ctx=a.ctx, principal=a.who,
                                          quote_id=quote_id, spec=spec)  # fmt: skip
        lines = quote_lines(quote)
    _echo(lines)


@app.command()
def accept(quote_id: QuoteArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Accept a quote (the side that did not write it): book it in the demander's name."""
    with acting(database, as_, write=True) as a:
        quote, match = negotiation.accept_quote(a.session, ctx=a.ctx, principal=a.who,
                                                quote_id=quote_id)  # fmt: skip
        lines = quote_lines(quote) + match_lines(match)
    _echo(lines)


def _respond(quote_id: int, as_: int, event: QuoteEvent, database: str | None) -> None:
    with acting(database, as_, write=True) as a:
        quote = negotiation.respond_to_quote(a.session, ctx=a.ctx, principal=a.who,
                                             quote_id=quote_id, event=event)  # fmt: skip
        lines = quote_lines(quote)
    _echo(lines)


@app.command()
def decline(quote_id: QuoteArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Decline a quote (the side that did not write it; operators)."""
    _respond(quote_id, as_, QuoteEvent.DECLINE, database)


@app.command()
def withdraw(quote_id: QuoteArg, as_: AsOpt, database: DatabaseOpt = None) -> None:
    """Withdraw your own quote (its author; operators)."""
    _respond(quote_id, as_, QuoteEvent.WITHDRAW, database)
