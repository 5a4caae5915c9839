"""Exact unit assignment: a demand gets at most one unit, a unit serves at most one demand."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

# ortools ships .pyi files for its graph solvers but no py.typed marker, so mypy cannot see them.
from ortools.graph.python import linear_sum_assignment  # type: ignore[import-untyped]

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
from sparecap.domain.matching.unit_auction import auction_matching
from sparecap.domain.matching.unit_flow import flow_matching

UNMATCHED = -1
# Rounds of "solve on the arcs so far, price the rest, add the arcs priced out" before falling
# back to the complete matrix; OR-Library instances need one.
PRICING_ROUNDS = 4


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


def match_units(arcs: UnitArcs, *, threads: bool = True) -> UnitMatching:
    """Match as many demands as possible, then at the least total cost.

    A maximum matching splits the market into its Dulmage-Mendelsohn classes; in each, an
    ε-scaling auction assigns every node of the side all maximum matchings fill (unit_auction.py).
    With `threads`, the largest class is solved beside the others. Where the auction declines
    (costs too wide for its int64 prices), OR-Tools' flow solvers take the market (unit_flow.py).
    """
    watch = Stopwatch()
    used = auction_matching(arcs.num_demands, arcs.num_units, arcs.demand, arcs.unit, arcs.cost,
                            threads=threads)  # fmt: skip
    if used is None:
        used = flow_matching(arcs)
    return _from_used_arcs(arcs, used, watch)


def match_units_by_flow(arcs: UnitArcs) -> UnitMatching:
    """The same optimum by OR-Tools' flow solvers alone: the check on match_units."""
    watch = Stopwatch()
    return _from_used_arcs(arcs, flow_matching(arcs), watch)


def _from_used_arcs(arcs: UnitArcs, used: BoolArray, watch: Stopwatch) -> UnitMatching:
    unit_of_demand = np.full(arcs.num_demands, UNMATCHED, np.int32)
    unit_of_demand[arcs.demand[used]] = arcs.unit[used]
    return build_matching(arcs, unit_of_demand, SolveStatus.OPTIMAL, watch, used_arcs=used)


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
