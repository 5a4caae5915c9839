"""Generalised assignment: exact against brute force in both senses, OR-Library optima, bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching.core import MatchingInputError, Sense, SolveStatus
from sparecap.domain.matching.gap import GapInstance, GapResult, solve_gap
from sparecap.domain.matching.gap_start import UNASSIGNED, greedy_assignment
from sparecap.domain.matching.orlib import read_gap
from tests.domain.matching._orlib import ORLIB, needs_orlib, optima


@st.composite
def instances(draw: st.DrawFn) -> GapInstance:
    """Up to 3 agents and 6 jobs; tight capacities so that some draws are infeasible."""
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    matrix = st.lists(st.lists(st.integers(0, 10), min_size=n, max_size=n), min_size=m, max_size=m)
    costs = np.array(draw(matrix)) - draw(st.integers(0, 5))  # some negative costs too
    weights = np.array(draw(matrix))
    capacities = draw(st.lists(st.integers(0, 25), min_size=m, max_size=m))
    return GapInstance.build(costs, weights, capacities)


def brute_force(instance: GapInstance, sense: Sense) -> int | None:
    """The best total over every feasible assignment, or None when there is none."""
    best: int | None = None
    jobs = range(instance.jobs)
    for agents in itertools.product(range(instance.agents), repeat=instance.jobs):
        load = np.zeros(instance.agents, np.int64)
        np.add.at(load, list(agents), instance.weights[list(agents), list(jobs)])
        if (load <= instance.capacities).all():
            total = int(instance.costs[list(agents), list(jobs)].sum())
            if best is None or (total < best if sense is Sense.MIN else total > best):
                best = total
    return best


def assert_feasible(instance: GapInstance, result: GapResult) -> None:
    agents = result.agent_of_job
    assert (agents != UNASSIGNED).all()
    load = np.bincount(
        agents,
        weights=instance.weights[agents, np.arange(instance.jobs)],
        minlength=instance.agents,
    )
    assert (load <= instance.capacities).all()
    assert result.objective == int(instance.costs[agents, np.arange(instance.jobs)].sum())


@settings(max_examples=120, deadline=None)
@given(instance=instances(), sense=st.sampled_from(Sense))
def test_solver_finds_the_brute_force_optimum(instance: GapInstance, sense: Sense) -> None:
    expected = brute_force(instance, sense)
    result = solve_gap(instance, sense=sense, time_limit=10)
    if expected is None:
        assert result.status is SolveStatus.INFEASIBLE
        assert result.objective is None
        assert (result.agent_of_job == UNASSIGNED).all()
    else:
        assert result.status is SolveStatus.OPTIMAL
        assert result.objective == result.bound == expected
        assert_feasible(instance, result)
        assert result.relative_gap == 0


@settings(max_examples=60, deadline=None)
@given(instance=instances(), sense=st.sampled_from(Sense))
def test_greedy_start_never_overloads_an_agent(instance: GapInstance, sense: Sense) -> None:
    start = greedy_assignment(instance, sense)
    placed = np.flatnonzero(start != UNASSIGNED)
    load = np.bincount(
        start[placed], weights=instance.weights[start[placed], placed], minlength=instance.agents
    )
    assert (load <= instance.capacities).all()


def test_a_job_that_fits_nowhere_is_infeasible_without_a_search() -> None:
    instance = GapInstance.build([[1, 1]], [[1, 9]], [5])
    result = solve_gap(instance)
    assert result.status is SolveStatus.INFEASIBLE
    assert (result.objective, result.bound) == (None, None)


def test_too_little_capacity_overall_is_infeasible() -> None:
    # Every job fits each agent alone, but three jobs of 3 cannot share two agents of 4.
    instance = GapInstance.build([[1, 1, 1], [1, 1, 1]], [[3, 3, 3], [3, 3, 3]], [4, 4])
    assert solve_gap(instance).status is SolveStatus.INFEASIBLE


def test_a_stopped_search_reports_a_proven_bound_and_the_lp_relaxation() -> None:
    # A tight 10 x 200 instance (Chu-Beasley type D style: costs fall as weights rise) that
    # 0.3 s cannot close; whatever comes back, the bound must be a true bound.
    rng = np.random.default_rng(11)
    weights = rng.integers(1, 101, (10, 200))
    costs = 111 - weights + rng.integers(-10, 11, (10, 200))
    capacities = (0.8 * weights.sum(axis=1) / 10).astype(np.int64)
    result = solve_gap(GapInstance.build(costs, weights, capacities), time_limit=0.3)
    assert result.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL, SolveStatus.UNKNOWN)
    assert result.bound is not None
    if result.status is not SolveStatus.OPTIMAL:
        assert result.lp_bound is not None
        assert result.bound >= int(np.floor(result.lp_bound))
    if result.objective is not None:
        assert result.bound <= result.objective


def test_a_large_instance_solves_its_lp_first_and_stays_within_bounds() -> None:
    rng = np.random.default_rng(5)
    weights = rng.integers(5, 26, (20, 500))
    costs = rng.integers(10, 51, (20, 500))
    capacities = (0.8 * weights.sum(axis=1) / 20).astype(np.int64)
    result = solve_gap(GapInstance.build(costs, weights, capacities), time_limit=3)
    assert result.lp_bound is not None
    assert result.objective is not None and result.bound is not None
    assert result.lp_bound - 1e-6 <= result.objective
    assert result.bound <= result.objective
    assert_feasible(GapInstance.build(costs, weights, capacities), result)


@pytest.mark.parametrize(
    ("costs", "weights", "capacities", "message"),
    [
        ([[1, 2]], [[1]], [3], "agree"),
        ([[1, 2]], [[1, 2]], [3, 4], "agree"),
        ([[1, 2]], [[1, -2]], [3], "non-negative"),
        ([[1.5, 2]], [[1, 2]], [3], "integers"),
    ],
)
def test_malformed_instances_are_refused(
    costs: object, weights: object, capacities: object, message: str
) -> None:
    with pytest.raises(MatchingInputError, match=message):
        GapInstance.build(costs, weights, capacities)  # type: ignore[arg-type]


def test_time_limit_must_be_positive() -> None:
    with pytest.raises(MatchingInputError, match="time_limit"):
        solve_gap(GapInstance.build([[1]], [[1]], [1]), time_limit=0)


def _expected(file: str, sense: str) -> list[int]:
    rows = [r for r in optima("gap-orlib") if r["file"] == f"gap/{file}" and r["sense"] == sense]
    return [int(r["value"]) for r in sorted(rows, key=lambda r: int(r["index_in_file"]))]


@needs_orlib
@pytest.mark.parametrize("sense", ["min", "max"])
@pytest.mark.parametrize("number", range(1, 13))
def test_or_library_gap1_to_gap12_reach_their_optima(number: int, sense: str) -> None:
    file = f"gap{number}.txt"
    results = [
        solve_gap(problem, sense=Sense(sense), time_limit=20)
        for problem in read_gap(ORLIB / "gap" / file)
    ]
    assert [r.objective for r in results] == _expected(file, sense)
    assert all(r.status is SolveStatus.OPTIMAL for r in results)


@needs_orlib
@pytest.mark.parametrize(("file", "index"), [("gapa.txt", 0), ("gapa.txt", 4), ("gapb.txt", 2)])
def test_or_library_chu_beasley_problems_reach_their_optima(file: str, index: int) -> None:
    problem = read_gap(ORLIB / "gap" / file)[index]
    result = solve_gap(problem, sense=Sense.MIN, time_limit=60)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == _expected(file, "min")[index]
