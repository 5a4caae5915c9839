"""Unit matching by OR-Tools' flow solvers: the engine before the auction, kept as its check
and its fallback.

A maximum matching (max flow) splits the market by Dulmage-Mendelsohn into independent pieces,
each a min-cost maximum flow (or a perfect assignment) of its own. On the 100k x 100k bench
market this takes 8-11 s in one process against the auction's 1.7-2.5 s (docs/benchmarks.md);
match_units falls back to it only where the auction declines (costs too wide for its prices).
Being another algorithm on other code, it is also what tests and the bench check the auction
against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

# ortools ships .pyi files for its graph solvers but no py.typed marker, so mypy cannot see them.
from ortools.graph.python import (  # type: ignore[import-untyped]
    linear_sum_assignment,
    max_flow,
    min_cost_flow,
)

# scipy ships no type information of its own (that is the separate scipy-stubs package).
from scipy.sparse import csr_array  # type: ignore[import-untyped]
from scipy.sparse.csgraph import (  # type: ignore[import-untyped]
    breadth_first_order,
    connected_components,
)

from sparecap.domain.matching.core import BoolArray, IndexArray, IntArray, MatchingInputError

if TYPE_CHECKING:
    from sparecap.domain.matching.assignment import UnitArcs

# Components of a split market are handed to the min-cost flow solver in batches of at least
# this many arcs (one component may make a batch larger).
_BATCH_ARCS = 20_000


def flow_matching(arcs: UnitArcs) -> BoolArray:
    """Which arcs a least-cost maximum matching uses: the most pairs, then the least cost."""
    used = np.zeros(arcs.size, np.bool_)
    if arcs.size == 0:
        return used
    for piece, perfect in _pieces(arcs, _maximum_matching(arcs)):
        chosen = _solve_piece(arcs.demand[piece], arcs.unit[piece], arcs.cost[piece], perfect)
        used[piece[chosen]] = True
    return used


def _maximum_matching(arcs: UnitArcs) -> BoolArray:
    """Arcs of one maximum matching (any), by max flow from a source over demands to units."""
    d_count, u_count = arcs.num_demands, arcs.num_units
    source, sink = d_count + u_count, d_count + u_count + 1
    # Breadth-first node numbers, as for _min_cost_flow: on the bench market the solve took
    # 1.8 s with them (the search included) against 2.9 s without.
    number = _breadth_first_numbers(
        d_count + u_count, arcs.demand, arcs.unit.astype(np.int64) + d_count
    )
    demands, units = number[:d_count], number[d_count:]
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.concatenate([np.full(d_count, source, np.int32), demands[arcs.demand], units]),
        np.concatenate([demands, units[arcs.unit], np.full(u_count, sink, np.int32)]),
        np.ones(d_count + arcs.size + u_count, np.int64),
    )
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise MatchingInputError(f"max flow refused the instance: {status.name}")
    arc_ids = np.arange(d_count, d_count + arcs.size, dtype=np.int32)
    return np.asarray(flow.flows(arc_ids)) > 0


def _pieces(arcs: UnitArcs, matched: BoolArray) -> list[tuple[IntArray, bool]]:
    """Arc indices of independent pieces whose separate optima make up the whole optimum,
    each with whether it is a perfect assignment (all its demands and units get matched).

    Dulmage-Mendelsohn: take the demands reachable from an unmatched demand by alternating
    paths (any arc to a unit, then that unit's matched arc back) with the units on the way,
    and likewise from the unmatched units. Every maximum matching matches the units of the
    first set to demands of that set, the demands of the second set to units of that set, and
    everything else perfectly among itself; so an arc between two of these three classes is
    in no maximum matching and can go. What is left falls apart into connected components,
    each a matching problem of its own with the same objective: most pairs, then least cost.
    """
    d_count, u_count = arcs.num_demands, arcs.num_units
    mate_of_demand = np.full(d_count, -1, np.int64)
    mate_of_demand[arcs.demand[matched]] = arcs.unit[matched]
    mate_of_unit = np.full(u_count, -1, np.int64)
    mate_of_unit[arcs.unit[matched]] = arcs.demand[matched]
    paired = np.flatnonzero(mate_of_demand >= 0)
    # Nodes: demands 0..d_count-1, then units; reach() adds a root linked to the start nodes.
    unit_nodes = arcs.unit.astype(np.int64) + d_count
    demand_side = _reach(
        d_count + u_count,
        np.flatnonzero(mate_of_demand < 0),
        np.concatenate([arcs.demand, mate_of_demand[paired] + d_count]),
        np.concatenate([unit_nodes, paired]),
    )
    unit_side = _reach(
        d_count + u_count,
        np.flatnonzero(mate_of_unit < 0) + d_count,
        np.concatenate([unit_nodes, paired]),
        np.concatenate([arcs.demand, mate_of_demand[paired] + d_count]),
    )
    # Class of each node: 1 reached from an unmatched demand, 2 from an unmatched unit, else 0
    # (no node is reached from both, or the matching would have an augmenting path).
    node_class = demand_side.astype(np.int8) + 2 * unit_side.astype(np.int8)
    keep = np.flatnonzero(node_class[arcs.demand] == node_class[unit_nodes])
    if keep.size == 0:
        return []
    graph = csr_array(
        (np.ones(keep.size, np.int8), (arcs.demand[keep], unit_nodes[keep])),
        shape=(d_count + u_count, d_count + u_count),
    )
    count, label = connected_components(graph, directed=False)
    # Components of one class sit next to each other, so batches below never mix classes.
    group = node_class[arcs.demand[keep]].astype(np.int64) * count + label[arcs.demand[keep]]
    order = np.argsort(group, kind="stable")
    by_group, group = keep[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    # Small components go to the solver together, so a market of many tiny ones does not
    # pay a solver's fixed cost per component; a batch closes once it has enough arcs or
    # the next component is of another class.
    pieces, first = [], 0
    for start, end in zip(starts.tolist(), [*starts[1:].tolist(), group.size], strict=True):
        if end == group.size or (
            end - first >= _BATCH_ARCS or group[end] // count != group[start] // count
        ):
            pieces.append((by_group[first:end], bool(group[start] // count == 0)))
            first = end
    return pieces


def _reach(nodes: int, starts: IntArray, tails: IntArray, heads: IntArray) -> BoolArray:
    """Which nodes a breadth-first search reaches from `starts` along arcs tail -> head."""
    root = nodes
    graph = csr_array(
        (
            np.ones(starts.size + tails.size, np.int8),
            (np.concatenate([np.full(starts.size, root), tails]), np.r_[starts, heads]),
        ),
        shape=(nodes + 1, nodes + 1),
    )
    seen = np.zeros(nodes + 1, np.bool_)
    seen[breadth_first_order(graph, root, directed=True, return_predecessors=False)] = True
    return seen[:nodes]


def _solve_piece(demand: IndexArray, unit: IndexArray, cost: IntArray, perfect: bool) -> BoolArray:
    """Which of a piece's arcs (demand[k] to unit[k] at cost[k]) its optimum uses."""
    chosen = _perfect_assignment(demand, unit, cost) if perfect else None
    # The assignment solver scales costs by the node count and declines when that could
    # overflow; the flow solver then takes the piece.
    return _min_cost_flow(demand, unit, cost) if chosen is None else chosen


def _min_cost_flow(demand: IndexArray, unit: IndexArray, cost: IntArray) -> BoolArray:
    """Which of the arcs a min-cost maximum flow uses, on the arcs' own nodes alone."""
    demands, demand_node = np.unique(demand, return_inverse=True)
    units, unit_node = np.unique(unit, return_inverse=True)
    nodes = demands.size + units.size
    tails, heads = demand_node, unit_node + demands.size
    # The solver's time depends on how its nodes are numbered: numbered in breadth-first order
    # it solved the 100k x 100k bench market's largest piece (54k demands, 1M arcs) in 4-8 s
    # instead of 9-12 s (numbered by demand and unit index, or at random), the smaller pieces
    # up to a third faster. Reversed breadth-first and reverse Cuthill-McKee orders gain
    # nothing, so it is the search order, not just locality; the numbers say, not a theory.
    number = _breadth_first_numbers(nodes, tails, heads)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        number[tails], number[heads], np.ones(cost.size, np.int64), cost
    )
    supplies = np.zeros(nodes, np.int64)
    supplies[number[: demands.size]] = 1
    supplies[number[demands.size :]] = -1
    flow.set_nodes_supplies(np.arange(nodes, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise MatchingInputError(f"min-cost flow refused the instance: {status.name}")
    return np.asarray(flow.flows(np.arange(cost.size, dtype=np.int32))) > 0


def _breadth_first_numbers(
    nodes: int, tails: IndexArray | IntArray, heads: IndexArray | IntArray
) -> IndexArray:
    """New number of each node: its place in a breadth-first search from node 0 over the arcs
    in both directions, then the nodes it does not reach (other components) in their order."""
    graph = csr_array(
        (np.ones(tails.size, np.int8), (tails, heads)), shape=(nodes, nodes), dtype=np.int8
    )
    order = breadth_first_order(graph, 0, directed=False, return_predecessors=False)
    reached = np.zeros(nodes, np.bool_)
    reached[order] = True
    order = np.concatenate([order, np.flatnonzero(~reached)])
    number = np.empty(nodes, np.int32)
    number[order] = np.arange(nodes, dtype=np.int32)
    return number


def _perfect_assignment(demand: IndexArray, unit: IndexArray, cost: IntArray) -> BoolArray | None:
    """Which of the arcs a least-cost perfect assignment of their nodes uses; None if the
    solver declines them (see _solve_piece)."""
    demands, demand_node = np.unique(demand, return_inverse=True)
    units, unit_node = np.unique(unit, return_inverse=True)
    n = demands.size
    if units.size != n:
        raise MatchingInputError("a perfect piece must have as many demands as units")
    # The solver takes one arc per pair, so parallel arcs give way to their cheapest one.
    pair = demand_node.astype(np.int64) * n + unit_node
    order = np.lexsort((cost, pair))
    cheapest = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
    costs = cost[cheapest]
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    # Every perfect assignment pays the same shift n times, so the optimum does not move; the
    # solver wrongly reports some instances with negative costs infeasible (found by the
    # property test: arcs 0-0 at 1, 0-1 at -1, 1-1 at 0), non-negative ones it solves.
    solver.add_arcs_with_cost(
        demand_node[cheapest].astype(np.int32),
        unit_node[cheapest].astype(np.int32),
        costs - min(0, int(costs.min())),
    )
    status = solver.solve()
    if status != solver.OPTIMAL:
        return None  # min-cost flow takes the piece (overflow risk, or a refusal)
    mates = np.fromiter((solver.right_mate(i) for i in range(n)), np.int64, n)
    used = np.zeros(cost.size, np.bool_)
    used[cheapest[np.searchsorted(pair[cheapest], np.arange(n) * n + mates)]] = True
    return used
