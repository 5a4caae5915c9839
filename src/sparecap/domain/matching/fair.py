"""Unit assignment with a fairness cap: no provider takes more than `cap` matches in a round.

Still a min-cost flow: demand -> unit -> provider -> sink, the unit arc holding the unit's
capacity and the provider arc holding `cap`. Each unit belongs to one provider, so the network
stays a flow (integral) and the optimum is exact.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# ortools ships .pyi files for its graph solvers but no py.typed marker, so mypy cannot see them.
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

from sparecap.domain.matching.assignment import (
    UNMATCHED,
    UnitArcs,
    UnitMatching,
    build_matching,
    match_units,
)
from sparecap.domain.matching.core import (
    IntArray,
    MatchingInputError,
    SolveStatus,
    Stopwatch,
    as_int_array,
)


def match_units_capped(
    arcs: UnitArcs,
    provider_of_unit: ArrayLike,
    *,
    cap: int | None,
    unit_capacity: ArrayLike | None = None,
) -> UnitMatching:
    """Most matches, then least cost, with at most `cap` matches per provider (None: no cap)
    and at most unit_capacity[u] demands on unit u (default 1: a pooled unit takes more)."""
    owner = as_int_array(provider_of_unit, "provider_of_unit")
    if owner.size != arcs.num_units or (owner.size and owner.min() < 0):
        raise MatchingInputError("provider_of_unit needs one non-negative provider per unit")
    room = (
        np.ones(arcs.num_units, np.int64)
        if unit_capacity is None
        else as_int_array(unit_capacity, "unit_capacity")
    )
    if room.size != arcs.num_units or (room.size and room.min() < 0):
        raise MatchingInputError("unit_capacity needs one non-negative capacity per unit")
    if cap is not None and cap < 0:
        raise MatchingInputError("cap must be non-negative")
    if cap is None and (room == 1).all():
        return match_units(arcs)
    return _capped_flow(arcs, owner, room, arcs.num_demands if cap is None else cap)


def _capped_flow(arcs: UnitArcs, owner: IntArray, room: IntArray, cap: int) -> UnitMatching:
    watch = Stopwatch()
    d_count, u_count = arcs.num_demands, arcs.num_units
    if arcs.size == 0 or cap == 0:
        return build_matching(
            arcs, np.full(d_count, UNMATCHED, np.int32), SolveStatus.OPTIMAL, watch
        )
    providers = int(owner.max()) + 1
    unit_base, provider_base = d_count, d_count + u_count
    sink = provider_base + providers
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate(
        [arcs.demand, np.arange(u_count) + unit_base, np.arange(providers) + provider_base]
    )
    heads = np.concatenate([arcs.unit + unit_base, owner + provider_base, np.full(providers, sink)])
    capacity = np.concatenate(
        [np.ones(arcs.size, np.int64), room, np.full(providers, cap, np.int64)]
    )
    costs = np.concatenate([arcs.cost, np.zeros(u_count + providers, np.int64)])
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), capacity, costs
    )
    nodes = np.arange(sink + 1, dtype=np.int32)
    supplies = np.zeros(sink + 1, np.int64)
    supplies[:d_count], supplies[sink] = 1, -d_count
    flow.set_nodes_supplies(nodes, supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise MatchingInputError(f"min-cost flow refused the instance: {status.name}")
    used = np.asarray(flow.flows(np.arange(arcs.size, dtype=np.int32))) > 0
    unit_of_demand = np.full(d_count, UNMATCHED, np.int32)
    unit_of_demand[arcs.demand[used]] = arcs.unit[used]
    return build_matching(arcs, unit_of_demand, SolveStatus.OPTIMAL, watch, used_arcs=used)
