"""Generalised assignment: exact against brute force in both senses, OR-Library optima, bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from sparecap.domain.matching import gap as gap_module
from sparecap.domain.matching.core import MatchingInputError, Sense, SolveStatus
from sparecap.domain.matching.gap import GapInstance, GapResult, solve_gap
from sparecap.domain.matching.gap_lp import (
    LpRelaxation,
    combine,
    dual_bound,
    knapsack_bound,
    signed_costs,
    solve_lp_relaxation,
)
from sparecap.domain.matching.gap_start import UNASSIGNED, greedy_assignment, local_search
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


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), sense=st.sampled_from(Sense))
def test_local_search_keeps_capacity_and_never_worsens(seed: int, sense: Sense) -> None:
    # Tight capacities (type D style) so that shifts run out and swaps and chains are tried.
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 7)), int(rng.integers(5, 40))
    weights = rng.integers(1, 101, (m, n))
    costs = 111 - weights + rng.integers(-10, 11, (m, n))
    capacities = (0.9 * weights.sum(axis=1) / m).astype(np.int64)
    instance = GapInstance.build(costs, weights, capacities)
    start = greedy_assignment(instance, sense)
    if (start == UNASSIGNED).any():
        return
    better = local_search(instance, sense, start, seconds=5)
    jobs = np.arange(n)
    load = np.bincount(better, weights=weights[better, jobs], minlength=m)
    assert (load <= capacities).all()
    before, after = costs[start, jobs].sum(), costs[better, jobs].sum()
    assert after <= before if sense is Sense.MIN else after >= before


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


@settings(max_examples=80, deadline=None)
@given(
    instance=instances(),
    sense=st.sampled_from(Sense),
    prices=st.lists(st.floats(-20, 20), min_size=9, max_size=9),
)
def test_any_prices_give_bounds_below_every_assignment_through_each_pair(
    instance: GapInstance, sense: Sense, prices: list[float]
) -> None:
    # The bound arguments of dual_bound and knapsack_bound hold for any job prices and any agent
    # prices (the positive ones are clipped): check them on arbitrary ones, not only the LP's.
    usable = instance.usable()
    if not usable.any(axis=0).all():
        return
    lp = LpRelaxation(
        SolveStatus.UNKNOWN,
        None,
        np.zeros(instance.costs.shape),
        0.0,
        np.array(prices[: instance.jobs]),
        np.array(prices[6 : 6 + instance.agents]),
    )
    signed = signed_costs(instance, sense)
    bound = dual_bound(instance, signed, usable, lp)
    # The knapsack bound from the same prices, a few subgradient steps on, and both at once.
    knapsacks = knapsack_bound(
        instance, signed, usable, np.array(prices[: instance.jobs]), upper=50.0, seconds=0.01
    )
    jobs = np.arange(instance.jobs)
    for agents in itertools.product(range(instance.agents), repeat=instance.jobs):
        chosen = np.array(agents)
        load = np.bincount(chosen, instance.weights[chosen, jobs], minlength=instance.agents)
        if (load <= instance.capacities).all():
            cost = signed[chosen, jobs].sum()
            for each in (bound, knapsacks, combine(bound, knapsacks)):
                assert each.value + each.excess[chosen, jobs].max() <= cost + 1e-9


def _independent_optimum(instance: GapInstance, sense: Sense) -> int:
    """The optimum by a plain CP-SAT model on every pair: no LP, no pricing, no cores."""
    model = cp_model.CpModel()
    x = {
        (i, j): model.new_bool_var("")
        for i in range(instance.agents)
        for j in range(instance.jobs)
        if instance.weights[i, j] <= instance.capacities[i]
    }
    for j in range(instance.jobs):
        model.add_exactly_one(v for (_, jj), v in x.items() if jj == j)
    for i in range(instance.agents):
        model.add(
            sum(int(instance.weights[i, j]) * v for (ii, j), v in x.items() if ii == i)
            <= int(instance.capacities[i])
        )
    total = sum(int(instance.costs[i, j]) * v for (i, j), v in x.items())
    if sense is Sense.MIN:
        model.minimize(total)
    else:
        model.maximize(total)
    solver = cp_model.CpSolver()
    assert solver.solve(model) == cp_model.OPTIMAL
    return round(solver.objective_value)


@pytest.mark.parametrize("sense", list(Sense))
@pytest.mark.parametrize("seed", range(4))
def test_growing_cores_reach_the_optimum_of_a_plain_model(
    seed: int, sense: Sense, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first core of about one pair per job almost never holds the optimum, so the search
    # has to grow it (and cap each core's bound by the pairs left out) to prove anything.
    monkeypatch.setattr(gap_module, "CORE_PAIRS_PER_JOB", 1.0)
    rng = np.random.default_rng(seed)
    weights = rng.integers(5, 26, (5, 25))
    costs = rng.integers(10, 51, (5, 25))
    capacities = (0.8 * weights.sum(axis=1) / 5).astype(np.int64)
    instance = GapInstance.build(costs, weights, capacities)
    result = solve_gap(instance, sense=sense, time_limit=20)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == result.bound == _independent_optimum(instance, sense)
    assert_feasible(instance, result)


def test_the_priced_lp_matches_the_lp_on_every_pair() -> None:
    # Pricing starts from a few pairs per job; once no pair prices out below zero, the LP on
    # those pairs is the LP on all of them, and the bound from its prices equals its value.
    rng = np.random.default_rng(3)
    weights = rng.integers(1, 101, (10, 300))
    costs = 111 - weights + rng.integers(-10, 11, (10, 300))
    capacities = (0.8 * weights.sum(axis=1) / 10).astype(np.int64)
    instance = GapInstance.build(costs, weights, capacities)
    for sense in Sense:
        lp = solve_lp_relaxation(instance, sense)
        assert lp.status is SolveStatus.OPTIMAL and lp.value is not None
        bound = dual_bound(instance, signed_costs(instance, sense), instance.usable(), lp)
        signed_value = lp.value if sense is Sense.MIN else -lp.value
        assert bound.value == pytest.approx(signed_value, rel=1e-7)
        assert (bound.excess[instance.usable()] >= -1e-6).all()
        np.testing.assert_allclose(lp.fractions.sum(axis=0), 1.0, atol=1e-6)


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
