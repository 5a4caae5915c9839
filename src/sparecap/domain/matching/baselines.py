"""Baselines the engine is measured against: first-come-first-served and greedy cheapest-first."""

from __future__ import annotations

import numpy as np

from sparecap.domain.matching.assignment import UNMATCHED, UnitArcs, UnitMatching, build_matching
from sparecap.domain.matching.core import IndexArray, SolveStatus, Stopwatch


def first_come_first_served(arcs: UnitArcs) -> UnitMatching:
    """Demands in arrival (index) order each take their cheapest candidate still free.

    Ties in cost go to the lower unit index. This is what a booking page without an engine does:
    whoever asks first gets the best unit left, with no regard to who asks next.
    """
    watch = Stopwatch()
    order = np.lexsort((arcs.unit, arcs.cost, arcs.demand))
    demands, units = arcs.demand[order].tolist(), arcs.unit[order].tolist()
    taken = bytearray(arcs.num_units)
    unit_of_demand = np.full(arcs.num_demands, UNMATCHED, np.int32)
    served = -1
    # Arcs are grouped by demand in arrival order; the first free unit in a group is the one.
    for d, u in zip(demands, units, strict=True):
        if d != served and not taken[u]:
            taken[u] = 1
            unit_of_demand[d] = u
            served = d
    return _heuristic(arcs, unit_of_demand, watch)


def greedy_cheapest_first(arcs: UnitArcs) -> UnitMatching:
    """Take arcs from cheapest to dearest whenever both ends are still free.

    Ties go to the lower demand, then the lower unit. A cheap early pair can block two others,
    so greedy can both pay more than the optimum and leave demands a better pairing would serve.
    """
    watch = Stopwatch()
    order = np.lexsort((arcs.unit, arcs.demand, arcs.cost))
    demands, units = arcs.demand[order].tolist(), arcs.unit[order].tolist()
    taken = bytearray(arcs.num_units)
    unit_of_demand = np.full(arcs.num_demands, UNMATCHED, np.int32)
    placed = bytearray(arcs.num_demands)
    for d, u in zip(demands, units, strict=True):
        if not placed[d] and not taken[u]:
            taken[u] = placed[d] = 1
            unit_of_demand[d] = u
    return _heuristic(arcs, unit_of_demand, watch)


def _heuristic(arcs: UnitArcs, unit_of_demand: IndexArray, watch: Stopwatch) -> UnitMatching:
    """Package with the cost of each chosen pair (cheapest arc if a pair appears twice)."""
    matched = unit_of_demand[arcs.demand] == arcs.unit
    cost_of = np.full(arcs.num_demands, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(cost_of, arcs.demand[matched], arcs.cost[matched])
    costs = np.where(unit_of_demand != UNMATCHED, cost_of, 0)
    return build_matching(
        arcs, unit_of_demand, SolveStatus.FEASIBLE, watch, explicit_costs=costs, exact=False
    )
