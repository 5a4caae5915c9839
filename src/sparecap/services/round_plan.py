"""A round's plan: the engine solves each shape of problem and says which offers to hold.

Time demands (hours, slots: one unit for a stretch) are a unit assignment by min-cost flow,
with the fairness cap as a provider arc; those it leaves out may still queue on exclusive units
free long enough for several, within the same cap (services/round_schedule.py). Splittable
piece orders are a transportation problem across lines. Indivisible piece orders on
capacity-limited lines are a generalised assignment (CP-SAT), with a dummy line at a
prohibitive cost so a round with too little capacity is still feasible. All costs are
integers before any solver sees them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sparecap.domain.demands import QuantityUnit
from sparecap.domain.matching.assignment import UNMATCHED, UnitArcs
from sparecap.domain.matching.costs import CostWeights
from sparecap.domain.matching.fair import match_units_capped
from sparecap.domain.matching.gap import GapInstance, solve_gap
from sparecap.domain.matching.transport import split_orders
from sparecap.services.candidates import DemandCandidates, Offer, per_piece_cost
from sparecap.services.demands import remaining
from sparecap.services.round_schedule import schedule_leftovers

# CP-SAT's budget for the indivisible piece orders of one round. Rounds run on command or on a
# schedule, so a few seconds are affordable; the plan reports whether it was proven optimal.
GAP_SECONDS = 5.0


@dataclass(slots=True)
class Plan:
    """Per demand, the offers to try in order: the engine's choice, then spare alternatives."""

    tries: dict[int, list[Offer]] = field(default_factory=dict)
    # Offers to fall back on when every try is lost to a race, made only when needed: a round
    # may have hundreds of thousands of them and rarely uses any.
    spares: dict[int, Iterable[Offer]] = field(default_factory=dict)
    capped: set[int] = field(default_factory=set)  # demands the fairness cap kept out
    below_lot: set[int] = field(default_factory=set)  # demands whose split parts were too small
    solvers: dict[str, Any] = field(default_factory=dict)
    objective: int = 0


def plan_round(
    cands: dict[int, DemandCandidates], *, weights: CostWeights, provider_cap: int | None
) -> Plan:
    plan = Plan()
    time_ids, split_ids, whole_ids = [], [], []
    for demand_id, c in sorted(cands.items()):
        if not c.offers:
            continue
        if QuantityUnit(c.demand.quantity_unit) is not QuantityUnit.PIECES:
            time_ids.append(demand_id)
        elif c.demand.splittable:
            split_ids.append(demand_id)
        else:
            whole_ids.append(demand_id)
    _plan_units(plan, [cands[i] for i in time_ids], provider_cap)
    _plan_queues(plan, [cands[i] for i in time_ids], weights, provider_cap)
    _plan_splits(plan, [cands[i] for i in split_ids])
    _plan_whole(plan, [cands[i] for i in whole_ids])
    return plan


def _index(offers: Iterable[Offer]) -> dict[int, int]:
    """A solver index per unit class, keyed by the class's first unit (a unit belongs to one
    class in a round)."""
    units: dict[int, int] = {}
    for o in offers:
        units.setdefault(o.unit_id, len(units))
    return units


def _plan_units(plan: Plan, group: list[DemandCandidates], cap: int | None) -> None:
    """Time demands onto unit classes by min-cost flow, then a unit of its class to each."""
    if not group:
        return
    # One pass over the round's offers (hundreds of thousands): arcs, and per class its room
    # (the least any offer saw) and its provider.
    classes: dict[int, int] = {}
    room: list[int] = []
    owner: list[int] = []
    owner_ids: dict[int, int] = {}
    tails, heads, costs = [], [], []
    for i, c in enumerate(group):
        for o in c.offers:
            k = classes.get(o.unit_id)
            if k is None:
                k = classes[o.unit_id] = len(room)
                room.append(o.capacity)
                owner.append(owner_ids.setdefault(o.provider_id, len(owner_ids)))
            elif o.capacity < room[k]:
                room[k] = o.capacity
            tails.append(i)
            heads.append(k)
            costs.append(o.cost.total)
    arcs = UnitArcs.build(len(group), len(classes), tails, heads, costs)
    result = match_units_capped(arcs, owner, cap=cap, unit_capacity=room)
    uncapped = match_units_capped(arcs, owner, cap=None, unit_capacity=room) if cap else result
    keys = list(classes)
    # Units still idle per class once every chosen demand has one; a pooled unit taken by
    # the plan counts as given (its room is the plan's).
    idle: dict[int, list[int]] = {}
    for i, c in enumerate(group):
        k = int(result.unit_of_demand[i])
        if k == UNMATCHED:
            if uncapped.unit_of_demand[i] != UNMATCHED:
                plan.capped.add(c.demand.id)
            continue
        first = next(o for o in c.offers if o.unit_id == keys[k])
        if len(first.unit_ids) == 1:
            unit = first.unit_id
            idle[keys[k]] = []
        else:  # the flow gives a class at most as many demands as it has units
            unit = idle.setdefault(keys[k], list(first.unit_ids)).pop(0)
        plan.tries[c.demand.id] = [first.on(unit)]
    for c in group:
        if c.demand.id in plan.tries:
            # Fallbacks only on units the plan gives nobody, so a lost race never steals
            # another demand's planned unit.
            plan.spares[c.demand.id] = _spares(c.offers, idle)
    plan.objective += result.objective
    plan.solvers["unit_assignment"] = {
        "solver": "min_cost_flow" if cap is None else "min_cost_flow_capped",
        "status": result.status.value,
        "demands": len(group),
        "arcs": arcs.size,
        "objective": result.objective,
        "objective_without_cap": uncapped.objective,
        "matched_without_cap": uncapped.matched,
        "seconds": round(result.wall_seconds, 4),
    }


def _spares(offers: list[Offer], idle: dict[int, list[int]]) -> Iterator[Offer]:
    """The demand's offers, cheapest first, on each unit the plan left idle."""
    for o in offers:
        for unit in idle.get(o.unit_id, o.unit_ids):
            yield o.on(unit)


def _plan_queues(
    plan: Plan, group: list[DemandCandidates], weights: CostWeights, cap: int | None
) -> None:
    picks = [plan.tries[c.demand.id][0] for c in group if c.demand.id in plan.tries]
    left = [c for c in group if c.demand.id not in plan.tries]
    scheduled = schedule_leftovers(left, picks, weights, cap)
    for demand_id, offer in scheduled.offers.items():
        plan.tries[demand_id] = [offer]
        plan.capped.discard(demand_id)
    plan.capped |= scheduled.capped
    if scheduled.solver:
        plan.objective += scheduled.solver["objective"]
        plan.solvers["queued_on_units"] = scheduled.solver


def _plan_splits(plan: Plan, group: list[DemandCandidates]) -> None:
    if not group:
        return
    offers = [o for c in group for o in c.offers]
    lines = _index(offers)
    cap = np.full(len(lines), np.iinfo(np.int64).max, np.int64)
    for o in offers:
        cap[lines[o.unit_id]] = min(cap[lines[o.unit_id]], o.capacity)
    row = {c.demand.id: i for i, c in enumerate(group)}
    result = split_orders(
        [remaining(c.demand) for c in group],
        cap,
        order=[row[o.demand_id] for o in offers],
        line=[lines[o.unit_id] for o in offers],
        unit_cost=[per_piece_cost(o) for o in offers],
    )
    by_arc = {(row[o.demand_id], lines[o.unit_id]): o for o in offers}
    for a in result.allocations:
        offer = by_arc[(a.order, a.line)]
        demand = group[a.order].demand
        if a.quantity < demand.min_lot:
            plan.below_lot.add(demand.id)
            continue
        part = _part(offer, a.quantity)
        plan.tries.setdefault(demand.id, []).append(part)
    plan.objective += result.objective
    plan.solvers["order_splitting"] = {
        "solver": "transport_min_cost_flow",
        "status": result.status.value,
        "orders": len(group),
        "objective": result.objective,
        "seconds": round(result.wall_seconds, 4),
    }


def _part(offer: Offer, pieces: int) -> Offer:
    """The offer cut to `pieces`, its price and cost scaled to match."""
    price = offer.price_minor * pieces // offer.quantity
    cost = dataclasses.replace(offer.cost, price=offer.cost.price * pieces // offer.quantity)
    return dataclasses.replace(offer, quantity=pieces, price_minor=price, cost=cost)


def _plan_whole(plan: Plan, group: list[DemandCandidates]) -> None:
    if not group:
        return
    offers = [o for c in group for o in c.offers]
    lines = _index(offers)
    agents, jobs = len(lines) + 1, len(group)
    dummy = agents - 1
    weights = np.zeros((agents, jobs), np.int64)
    capacity = np.zeros(agents, np.int64)
    capacity[:dummy] = np.iinfo(np.int32).max
    for o in offers:
        capacity[lines[o.unit_id]] = min(capacity[lines[o.unit_id]], o.capacity)
    # Pairs without an offer get a weight no line can hold: the solver never picks them.
    weights[:dummy] = capacity[:dummy, None] + 1
    costs = np.zeros((agents, jobs), np.int64)
    by_pair: dict[tuple[int, int], Offer] = {}
    for j, c in enumerate(group):
        for o in c.offers:
            a = lines[o.unit_id]
            weights[a, j], costs[a, j] = o.quantity, o.cost.total
            by_pair[(a, j)] = o
    penalty = int(costs.sum()) + 1  # dearer than every real assignment together
    costs[dummy], capacity[dummy] = penalty, jobs
    result = solve_gap(GapInstance.build(costs, weights, capacity), time_limit=GAP_SECONDS)
    placed = 0
    for j, c in enumerate(group):
        a = int(result.agent_of_job[j])
        if 0 <= a < dummy:
            plan.tries[c.demand.id] = [by_pair[(a, j)]]
            placed += by_pair[(a, j)].cost.total
    plan.objective += placed
    plan.solvers["indivisible_orders"] = {
        "solver": "gap_cp_sat",
        "status": result.status.value,
        "orders": jobs,
        "objective": placed,
        "relative_gap": result.relative_gap,
        "seconds": round(result.wall_seconds, 4),
    }
