"""Baselines: valid maximal matchings, never better than the engine, and their known failures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings

from sparecap.domain.matching.assignment import UNMATCHED, UnitArcs, UnitMatching, match_units
from sparecap.domain.matching.baselines import first_come_first_served, greedy_cheapest_first
from sparecap.domain.matching.core import SolveStatus
from tests.domain.matching.test_assignment import assert_valid, markets

BASELINES: list[Callable[[UnitArcs], UnitMatching]] = [
    first_come_first_served,
    greedy_cheapest_first,
]
IDS = ["fcfs", "greedy"]


@pytest.mark.parametrize("baseline", BASELINES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(arcs=markets())
def test_baselines_are_valid_maximal_and_never_beat_the_engine(
    baseline: Callable[[UnitArcs], UnitMatching], arcs: UnitArcs
) -> None:
    result = baseline(arcs)
    assert_valid(arcs, result)
    assert result.status is SolveStatus.FEASIBLE
    assert result.bound is None
    used = set(result.unit_of_demand.tolist())
    for d, u in zip(arcs.demand.tolist(), arcs.unit.tolist(), strict=True):
        assert result.unit_of_demand[d] != UNMATCHED or u in used  # maximal: no free arc left
    best = match_units(arcs)
    assert result.matched <= best.matched
    if result.matched == best.matched:
        assert result.objective >= best.objective


def test_first_come_first_served_lets_the_first_demand_take_the_contested_unit() -> None:
    # Demand 0 arrives first and takes unit 0 (its cheapest); demand 1 could only use unit 0.
    arcs = UnitArcs.build(2, 2, [0, 0, 1], [0, 1, 0], [1, 2, 1])
    result = first_come_first_served(arcs)
    assert result.unit_of_demand.tolist() == [0, UNMATCHED]
    assert match_units(arcs).matched == 2


def test_greedy_takes_the_cheapest_arc_even_when_it_blocks_two_others() -> None:
    # The 1-cost arc blocks the pairing (0->1, 1->0) that serves both demands.
    arcs = UnitArcs.build(2, 2, [1, 0, 0], [0, 0, 1], [2, 1, 2])
    result = greedy_cheapest_first(arcs)
    assert result.unit_of_demand.tolist() == [0, UNMATCHED]
    assert (result.matched, result.objective) == (1, 1)


def test_ties_break_by_lower_index() -> None:
    arcs = UnitArcs.build(2, 2, [1, 1, 0, 0], [1, 0, 1, 0], [4, 4, 4, 4])
    assert greedy_cheapest_first(arcs).unit_of_demand.tolist() == [0, 1]
    assert first_come_first_served(arcs).unit_of_demand.tolist() == [0, 1]


def test_parallel_arcs_report_the_cheaper_cost() -> None:
    arcs = UnitArcs.build(1, 1, [0, 0], [0, 0], [7, 3])
    for baseline in BASELINES:
        assert baseline(arcs).cost_of_demand.tolist() == [3]
    assert np.array_equal(match_units(arcs).cost_of_demand, [3])
