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

UNMATCHED = -1
# Rounds of "solve on the arcs so far, price the rest, add the arcs priced out" before falling
# back to the complete matrix; OR-Library instances need one.
PRICING_ROUNDS = 4
# Components of a split market are handed to the min-cost flow solver in batches of at least
# this many arcs (one component may make a batch larger).
_BATCH_ARCS = 20_000


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


def match_units(arcs: UnitArcs) -> UnitMatching:
    """Match as many demands as possible, then at least total cost (min-cost maximum flow).

    A maximum matching found first splits the market without changing its optimum (see
    _pieces): arcs that no maximum matching can use are dropped, and what is left falls into
    independent pieces. Each piece is a min-cost maximum flow of its own: every demand node
    supplies one unit of flow and every unit node absorbs one; arcs carry one. The flow
    solver's time grows faster than linearly with the size of a network, so several small
    solves beat one large one. Pieces where everyone is matched are perfect assignments, which
    the assignment solver does several times faster than the flow solver. The others (some
    demands or some units left over) become perfect assignments of twice the size (see
    _covering_assignment), which the assignment solver still does a little faster.
    """
    watch = Stopwatch()
    if arcs.size == 0:
        return build_matching(
            arcs, np.full(arcs.num_demands, UNMATCHED, np.int32), SolveStatus.OPTIMAL, watch
        )
    used = np.zeros(arcs.size, np.bool_)
    for piece, perfect in _pieces(arcs, _maximum_matching(arcs)):
        chosen = (_perfect_assignment if perfect else _covering_assignment)(arcs, piece)
        # The assignment solver scales costs by the node count and declines when that could
        # overflow; the flow solver then takes the piece.
        used[piece[_min_cost_flow(arcs, piece) if chosen is None else chosen]] = True
    unit_of_demand = np.full(arcs.num_demands, UNMATCHED, np.int32)
    unit_of_demand[arcs.demand[used]] = arcs.unit[used]
    return build_matching(arcs, unit_of_demand, SolveStatus.OPTIMAL, watch, used_arcs=used)


def _maximum_matching(arcs: UnitArcs) -> BoolArray:
    """Arcs of one maximum matching (any), by max flow from a source over demands to units."""
    d_count, u_count = arcs.num_demands, arcs.num_units
    source, sink = d_count + u_count, d_count + u_count + 1
    demands = np.arange(d_count, dtype=np.int32)
    units = np.arange(u_count, dtype=np.int32) + np.int32(d_count)
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.concatenate([np.full(d_count, source, np.int32), arcs.demand, units]),
        np.concatenate([demands, arcs.unit + np.int32(d_count), np.full(u_count, sink, np.int32)]),
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


def _min_cost_flow(arcs: UnitArcs, piece: IntArray) -> BoolArray:
    """Which of the piece's arcs a min-cost maximum flow uses, on the piece's nodes alone."""
    demands, demand_node = np.unique(arcs.demand[piece], return_inverse=True)
    units, unit_node = np.unique(arcs.unit[piece], return_inverse=True)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        demand_node.astype(np.int32),
        (unit_node + demands.size).astype(np.int32),
        np.ones(piece.size, np.int64),
        arcs.cost[piece],
    )
    nodes = demands.size + units.size
    supplies = np.concatenate([np.ones(demands.size, np.int64), np.full(units.size, -1, np.int64)])
    flow.set_nodes_supplies(np.arange(nodes, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise MatchingInputError(f"min-cost flow refused the instance: {status.name}")
    return np.asarray(flow.flows(np.arange(piece.size, dtype=np.int32))) > 0


def _perfect_assignment(arcs: UnitArcs, piece: IntArray) -> BoolArray | None:
    """Which of the piece's arcs a least-cost perfect assignment of its nodes uses; None if
    the solver declines the piece (see match_units)."""
    pairs = _PiecePairs.of(arcs, piece)
    if pairs.units != pairs.demands:
        raise MatchingInputError("a perfect piece must have as many demands as units")
    return pairs.solve(pairs.demand, pairs.unit, pairs.cost)


def _covering_assignment(arcs: UnitArcs, piece: IntArray) -> BoolArray | None:
    """Which of the piece's arcs a least-cost matching of all nodes of its smaller side uses
    (the pieces of _pieces that are not perfect: every demand matched and units left over, or
    the reverse); None if the solver declines the piece (see match_units).

    Made a perfect assignment without penalties: left nodes are the demands and a copy u' of
    every unit, right nodes the units and a copy d' of every demand. Real arcs d -> u and their
    mirrors u' -> d' both cost c; a node of the larger side may take its own copy at 0 (u' -> u
    when units are left over, d -> d' when demands are). A perfect assignment is then a
    matching M on the real arcs covering the smaller side plus a mirrored one N covering it
    too, with the same nodes of the larger side, and any such pair is one: its cost is c(M) +
    c(N) >= 2 * optimum, with equality for M = N optimal. So the real half of an optimal
    perfect assignment is optimal. Mirror arcs at 0 instead of c would be exact as well, but
    the solver was 1.2 to 4 times slower on them than the flow solver on the piece itself (a
    55k-demand piece: 44 s against 12 s); with c it was 10-25 % faster on 11k-21k-demand
    pieces and even (within noise) on the 55k one (bench/matching.py market, 2026-11).
    """
    pairs = _PiecePairs.of(arcs, piece)
    d_count, u_count = pairs.demands, pairs.units
    # Left: demands 0..d_count-1, then unit copies; right: units 0..u_count-1, then demand copies.
    if u_count > d_count:
        spare_left = np.arange(u_count, dtype=np.int32) + np.int32(d_count)
        spare_right = np.arange(u_count, dtype=np.int32)
    else:
        spare_left = np.arange(d_count, dtype=np.int32)
        spare_right = np.arange(d_count, dtype=np.int32) + np.int32(u_count)
    left = np.concatenate([pairs.demand, pairs.unit + np.int32(d_count), spare_left])
    right = np.concatenate([pairs.unit, pairs.demand + np.int32(u_count), spare_right])
    # Every node of the smaller side and every copy of it is matched once, by a real or a
    # mirror arc, so shifting all of those arcs (not the spare ones) by one amount moves every
    # perfect assignment's cost by the same total; solve_perfect shifts them to >= 0.
    costs = np.concatenate([pairs.cost, pairs.cost])
    return pairs.solve(left, right, costs, spare=np.zeros(spare_left.size, np.int64))


@dataclass(frozen=True, slots=True, eq=False)
class _PiecePairs:
    """A piece's arcs on local node numbers, one arc per (demand, unit) pair, the cheapest."""

    piece_size: int
    demands: int
    units: int
    demand: IndexArray
    unit: IndexArray
    cost: IntArray
    arc: IntArray  # index into the piece of the arc kept for each pair

    @classmethod
    def of(cls, arcs: UnitArcs, piece: IntArray) -> _PiecePairs:
        demands, demand_node = np.unique(arcs.demand[piece], return_inverse=True)
        units, unit_node = np.unique(arcs.unit[piece], return_inverse=True)
        # The solver takes one arc per pair, so parallel arcs give way to their cheapest one.
        pair = demand_node.astype(np.int64) * units.size + unit_node
        order = np.lexsort((arcs.cost[piece], pair))
        cheapest = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
        return cls(
            piece_size=int(piece.size),
            demands=int(demands.size),
            units=int(units.size),
            demand=demand_node[cheapest].astype(np.int32),
            unit=unit_node[cheapest].astype(np.int32),
            cost=arcs.cost[piece][cheapest],
            arc=cheapest,
        )

    def solve(
        self,
        left: IndexArray,
        right: IndexArray,
        costs: IntArray,
        spare: IntArray | None = None,
    ) -> BoolArray | None:
        """Perfect assignment on left -> right arcs whose first self.arc.size arcs are the real
        pairs; the piece's arcs that it uses, or None if the solver declines.

        `costs` are arcs every perfect assignment uses the same number of times (so shifting
        them all is exact), `spare` the costs of any arcs after them, which stay as they are.
        """
        solver = linear_sum_assignment.SimpleLinearSumAssignment()
        # Every perfect assignment pays the shift the same number of times, so the optimum
        # does not move; the solver wrongly reports some instances with negative costs
        # infeasible (found by the property test: arcs 0-0 at 1, 0-1 at -1, 1-1 at 0),
        # non-negative ones it solves.
        shifted = costs - min(0, int(costs.min()))
        solver.add_arcs_with_cost(
            left, right, shifted if spare is None else np.concatenate([shifted, spare])
        )
        status = solver.solve()
        if status != solver.OPTIMAL:
            return None  # min-cost flow takes the piece (overflow risk, or a refusal)
        # The solver hands mates out one call at a time; the real demands are the first
        # self.demands left nodes, and a mate past the real units is a copy (left over).
        mates = np.fromiter(
            (solver.right_mate(i) for i in range(self.demands)), np.int64, self.demands
        )
        matched = np.flatnonzero(mates < self.units)
        key = self.demand.astype(np.int64) * self.units + self.unit
        wanted = matched * self.units + mates[matched]
        used = np.zeros(self.piece_size, np.bool_)
        # Pairs are sorted by key (demand, unit), so each matched pair is found by bisection.
        used[self.arc[np.searchsorted(key, wanted)]] = True
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
