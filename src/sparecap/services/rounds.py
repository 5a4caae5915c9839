"""Matching rounds: instant match for one demand, batch rounds for all, and the holds they write.

Holds go through the core booking service (its batch path), so the database's capacity guards
decide. When a hold loses a race with a direct booking, the round tries the demand's next spare
offer and, if none is left, records why; it never forces a booking.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import insert_returning
from sparecap.db.demands import Demand, Match, MatchRound, Unmatched
from sparecap.db.models import Booking
from sparecap.domain.demands import LIVE, DemandActor, QuantityUnit, UnmatchedReason
from sparecap.domain.matching.costs import CostWeights, provider_cap
from sparecap.services.bookings import HoldIn, hold_many
from sparecap.services.candidates import (
    DemandCandidates,
    Eligibility,
    Offer,
    allow_all,
    find_candidates,
    rate_for,
)
from sparecap.services.categories import get_category
from sparecap.services.context import ServiceContext
from sparecap.services.demands import (
    actor_of,
    add_matched,
    expire_demands,
    is_live,
    load_for_change,
    remaining,
    set_last_reasons,
)
from sparecap.services.errors import ConflictError
from sparecap.services.gc_pause import gc_paused
from sparecap.services.ledger import append_entry
from sparecap.services.notifications import held_for
from sparecap.services.principals import Principal, Role
from sparecap.services.round_plan import Plan, plan_round

MAX_ROUND_DEMANDS = 100_000
DEFAULT_WEIGHTS = CostWeights()


class WeightsIn(BaseModel):
    """Cost weights (domain/matching/costs.py explains the defaults)."""

    model_config = ConfigDict(extra="forbid")

    price: int = Field(default=DEFAULT_WEIGHTS.price, ge=0, le=1000)
    per_km: int = Field(default=DEFAULT_WEIGHTS.per_km, ge=0, le=10**7)
    per_hour_late: int = Field(default=DEFAULT_WEIGHTS.per_hour_late, ge=0, le=10**7)

    def to_domain(self) -> CostWeights:
        return CostWeights(self.price, self.per_km, self.per_hour_late)


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    fairness_share: float | None = Field(
        default=None, gt=0, le=1, description="most of a round's demands one provider may take"
    )
    weights: WeightsIn = Field(default_factory=WeightsIn)
    limit: int = Field(default=20_000, ge=1, le=MAX_ROUND_DEMANDS)


@dataclass(slots=True)
class RoundResult:
    round: MatchRound
    matches: list[Match] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)


@gc_paused()  # a round's heap is large and lives until it ends
def run_round(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    spec: RoundIn,
    eligibility: Eligibility = allow_all,
) -> RoundResult:
    """Match every live demand (of a category, up to `limit`, oldest first) in one round."""
    principal.require(Role.OPERATOR)
    demands = _live_demands(session, ctx, spec)
    return _batch(session, ctx, spec, demands, started_by=principal.participant_id,
                  eligibility=eligibility)  # fmt: skip


@gc_paused()
def run_scheduled_round(
    session: Session,
    *,
    ctx: ServiceContext,
    spec: RoundIn | None = None,
    eligibility: Eligibility = allow_all,
) -> RoundResult | None:
    """The platform's own batch round, on its schedule: recorded as started by nobody, and
    not recorded at all when no demand is live (the schedule would fill the log with them)."""
    spec = spec or RoundIn()
    demands = _live_demands(session, ctx, spec)
    if not demands:
        return None
    return _batch(session, ctx, spec, demands, started_by=None, eligibility=eligibility)


def _live_demands(session: Session, ctx: ServiceContext, spec: RoundIn) -> list[Demand]:
    expire_demands(session, ctx=ctx)
    query = select(Demand).where(
        Demand.status.in_([s.value for s in LIVE]), Demand.deadline > ctx.clock.now()
    )
    if spec.category is not None:
        query = query.where(Demand.category_id == get_category(session, code=spec.category).id)
    # SKIP LOCKED: a demand whose quote is being accepted right now waits for the next round.
    query = query.order_by(Demand.id).limit(spec.limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _batch(
    session: Session,
    ctx: ServiceContext,
    spec: RoundIn,
    demands: list[Demand],
    *,
    started_by: int | None,
    eligibility: Eligibility,
) -> RoundResult:
    weights = spec.weights.to_domain()
    # Phase times go into the round's record: they tell an operator where a slow round went.
    started = time.perf_counter()
    cands = find_candidates(
        session, ctx=ctx, demands=demands, weights=weights, eligibility=eligibility
    )
    found = time.perf_counter()
    cap = provider_cap(spec.fairness_share, len(demands))
    plan = plan_round(cands, weights=weights, provider_cap=cap)
    solved = time.perf_counter()
    rnd = _new_round(session, ctx, started_by, "batch", spec)
    # The platform's own rounds run every few minutes: a demand that keeps missing for the
    # same reason is recorded once, not in a row per round (10,000 open demands would add
    # nearly three million rows a day); its explanation shows when the reason changes.
    result = _write(session, ctx, rnd, cands, plan, repeat_misses=started_by is not None)
    rnd.solvers = {
        **plan.solvers,
        "phase_seconds": {
            "candidates": round(found - started, 3),
            "solve": round(solved - found, 3),
            "holds": round(time.perf_counter() - solved, 3),
        },
    }
    return result


def instant_match(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    demand_id: int,
    weights: WeightsIn,
    eligibility: Eligibility = allow_all,
) -> RoundResult:
    """The best feasible offer for one demand, held at once (cheapest first; on a lost race,
    the next). Pieces of a splittable order may take several lines, cheapest first."""
    demand = load_for_change(session, demand_id)
    actor_of(principal, demand)  # its demander or an operator
    if not is_live(demand, ctx.clock.now()):
        raise ConflictError(f"demand {demand_id} is {demand.status}", code="demand_not_live")
    cands = find_candidates(
        session, ctx=ctx, demands=[demand], weights=weights.to_domain(), eligibility=eligibility
    )
    plan = Plan(tries={demand.id: [u for o in cands[demand.id].offers for u in o.each_unit()]})
    rnd = _new_round(session, ctx, principal.participant_id, "instant", RoundIn(weights=weights))
    return _write(session, ctx, rnd, cands, plan)


def _new_round(
    session: Session, ctx: ServiceContext, started_by: int | None, kind: str, spec: RoundIn
) -> MatchRound:
    rnd = MatchRound(
        kind=kind,
        started_by=started_by,
        weights=spec.weights.model_dump(),
        fairness_share=spec.fairness_share,
        solvers={},
        created_at=ctx.clock.now(),
    )
    session.add(rnd)
    session.flush()
    return rnd


def _write(
    session: Session,
    ctx: ServiceContext,
    rnd: MatchRound,
    cands: dict[int, DemandCandidates],
    plan: Plan,
    *,
    repeat_misses: bool = True,
) -> RoundResult:
    result = RoundResult(rnd)
    lost = _take_all(session, ctx, result, cands, plan)
    unmatched = []
    for demand_id in sorted(cands):
        c = cands[demand_id]
        rnd.lost_races += lost[demand_id]
        if remaining(c.demand) > 0:
            unmatched.append((c, _reason(c, plan, lost[demand_id])))
    # Read before set_last_reasons overwrites them.
    new = [(c, r) for c, r in unmatched if repeat_misses or c.demand.last_reason != r.value]
    set_last_reasons(session, ((c.demand, reason.value) for c, reason in unmatched))
    rows = [_unmatched_row(ctx, rnd, c, reason) for c, reason in new]
    result.unmatched = insert_returning(session, Unmatched, rows)
    rnd.demands = len(cands)
    rnd.matched = len({m.demand_id for m in result.matches})
    rnd.objective = sum(int(m.cost["total"]) for m in result.matches)
    rnd.solvers = plan.solvers
    append_entry(
        session,
        kind="match.round",
        subject=f"round:{rnd.id}",
        at=ctx.clock.now(),
        data={
            "round": rnd.id,
            "kind": rnd.kind,
            "demands": rnd.demands,
            "matched": rnd.matched,
            "lost_races": rnd.lost_races,
            "objective": rnd.objective,
            "weights": rnd.weights,
            "fairness_share": rnd.fairness_share,
        },
    )
    session.flush()
    return result


def _take_all(
    session: Session,
    ctx: ServiceContext,
    result: RoundResult,
    cands: dict[int, DemandCandidates],
    plan: Plan,
) -> Counter[int]:
    """Hold every demand's offers in order until it is served; returns the races lost.

    Holds go in waves: each wave takes the next offer of every demand still short and holds
    them all in one batch through the booking service. A time demand is served by its first
    hold; a split order takes one hold per part, one part per wave.
    """
    rnd = result.round
    tries = {d: chain(plan.tries.get(d, []), plan.spares.get(d, ())) for d in sorted(cands)}
    lost: Counter[int] = Counter()
    while True:
        wave: list[tuple[Demand, Offer, int]] = []
        for demand_id, offers in tries.items():
            demand = cands[demand_id].demand
            need = remaining(demand)
            offer = next(offers, None) if need else None
            if offer is not None:
                is_time = QuantityUnit(demand.quantity_unit) is not QuantityUnit.PIECES
                wave.append((demand, offer, need if is_time else min(need, offer.quantity)))
        if not wave:
            return lost
        held = hold_many(session, ctx=ctx, holds=[_hold(d, o, q) for d, o, q in wave])
        won: list[tuple[tuple[Demand, Offer, int], Booking]] = []
        for w, booking in zip(wave, held, strict=True):
            if isinstance(booking, Booking):
                won.append((w, booking))
            else:  # taken meanwhile, or a rule the candidate filter could not see (a DST edge)
                lost[w[0].id] += 1
        rows = [_match_row(ctx, rnd, d, o, quantity=q, booking=b) for (d, o, q), b in won]
        matches = insert_returning(session, Match, rows)
        recorded = [
            (demand, quantity, {"match": m.id, "round": rnd.id, "booking": b.id, "cost": m.cost})
            for ((demand, _, quantity), b), m in zip(won, matches, strict=True)
        ]
        add_matched(session, ctx, recorded, DemandActor.SYSTEM)
        if rnd.kind == "batch":  # an instant match answers its caller directly
            held_for(session, ctx, [(demand, b) for (demand, _, _), b in won])
        result.matches.extend(matches)


def _hold(demand: Demand, offer: Offer, quantity: int) -> HoldIn:
    """A hold in the demander's name: one unit for a stretch, or a line's daily rate."""
    is_time = QuantityUnit(demand.quantity_unit) is not QuantityUnit.PIECES
    return HoldIn(
        demander_id=demand.demander_id,
        resource_id=offer.resource_id,
        unit_id=offer.unit_id,
        start=offer.window.start,
        end=offer.window.end,
        quantity=1 if is_time else rate_for(quantity, offer.window),
        note=f"demand {demand.id}",
    )


def _match_row(
    ctx: ServiceContext,
    rnd: MatchRound,
    demand: Demand,
    offer: Offer,
    *,
    quantity: int,
    booking: Booking,
) -> dict[str, Any]:
    return {
        "round_id": rnd.id,
        "demand_id": demand.id,
        "booking_id": booking.id,
        "provider_id": offer.provider_id,
        "resource_id": offer.resource_id,
        "unit_id": offer.unit_id,
        "quantity": quantity,
        "start_at": offer.window.start,
        "end_at": offer.window.end,
        "price_minor": booking.price_minor,
        "currency": booking.currency,
        "distance_km": offer.distance_km,
        "cost": offer.cost.as_dict(),
        "created_at": ctx.clock.now(),
    }


def _reason(c: DemandCandidates, plan: Plan, lost: int) -> UnmatchedReason:
    if c.reason is not None:
        return c.reason
    if lost:
        return UnmatchedReason.LOST_RACE
    if c.demand.id in plan.capped:
        return UnmatchedReason.FAIRNESS_CAP
    if c.demand.id in plan.below_lot:
        return UnmatchedReason.BELOW_MIN_LOT
    return UnmatchedReason.CANDIDATES_TAKEN


def _unmatched_row(
    ctx: ServiceContext, rnd: MatchRound, c: DemandCandidates, reason: UnmatchedReason
) -> dict[str, Any]:
    return {
        "round_id": rnd.id,
        "demand_id": c.demand.id,
        "reason": reason.value,
        "detail": {"after_filter": c.counts, "remaining": remaining(c.demand)},
        "created_at": ctx.clock.now(),
    }
