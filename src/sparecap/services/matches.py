"""Reading what the engine did: rounds, matches with their costs, and why demands missed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand, Match, MatchRound, Unmatched
from sparecap.services.demands import get_demand
from sparecap.services.errors import NotFoundError
from sparecap.services.principals import Principal, Role


@dataclass(frozen=True, slots=True)
class Explanation:
    demand: Demand
    matches: list[Match]
    unmatched: list[Unmatched]  # newest first: the first says why the last round missed


def explain_demand(
    session: Session, *, principal: Principal, demand_id: int, misses: int = 100, skip: int = 0
) -> Explanation:
    """A demand's matches with their cost breakdowns, and rounds' reasons for a miss: the
    `misses` newest after skipping `skip` (a demand open for weeks collects many)."""
    demand = get_demand(session, principal=principal, demand_id=demand_id)
    matches = session.scalars(select(Match).where(Match.demand_id == demand_id).order_by(Match.id))
    if not (principal.reads_everything or principal.participant_id == demand.demander_id):
        # A provider looking at a live demand sees its own matches, not its rivals'.
        matches = (m for m in matches if m.provider_id == principal.participant_id)  # type: ignore[assignment]
        return Explanation(demand, list(matches), [])
    newest = session.scalars(
        select(Unmatched)
        .where(Unmatched.demand_id == demand_id)
        .order_by(Unmatched.id.desc())
        .limit(misses)
        .offset(skip)
    )
    return Explanation(demand, list(matches), list(newest))


def get_round(
    session: Session, *, principal: Principal, round_id: int
) -> tuple[MatchRound, list[Match], list[Unmatched]]:
    """A round with everything it decided; operators and auditors only."""
    if not principal.reads_everything:
        raise NotFoundError(f"round {round_id} not found", code="unknown_round")
    rnd = session.get(MatchRound, round_id)
    if rnd is None:
        raise NotFoundError(f"round {round_id} not found", code="unknown_round")
    matches = session.scalars(select(Match).where(Match.round_id == round_id).order_by(Match.id))
    misses = session.scalars(
        select(Unmatched).where(Unmatched.round_id == round_id).order_by(Unmatched.id)
    )
    return rnd, list(matches), list(misses)


def list_rounds(
    session: Session, *, principal: Principal, limit: int = 50, offset: int = 0
) -> list[MatchRound]:
    if not principal.reads_everything:
        return []
    query = select(MatchRound).order_by(MatchRound.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def list_matches(
    session: Session,
    *,
    principal: Principal,
    demand_id: int | None = None,
    round_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Match]:
    """Matches the caller is party to (its demands, or its capacity); all of them for staff."""
    query = select(Match)
    if not principal.reads_everything:
        me = principal.participant_id
        mine = Match.provider_id == me
        if Role.DEMANDER in principal.roles:
            mine = mine | Match.demand_id.in_(select(Demand.id).where(Demand.demander_id == me))
        query = query.where(mine)
    if demand_id is not None:
        query = query.where(Match.demand_id == demand_id)
    if round_id is not None:
        query = query.where(Match.round_id == round_id)
    return list(session.scalars(query.order_by(Match.id).limit(limit).offset(offset)))
