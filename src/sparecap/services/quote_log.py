"""Quote events on the ledger, and quotes left unanswered when their demand leaves the market."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of
from sparecap.db.demands import Demand, Quote
from sparecap.domain.demands import QuoteStatus
from sparecap.domain.ledger.entries import pseudonym
from sparecap.services.availability import CHUNK
from sparecap.services.context import ServiceContext
from sparecap.services.ledger import append_entry
from sparecap.services.notifications import quote_changed


def record_quote(
    session: Session,
    ctx: ServiceContext,
    quote: Quote,
    demand: Demand,
    event: str,
    *,
    by: int | None,
) -> None:
    """The quote's ledger entry, and a notice to its other side (`by` made the change; None:
    the platform)."""
    quote_changed(session, ctx, quote, demand, event, by=by)
    salt = ctx.ledger_salt
    append_entry(
        session,
        kind="quote.event",
        subject=f"quote:{quote.id}",
        at=ctx.clock.now(),
        data={
            "quote": quote.id,
            "demand": quote.demand_id,
            "parent": quote.parent_id,
            "event": event,
            "status": quote.status,
            "resource": quote.resource_id,
            "price_minor": quote.price_minor,
            "currency": quote.currency,
            "quantity": quote.quantity,
            "start": quote.start_at.isoformat(),
            "end": quote.end_at.isoformat(),
            "author": pseudonym(salt, "participant", quote.author_id),
            "provider": pseudonym(salt, "participant", quote.provider_id),
            "demander": pseudonym(salt, "participant", demand.demander_id),
            "booking": quote.booking_id,
        },
    )


def expire_unanswered_quotes(
    session: Session, ctx: ServiceContext, demand_ids: Collection[int]
) -> int:
    """Quotes still offered on these demands, which just left the market (matched, closed,
    withdrawn, expired), can never be accepted: they expire, so neither side waits on them.
    Returns how many."""
    ids = sorted(demand_ids)
    stale: list[Quote] = []
    for first in range(0, len(ids), CHUNK):
        stale += session.scalars(
            select(Quote)
            .where(
                Quote.status == QuoteStatus.OFFERED.value,
                one_of(session, Quote.demand_id, ids[first : first + CHUNK]),
            )
            .order_by(Quote.id)
            .with_for_update()
        ).all()
    now = ctx.clock.now()
    for quote in stale:
        quote.status, quote.updated_at = QuoteStatus.EXPIRED.value, now
        demand = session.get(Demand, quote.demand_id)
        assert demand is not None  # a foreign key holds the quote to it
        record_quote(session, ctx, quote, demand, "expire", by=None)
    return len(stale)
