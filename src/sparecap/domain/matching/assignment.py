"""Exact unit assignment: a demand gets at most one unit, a unit serves at most one demand."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

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

from sparecap.domain.matching.core import (
    BoolArray,
    IndexArray,
    IntArray,
    MatchingInputError,
    Sense,
    SolveStatus,
    Stopwatch,
    as_int_array,
    as_int_matrix,
)
from sparecap.domain.matching.pricing import (
    SEED_ARCS_PER_LINE,
    dual_potentials,
    priced_out,
    sparse_seed,
)
from sparecap.domain.matching.spread import run_spread, warm_up

UNMATCHED = -1
# Rounds of "solve on the arcs so far, price the rest, add the arcs priced out" before falling
# back to the complete matrix; OR-Library instances need one.
PRICING_ROUNDS = 4
# Components of a split market are handed to the min-cost flow solver in batches of at least
# this many arcs (one component may make a batch larger).
_BATCH_ARCS = 20_000
# From this many arcs on, a market's pieces are solved side by side on the machine's cores (see
# spread.py). Below it, a helper's start and the arrays' trip cost more than they save: the
# 10,000 x 10,000 bench market (200,000 arcs) solves in about 0.6 s in one process.
SPREAD_FROM_ARCS = 500_000


class UnmatchedReason(StrEnum):
    NO_CANDIDATES = "no_candidates"
    """No unit passed the candidate filter (place, attributes, window, price ceiling)."""
    CANDIDATES_TAKEN = "candidates_taken"
    """Every candidate unit serves another demand; the matching is maximal, so none is idle."""


@dataclass(frozen=True, slots=True, eq=False)
class UnitArcs:
    """Candidate arcs of a unit market: demand[k] may use unit[k] at integer cost[k]."""

    num_demands: int
    num_units: int
    demand: IndexArray
    unit: IndexArray
    cost: IntArray

    @classmethod
    def build(
        cls, num_demands: int, num_units: int, demand: ArrayLike, unit: ArrayLike, cost: ArrayLike
    ) -> UnitArcs:
        """Validate and pack arcs; raises MatchingInputError on bad shapes or indices."""
        d, u, c = (
            as_int_array(demand, "demand"),
            as_int_array(unit, "unit"),
            as_int_array(cost, "cost"),
        )
        if not d.size == u.size == c.size:
            raise MatchingInputError("demand, unit and cost must have the same length")
        if num_demands < 0 or num_units < 0:
            raise MatchingInputError("counts must be non-negative")
        if d.size and (d.min() < 0 or d.max() >= num_demands):
            raise MatchingInputError("a demand index is out of range")
        if u.size and (u.min() < 0 or u.max() >= num_units):
            raise MatchingInputError("a unit index is out of range")
        return cls(num_demands, num_units, d.astype(np.int32), u.astype(np.int32), c)

    @property
    def size(self) -> int:
        return int(self.demand.size)


@dataclass(frozen=True, slots=True, eq=False)
class UnitMatching:
    """A matching: unit_of_demand[i] is the unit of demand i, or -1 with a reason in `unmatched`.

    objective is the total cost of the matched pairs; bound is a proven lower bound on it among
    matchings of maximum size (equal to objective when optimal, None for heuristics).
    """

    status: SolveStatus
    objective: int
    bound: int | None
    matched: int
    unit_of_demand: IndexArray
    cost_of_demand: IntArray
    unmatched: Mapping[int, UnmatchedReason]
    wall_seconds: float

    @property
    def fill_rate(self) -> float:
        total = self.unit_of_demand.size
        return self.matched / total if total else 1.0

    def pairs(self) -> Iterator[tuple[int, int, int]]:
        """(demand, unit, cost) of every match, by demand."""
        for d in np.flatnonzero(self.unit_of_demand != UNMATCHED):
            yield int(d), int(self.unit_of_demand[d]), int(self.cost_of_demand[d])


def match_units(arcs: UnitArcs, *, spread_from: int = SPREAD_FROM_ARCS) -> UnitMatching:
    """Match as many demands as possible, then at least total cost (min-cost maximum flow).

    A maximum matching found first splits the market without changing its optimum (see
    _pieces): arcs that no maximum matching can use are dropped, and what is left falls into
    independent pieces. Each piece is a min-cost maximum flow of its own: every demand node
    supplies one unit of flow and every unit node absorbs one; arcs carry one. The flow
    solver's time grows faster than linearly with the size of a network, so several small
    solves beat one large one. Pieces where everyone is matched are perfect assignments, which
    the assignment solver does several times faster than the flow solver; on the others (some
    demands or some units left over) the flow solver is the faster one. On a market of at
    least spread_from arcs the pieces are solved side by side on the machine's cores.
    """
    watch = Stopwatch()
    if arcs.size == 0:
        return build_matching(
            arcs, np.full(arcs.num_demands, UNMATCHED, np.int32), SolveStatus.OPTIMAL, watch
        )
    spread = arcs.size >= spread_from
    if spread:
        warm_up()  # the helpers start while the maximum matching is found here
    pieces = _pieces(arcs, _maximum_matching(arcs))
    tasks = [
        (piece.size, (arcs.demand[piece], arcs.unit[piece], arcs.cost[piece], perfect))
        for piece, perfect in pieces
    ]
    chosen = run_spread(_solve_piece, tasks) if spread else [_solve_piece(*a) for _, a in tasks]
    used = np.zeros(arcs.size, np.bool_)
    for (piece, _), piece_used in zip(pieces, chosen, strict=True):
        used[piece[piece_used]] = True
    unit_of_demand = np.full(arcs.num_demands, UNMATCHED, np.int32)
    unit_of_demand[arcs.demand[used]] = arcs.unit[used]
    return build_matching(arcs, unit_of_demand, SolveStatus.OPTIMAL, watch, used_arcs=used)


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


def match_units_lsa(arcs: UnitArcs) -> UnitMatching:
    """Same optimum as match_units by another algorithm: a perfect assignment on a padded graph.

    Left nodes are demands then one dummy per unit; right nodes are units then one dummy per
    demand. A demand may go to its own dummy and a unit may take its own dummy, each at a
    penalty M larger than any cost difference, so fewer penalties (more matches) always wins.
    Dummy-to-dummy arcs mirror the real arcs, so every matching extends to a perfect one.
    """
    watch = Stopwatch()
    d_count, u_count = arcs.num_demands, arcs.num_units
    if arcs.size == 0 or d_count == 0 or u_count == 0:
        return build_matching(
            arcs, np.full(d_count, UNMATCHED, np.int32), SolveStatus.OPTIMAL, watch
        )
    penalty = min(d_count, u_count) * int(np.abs(arcs.cost).max()) + 1
    demands = np.arange(d_count, dtype=np.int32)
    units = np.arange(u_count, dtype=np.int32)
    left = np.concatenate([arcs.demand, demands, units + d_count, arcs.unit + d_count])
    right = np.concatenate([arcs.unit, demands + u_count, units, arcs.demand + u_count])
    costs = np.concatenate(
        [arcs.cost, np.full(d_count + u_count, penalty, np.int64), np.zeros(arcs.size, np.int64)]
    )
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(left.astype(np.int32), right.astype(np.int32), costs)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise MatchingInputError(f"linear sum assignment refused the instance: {status.name}")
    mates = np.fromiter((solver.right_mate(i) for i in range(d_count)), np.int32, d_count)
    unit_of_demand = np.where(mates < u_count, mates, UNMATCHED).astype(np.int32)
    costs_of = np.fromiter((solver.assignment_cost(i) for i in range(d_count)), np.int64, d_count)
    return build_matching(arcs, unit_of_demand, SolveStatus.OPTIMAL, watch, explicit_costs=costs_of)


def solve_square_assignment(
    costs: ArrayLike, *, sense: Sense = Sense.MIN, seed_per_line: int = SEED_ARCS_PER_LINE
) -> UnitMatching:
    """Complete n x n assignment: row i (demand) to column j (unit), every row and column used.

    Solved on the cheapest arcs of each row and column first; dual prices then prove the answer
    optimal on all n*n arcs, or name the arcs to add for another round. If pricing does not
    settle, the complete matrix goes to the solver as it is. seed_per_line is how many of
    the cheapest arcs of each row and column the first solve sees.
    """
    watch = Stopwatch()
    matrix = as_int_matrix(costs, "costs")
    n = matrix.shape[0]
    if matrix.shape != (n, n):
        raise MatchingInputError(f"the cost matrix must be square, got {matrix.shape}")
    signed = matrix if sense is Sense.MIN else -matrix
    mates = _priced_assignment(signed, seed_per_line) if n else np.zeros(0, np.int32)
    if mates is None:
        rows = np.repeat(np.arange(n, dtype=np.int32), n)
        cols = np.tile(np.arange(n, dtype=np.int32), n)
        mates = _lsa_mates(n, rows, cols, signed.ravel())
    if mates is None:
        raise MatchingInputError("linear sum assignment found no complete assignment")
    chosen = matrix[np.arange(n), mates]
    # Every row is matched, so the chosen pairs are all the arcs the result needs to describe.
    arcs = UnitArcs(n, n, np.arange(n, dtype=np.int32), mates, chosen)
    return build_matching(arcs, mates, SolveStatus.OPTIMAL, watch, explicit_costs=chosen)


def _priced_assignment(signed: IntArray, per_line: int) -> IndexArray | None:
    """Mates proven optimal by dual prices, adding priced-out arcs for a few rounds."""
    seed = sparse_seed(signed, max(1, per_line))
    rows, cols = seed.rows, seed.cols
    for _ in range(PRICING_ROUNDS):
        mates = _lsa_mates(signed.shape[0], rows, cols, signed[rows, cols])
        if mates is None:
            return None
        prices = dual_potentials(signed, rows, cols, mates)
        if prices is None:
            return None
        more_rows, more_cols = priced_out(signed, seed, *prices)
        if more_rows.size == 0:
            return mates
        rows, cols = np.concatenate([rows, more_rows]), np.concatenate([cols, more_cols])
    return None


def _lsa_mates(n: int, rows: IndexArray, cols: IndexArray, costs: IntArray) -> IndexArray | None:
    """Column of each row in a least-cost perfect assignment on these arcs; None if none exists."""
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(rows, cols, costs)
    status = solver.solve()
    if status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        raise MatchingInputError(f"linear sum assignment refused the instance: {status.name}")
    return np.fromiter((solver.right_mate(i) for i in range(n)), np.int32, n)


def build_matching(
    arcs: UnitArcs,
    unit_of_demand: IndexArray,
    status: SolveStatus,
    watch: Stopwatch,
    *,
    used_arcs: BoolArray | None = None,
    explicit_costs: IntArray | None = None,
    exact: bool = True,
) -> UnitMatching:
    """Package a solution: per-demand costs, unmatched reasons, objective and bound.

    used_arcs marks the arcs used (so parallel arcs with different costs are resolved by the
    solver's choice); explicit_costs gives the per-demand cost directly.
    """
    matched_mask = unit_of_demand != UNMATCHED
    cost_of_demand = np.zeros(arcs.num_demands, np.int64)
    if explicit_costs is not None:
        cost_of_demand[matched_mask] = explicit_costs[matched_mask]
    elif used_arcs is not None:
        cost_of_demand[arcs.demand[used_arcs]] = arcs.cost[used_arcs]
    objective = int(cost_of_demand.sum())
    return UnitMatching(
        status=status,
        objective=objective,
        bound=objective if exact else None,
        matched=int(matched_mask.sum()),
        unit_of_demand=unit_of_demand,
        cost_of_demand=cost_of_demand,
        unmatched=unmatched_reasons(arcs, unit_of_demand),
        wall_seconds=watch.seconds(),
    )


def unmatched_reasons(arcs: UnitArcs, unit_of_demand: IndexArray) -> dict[int, UnmatchedReason]:
    """Why each unmatched demand is unmatched (valid for any maximal matching)."""
    has_arc = np.bincount(arcs.demand, minlength=arcs.num_demands) > 0
    unmatched = np.flatnonzero(unit_of_demand == UNMATCHED)
    return {
        int(d): UnmatchedReason.CANDIDATES_TAKEN if has_arc[d] else UnmatchedReason.NO_CANDIDATES
        for d in unmatched
    }
