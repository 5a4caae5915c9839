"""Unit assignment: exact against brute force, two algorithms agree, OR-Library optima, reasons."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching import unit_auction, unit_flow
from sparecap.domain.matching.assignment import (
    UNMATCHED,
    UnitArcs,
    UnitMatching,
    UnmatchedReason,
    match_units,
    match_units_by_flow,
    match_units_lsa,
    solve_square_assignment,
)
from sparecap.domain.matching.core import MatchingInputError, Sense, SolveStatus
from sparecap.domain.matching.orlib import read_assignment
from sparecap.domain.matching.unit_auction import auction_matching
from tests.domain.matching._orlib import ORLIB, needs_orlib, optima

ENGINES: list[Callable[[UnitArcs], UnitMatching]] = [
    match_units,
    match_units_by_flow,
    match_units_lsa,
]


@st.composite
def markets(draw: st.DrawFn) -> UnitArcs:
    """Up to 5 demands and 5 units, any subset of pairs (parallel arcs allowed), signed costs."""
    demands = draw(st.integers(0, 5))
    units = draw(st.integers(0, 5))
    pairs = [(d, u) for d in range(demands) for u in range(units)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=14)) if pairs else []
    costs = draw(st.lists(st.integers(-20, 50), min_size=len(chosen), max_size=len(chosen)))
    return UnitArcs.build(
        demands, units, [d for d, _ in chosen], [u for _, u in chosen], np.array(costs, np.int64)
    )


def brute_force(arcs: UnitArcs) -> tuple[int, int]:
    """(most pairs, least cost among those) by trying every subset of arcs."""
    best = (0, 0)
    triples = list(zip(arcs.demand.tolist(), arcs.unit.tolist(), arcs.cost.tolist(), strict=True))
    for size in range(1, min(arcs.num_demands, arcs.num_units) + 1):
        for combo in itertools.combinations(triples, size):
            if len({d for d, _, _ in combo}) == size == len({u for _, u, _ in combo}):
                cost = sum(c for _, _, c in combo)
                if size > best[0] or cost < best[1]:
                    best = (size, cost)
    return best


def assert_valid(arcs: UnitArcs, result: UnitMatching) -> None:
    """Each unit used once, every pair is an arc, the reported costs are those arcs' costs."""
    chosen = result.unit_of_demand[result.unit_of_demand != UNMATCHED]
    assert len(set(chosen.tolist())) == chosen.size == result.matched
    for d, u, cost in result.pairs():
        offered = arcs.cost[(arcs.demand == d) & (arcs.unit == u)]
        assert cost in offered.tolist()
    assert result.objective == int(result.cost_of_demand.sum())
    assert set(result.unmatched) == set(np.flatnonzero(result.unit_of_demand == UNMATCHED))


@pytest.mark.parametrize("engine", ENGINES, ids=["auction", "min_cost_flow", "assignment"])
@settings(max_examples=150, deadline=None)
@given(arcs=markets())
def test_engines_match_the_most_demands_at_the_least_cost(
    engine: Callable[[UnitArcs], UnitMatching], arcs: UnitArcs
) -> None:
    result = engine(arcs)
    assert_valid(arcs, result)
    assert (result.matched, result.objective) == brute_force(arcs)
    assert result.status is SolveStatus.OPTIMAL
    assert result.bound == result.objective


@settings(max_examples=60, deadline=None)
@given(arcs=markets())
def test_every_unmatched_demand_says_why(arcs: UnitArcs) -> None:
    result = match_units(arcs)
    has_arc = set(arcs.demand.tolist())
    for demand, reason in result.unmatched.items():
        if demand in has_arc:
            assert reason is UnmatchedReason.CANDIDATES_TAKEN
            # The matching is maximal: every candidate unit of an unmatched demand is in use.
            assert set(arcs.unit[arcs.demand == demand].tolist()) <= set(
                result.unit_of_demand.tolist()
            )
        else:
            assert reason is UnmatchedReason.NO_CANDIDATES


def test_the_two_algorithms_agree_on_a_larger_sparse_market() -> None:
    rng = np.random.default_rng(20260302)
    demands, units, per_demand = 400, 300, 4
    d = np.repeat(np.arange(demands), per_demand)
    u = rng.integers(0, units, d.size)
    arcs = UnitArcs.build(demands, units, d, u, rng.integers(0, 1000, d.size))
    auction, lsa = match_units(arcs), match_units_lsa(arcs)
    assert_valid(arcs, auction)
    assert (auction.matched, auction.objective) == (lsa.matched, lsa.objective)
    assert auction.matched < demands  # more demands than units: some must stay unmatched


@st.composite
def clustered_markets(draw: st.DrawFn) -> UnitArcs:
    """A few separate clusters, each short of units, short of demands or even, with parallel
    arcs and a shared cost range: what splitting the market into pieces has to get right."""
    demand_ids: list[int] = []
    unit_ids: list[int] = []
    costs: list[int] = []
    demands = units = 0
    for _ in range(draw(st.integers(1, 4))):
        d_here, u_here = draw(st.integers(1, 7)), draw(st.integers(1, 7))
        pairs = [(d, u) for d in range(d_here) for u in range(u_here)]
        chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=24))
        for d, u in chosen:
            demand_ids.append(demands + d)
            unit_ids.append(units + u)
            costs.append(draw(st.integers(0, 30)))
        demands, units = demands + d_here, units + u_here
    return UnitArcs.build(demands, units, demand_ids, unit_ids, costs)


@settings(max_examples=150, deadline=None)
@given(arcs=clustered_markets(), threads=st.booleans())
def test_the_three_algorithms_agree_on_split_markets(arcs: UnitArcs, threads: bool) -> None:
    # match_units splits the market into its Dulmage-Mendelsohn classes and auctions each;
    # match_units_by_flow splits it into components solved by OR-Tools' flows (batched, or one
    # by one); match_units_lsa solves the whole padded graph at once. They share no step.
    auction, lsa = match_units(arcs, threads=threads), match_units_lsa(arcs)
    assert_valid(arcs, auction)
    assert (auction.matched, auction.objective) == (lsa.matched, lsa.objective)
    flow = match_units_by_flow(arcs)
    assert (flow.matched, flow.objective) == (lsa.matched, lsa.objective)
    with patch.object(unit_flow, "_BATCH_ARCS", 1):
        alone = match_units_by_flow(arcs)
    assert (alone.matched, alone.objective) == (lsa.matched, lsa.objective)


def several_classes() -> UnitArcs:
    """Three clusters: short of units, short of demands, even; random costs."""
    rng = np.random.default_rng(7)
    demand_parts, unit_parts, cost_parts = [], [], []
    for base, (demands, units) in enumerate([(300, 250), (250, 300), (200, 200)]):
        d = np.repeat(np.arange(demands), 3)
        demand_parts.append(d + base * 1000)
        unit_parts.append(rng.integers(0, units, d.size) + base * 1000)
        cost_parts.append(rng.integers(0, 500, d.size))
    return UnitArcs.build(
        3000, 3000, np.concatenate(demand_parts), np.concatenate(unit_parts),
        np.concatenate(cost_parts),
    )  # fmt: skip


def test_classes_solved_in_threads_give_the_one_thread_optimum() -> None:
    arcs = several_classes()
    alone, threaded = match_units(arcs, threads=False), match_units(arcs, threads=True)
    assert_valid(arcs, threaded)
    assert (threaded.matched, threaded.objective) == (alone.matched, alone.objective)
    flow = match_units_by_flow(arcs)
    assert (threaded.matched, threaded.objective) == (flow.matched, flow.objective)


def test_costs_too_wide_for_the_auction_go_to_the_flow_solver() -> None:
    # 10^10 spread over 3,000 objects leaves the auction's int64 prices too little room.
    base = several_classes()
    wide = UnitArcs.build(base.num_demands, base.num_units, base.demand, base.unit,
                          base.cost * 20_000_000)  # fmt: skip
    assert auction_matching(wide.num_demands, wide.num_units, wide.demand, wide.unit,
                            wide.cost) is None  # fmt: skip
    result = match_units(wide)
    assert_valid(wide, result)
    reference = match_units(base)
    assert (result.matched, result.objective) == (
        reference.matched,
        reference.objective * 20_000_000,
    )


def test_a_matching_not_proven_maximum_goes_to_the_flow_solver() -> None:
    # Were the push-relabel to stop short (it never has), the classes' check would catch the
    # augmenting paths left, and the flow solver would answer instead.
    arcs = several_classes()

    def nothing_matched(d_start: np.ndarray, *_: object) -> tuple[np.ndarray, np.ndarray]:
        return np.full(d_start.size - 1, -1, np.int32), np.full(arcs.num_units, -1, np.int32)

    with patch.object(unit_auction, "maximum_matching", nothing_matched):
        assert auction_matching(arcs.num_demands, arcs.num_units, arcs.demand, arcs.unit,
                                arcs.cost) is None  # fmt: skip
        result = match_units(arcs)
    flow = match_units_by_flow(arcs)
    assert_valid(arcs, result)
    assert (result.matched, result.objective) == (flow.matched, flow.objective)


@settings(max_examples=100, deadline=None)
@given(arcs=clustered_markets())
def test_pieces_partition_the_arcs_a_maximum_matching_can_use(arcs: UnitArcs) -> None:
    matched = unit_flow._maximum_matching(arcs)
    pieces = unit_flow._pieces(arcs, matched)
    arc_ids = np.concatenate([piece for piece, _ in pieces]) if pieces else np.zeros(0, int)
    assert len(set(arc_ids.tolist())) == arc_ids.size  # no arc in two pieces
    # The maximum matching found first lies inside the pieces.
    assert set(np.flatnonzero(matched).tolist()) <= set(arc_ids.tolist())
    for piece, perfect in pieces:
        demands, units = np.unique(arcs.demand[piece]), np.unique(arcs.unit[piece])
        inside = int(matched[piece].sum())
        if perfect:
            assert demands.size == units.size == inside
        else:
            assert inside == min(demands.size, units.size)


def test_a_perfect_piece_with_negative_costs_is_solved() -> None:
    # OR-Tools' assignment solver calls this perfect piece infeasible as it stands.
    arcs = UnitArcs.build(2, 2, [0, 0, 1], [0, 1, 1], [1, -1, 0])
    result = match_units(arcs)
    assert (result.matched, result.objective) == (2, 1)
    assert list(result.unit_of_demand) == [0, 1]


def test_a_costlier_pair_is_taken_when_it_lets_one_more_demand_in() -> None:
    # Demand 0 alone would take unit 0 for 1; matching both needs demand 0 on unit 1 for 9.
    arcs = UnitArcs.build(2, 2, [0, 0, 1], [0, 1, 0], [1, 9, 5])
    result = match_units(arcs)
    assert result.unit_of_demand.tolist() == [1, 0]
    assert (result.matched, result.objective) == (2, 14)
    assert result.fill_rate == 1.0


def test_demands_without_candidates_are_reported_as_such() -> None:
    arcs = UnitArcs.build(3, 1, [0, 1], [0, 0], [3, 2])
    result = match_units(arcs)
    assert result.unit_of_demand.tolist() == [UNMATCHED, 0, UNMATCHED]
    assert result.unmatched == {
        0: UnmatchedReason.CANDIDATES_TAKEN,
        2: UnmatchedReason.NO_CANDIDATES,
    }
    empty = match_units(UnitArcs.build(2, 0, [], [], []))
    assert empty.matched == 0
    assert set(empty.unmatched.values()) == {UnmatchedReason.NO_CANDIDATES}


@settings(max_examples=60, deadline=None)
@given(
    matrix=st.integers(1, 6).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(-50, 100), min_size=n, max_size=n), min_size=n, max_size=n
        )
    ),
    sense=st.sampled_from(Sense),
)
def test_square_assignment_matches_every_permutation(matrix: list[list[int]], sense: Sense) -> None:
    n = len(matrix)
    totals = [sum(matrix[i][p[i]] for i in range(n)) for p in itertools.permutations(range(n))]
    result = solve_square_assignment(np.array(matrix), sense=sense)
    assert result.objective == (min(totals) if sense is Sense.MIN else max(totals))
    assert sorted(result.unit_of_demand.tolist()) == list(range(n))
    assert result.objective == sum(matrix[i][j] for i, j in enumerate(result.unit_of_demand))


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 14),
    per_line=st.integers(1, 3),
    sense=st.sampled_from(Sense),
)
def test_pricing_from_a_thin_seed_still_proves_the_optimum(
    data: st.DataObject, n: int, per_line: int, sense: Sense
) -> None:
    # A seed of one to three arcs per row and column usually misses optimal arcs, so this
    # exercises the rounds that price arcs back in (and the fallback when the seed has no
    # complete assignment). The oracle is the min-cost flow on the complete graph.
    spread = data.draw(st.sampled_from([3, 20, 1000]))
    matrix = np.array(data.draw(st.lists(st.integers(0, spread), min_size=n * n, max_size=n * n)))
    matrix = matrix.reshape(n, n)
    result = solve_square_assignment(matrix, sense=sense, seed_per_line=per_line)
    signed = matrix if sense is Sense.MIN else -matrix
    rows, cols = np.divmod(np.arange(n * n), n)
    oracle = match_units(UnitArcs.build(n, n, rows, cols, signed.ravel()))
    assert sorted(result.unit_of_demand.tolist()) == list(range(n))
    expected = oracle.objective if sense is Sense.MIN else -oracle.objective
    assert result.objective == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: UnitArcs.build(2, 2, [0, 1], [0], [1, 1]), "same length"),
        (lambda: UnitArcs.build(2, 2, [0, 2], [0, 1], [1, 1]), "demand index"),
        (lambda: UnitArcs.build(2, 2, [0, 1], [0, -1], [1, 1]), "unit index"),
        (lambda: UnitArcs.build(2, 2, [0, 1], [0, 1], [1.5, 1]), "integers"),
        (lambda: solve_square_assignment([[1, 2, 3], [4, 5, 6]]), "square"),
        (lambda: solve_square_assignment([1, 2]), "matrix"),
    ],
)
def test_malformed_input_is_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(MatchingInputError, match=message):
        build()


@needs_orlib
@pytest.mark.parametrize("size", [100, 200, 300, 400, 500, 600, 700, 800])
def test_or_library_assign_instances_reach_their_published_optimum(size: int) -> None:
    row = next(r for r in optima("assign") if r["instance"] == f"assign{size}")
    result = solve_square_assignment(read_assignment(ORLIB / row["file"]))
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == result.bound == int(row["value"])
