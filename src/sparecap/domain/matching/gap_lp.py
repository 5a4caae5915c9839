"""Linear-programming relaxation of the generalised assignment problem (GLOP): bounds and prices.

The relaxation is solved on signed costs (the caller's costs for MIN, their negation for MAX),
so it always minimises. Its duals are not trusted as exact: dual_bound recomputes a bound from
any prices at all, which is valid whatever their accuracy, and gives each pair its reduced cost
above that bound, which is what lets the search leave most pairs out (see gap.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

# pywraplp is SWIG-generated; ortools marks only its linear_solver.python subpackage as typed.
from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]

from sparecap.domain.matching.core import BoolArray, FloatArray, IntArray, Sense, SolveStatus

if TYPE_CHECKING:
    from sparecap.domain.matching.gap import GapInstance


GLOP_PARAMETERS = "use_dual_simplex: true"
# The LP starts on a few pairs per job, the cheapest and the lightest (the relaxation's
# optimum mostly uses those), and takes in pairs that price out below zero round by round,
# warm-started: measured on generated 40 x 1600 instances (types C and D) at 0.3-0.7 s, against
# 1.0-1.7 s for the LP on every pair. Few per job keeps each re-solve small.
SEED_CHEAPEST = 4
SEED_LIGHTEST = 2
PRICED_IN_PER_JOB = 3
# A reduced cost this far below zero (relative to the cost scale) counts as negative.
PRICING_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class LpRelaxation:
    """status OPTIMAL carries the relaxed optimum in value (caller's sense); INFEASIBLE proves
    the instance infeasible; UNKNOWN (time limit, numerical trouble) leaves value None.

    job_prices[j] (job j's assignment row) and agent_prices[i] (agent i's capacity row, <= 0)
    are the duals of the last LP solved, for the signed (minimised) costs, or None if none was
    solved. They may come from an LP on part of the pairs, cut short by the time limit: every
    price vector still gives a valid bound (see dual_bound), only a weaker one.
    """

    status: SolveStatus
    value: float | None
    fractions: FloatArray
    seconds: float
    job_prices: FloatArray | None = None
    agent_prices: FloatArray | None = None


@dataclass(frozen=True, slots=True, eq=False)
class DualBound:
    """value <= every feasible assignment's signed cost; an assignment that uses pair (i, j)
    costs at least value + excess[i, j] (inf on unusable pairs)."""

    value: float
    excess: FloatArray


def signed_costs(instance: GapInstance, sense: Sense) -> IntArray:
    """Costs to minimise: the caller's for MIN, negated for MAX."""
    return instance.costs if sense is Sense.MIN else -instance.costs


def _ranks(values: FloatArray) -> IntArray:
    """Each entry's rank within its column (0 = least)."""
    order = np.argsort(values, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[0])[:, None], axis=0)
    return ranks


def solve_lp_relaxation(
    instance: GapInstance, sense: Sense, *, time_limit: float = 60.0
) -> LpRelaxation:
    """Relax x[i, j] in {0, 1} to [0, 1]; the optimum bounds every integer assignment.

    Solved by pricing: an LP on a few pairs per job, then the pairs whose reduced cost under
    its duals is negative are added and the LP re-solved from its last basis, until none is.
    """
    start = time.perf_counter()
    signed = signed_costs(instance, sense)
    usable = instance.weights <= instance.capacities[:, None]
    lp = _PricedLp(instance, signed)
    far = np.iinfo(np.int64).max
    lp.take(
        usable
        & (
            (_ranks(np.where(usable, signed, far)) < SEED_CHEAPEST)
            | (_ranks(np.where(usable, instance.weights, far)) < SEED_LIGHTEST)
        )
    )
    tolerance = PRICING_TOLERANCE * max(1.0, float(np.abs(signed).max(initial=0)))
    status = SolveStatus.UNKNOWN
    while (left := time_limit - _since(start)) > 0:
        code = lp.solve(left)
        if code == pywraplp.Solver.INFEASIBLE:
            if (lp.kept == usable).all():
                status = SolveStatus.INFEASIBLE
                break
            # Infeasible on part of the pairs says nothing: take in all of them.
            lp.take(usable & ~lp.kept)
            continue
        if code != pywraplp.Solver.OPTIMAL:
            break
        assert lp.last is not None  # set by the optimal solve
        job_prices, agent_prices = lp.last.job_prices, lp.last.agent_prices
        reduced = signed - job_prices[None, :] - agent_prices[:, None] * instance.weights
        candidates = np.where(usable & ~lp.kept, reduced, np.inf)
        missing = (candidates < -tolerance) & (_ranks(candidates) < PRICED_IN_PER_JOB)
        if not missing.any():
            status = SolveStatus.OPTIMAL
            break
        lp.take(missing)
    return lp.relaxation(status, sense, _since(start))


class _PricedLp:
    """The GAP relaxation in GLOP on a growing set of pairs; GLOP keeps its basis between
    solves, so a re-solve after adding pairs starts where the last one ended."""

    def __init__(self, instance: GapInstance, signed: IntArray) -> None:
        self.instance, self.signed = instance, signed
        self.kept = np.zeros(instance.costs.shape, dtype=np.bool_)
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        # Dual simplex: measured 4x faster than GLOP's primal default on a 40 x 1600 instance,
        # where the many assignment rows make the dual the smaller problem to pivot on.
        self.solver.SetSolverSpecificParametersAsString(GLOP_PARAMETERS)
        self.jobs = [self.solver.Constraint(1.0, 1.0) for _ in range(instance.jobs)]
        self.agents = [
            self.solver.Constraint(-self.solver.infinity(), float(cap))
            for cap in instance.capacities
        ]
        self.objective = self.solver.Objective()
        self.objective.SetMinimization()
        self.variables: dict[tuple[int, int], Any] = {}
        self.last: _Solved | None = None

    def take(self, pairs: BoolArray) -> None:
        for i, j in zip(*np.nonzero(pairs), strict=True):
            var = self.solver.NumVar(0.0, 1.0, "")
            self.variables[int(i), int(j)] = var
            self.jobs[j].SetCoefficient(var, 1.0)
            self.agents[i].SetCoefficient(var, float(self.instance.weights[i, j]))
            self.objective.SetCoefficient(var, float(self.signed[i, j]))
        self.kept |= pairs

    def solve(self, seconds: float) -> int:
        """Solve on the pairs taken so far; an optimal solve's answer is kept, so that one cut
        short later by the time limit leaves the last good prices in place."""
        self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        code = int(self.solver.Solve())
        if code == pywraplp.Solver.OPTIMAL:
            fractions = np.zeros(self.instance.costs.shape)
            for (i, j), var in self.variables.items():
                fractions[i, j] = var.solution_value()
            self.last = _Solved(float(self.objective.Value()), fractions, *self._duals())
        return code

    def _duals(self) -> tuple[FloatArray, FloatArray]:
        """Agent prices clipped to <= 0, the sign the bound argument needs."""
        jobs = np.array([row.dual_value() for row in self.jobs], dtype=np.float64)
        agents = np.array([row.dual_value() for row in self.agents], dtype=np.float64)
        return jobs, np.minimum(agents, 0.0)

    def relaxation(self, status: SolveStatus, sense: Sense, seconds: float) -> LpRelaxation:
        last = self.last
        if last is None:
            return LpRelaxation(status, None, np.zeros(self.instance.costs.shape), seconds)
        value = None
        if status is SolveStatus.OPTIMAL:
            value = last.value if sense is Sense.MIN else -last.value
        return LpRelaxation(
            status, value, last.fractions, seconds, last.job_prices, last.agent_prices
        )


@dataclass(frozen=True, slots=True)
class _Solved:
    value: float
    fractions: FloatArray
    job_prices: FloatArray
    agent_prices: FloatArray


def _since(start: float) -> float:
    return time.perf_counter() - start


def dual_bound(
    instance: GapInstance, signed: IntArray, usable: BoolArray, lp: LpRelaxation
) -> DualBound:
    """The Lagrangian bound of the LP's prices, recomputed so that it holds exactly.

    For any job prices u and agent prices v <= 0, a feasible assignment x costs
        sum c x = sum_j u_j + sum_ij v_i w_ij x_ij + sum_ij r_ij x_ij,  r_ij = c_ij - u_j - v_i w_ij
                >= sum_j u_j + sum_i v_i cap_i + sum_j r_(agent of j) j
    because each agent's load is at most its capacity (and v_i <= 0), and each job takes
    exactly one agent, so its r is at least the least r of its column. Clipping v to <= 0
    keeps the argument whatever GLOP's rounding did; at the LP optimum the bound equals it.
    """
    if lp.job_prices is None or lp.agent_prices is None:
        raise ValueError("the relaxation carries no prices")
    u = lp.job_prices
    v = np.minimum(lp.agent_prices, 0.0)
    reduced = np.where(usable, signed - u[None, :] - v[:, None] * instance.weights, np.inf)
    least = reduced.min(axis=0)
    value = float(u.sum() + least.sum() + (v * instance.capacities).sum())
    return DualBound(value, reduced - least[None, :])


def knapsack_bound(
    instance: GapInstance,
    signed: IntArray,
    usable: BoolArray,
    prices: FloatArray,
    *,
    upper: float,
    seconds: float,
) -> DualBound:
    """The Lagrangian bound that keeps each agent's capacity and relaxes "each job once".

    For any job prices u, an assignment costs at least sum_j u_j - sum_i K_i(u), where K_i(u)
    is the best 0-1 knapsack of agent i with profits u_j - c_ij: each agent's own jobs are one
    of its knapsack's choices. Unlike the LP this bound sees that jobs are indivisible: on
    OR-Library gap8 it closed 8 of the LP's 9-unit gap. The prices start at the LP's job duals
    and rise by subgradient steps (Polyak's, aimed at upper, the best cost known) for the given
    time. A pair (i, j) costs at least K_i - (u_j - c_ij + K_i without j at capacity minus
    w_ij) above the bound: what agent i's knapsack loses when it must take j; K_i at the
    smaller capacity (with j allowed) only makes that loss smaller, so it stays a bound.
    """
    stop = time.perf_counter() + seconds
    u = prices.copy()
    best_value, best_u = -np.inf, u
    step = 1.0
    stale = 0
    while True:
        value, counts = _knapsacks(instance, signed, usable, u)
        if value > best_value + 1e-9:
            best_value, best_u, stale = value, u.copy(), 0
        else:
            stale += 1
            if stale >= KNAPSACK_STALE_STEPS:
                step, stale = step / 2, 0
        grad = 1.0 - counts
        norm = float(grad @ grad)
        # Costs are integers: once the bound rounds up to upper, nothing is left to prove.
        closed = math.ceil(best_value - KNAPSACK_SLACK * max(1.0, abs(best_value))) >= upper
        if norm == 0 or closed or step < KNAPSACK_MIN_STEP or time.perf_counter() >= stop:
            break
        u = u + step * (upper - value) / norm * grad
    return _knapsack_excess(instance, signed, usable, best_u)


# Subgradient steps without a better bound before the step length halves, and the length
# (from 1) at which the steps stop: six halvings, by then the bound has stopped moving on
# OR-Library gap1-12 and gapa-c.
KNAPSACK_STALE_STEPS = 5
KNAPSACK_MIN_STEP = 1 / 64
KNAPSACK_SLACK = 1e-6


def _knapsacks(
    instance: GapInstance, signed: IntArray, usable: BoolArray, u: FloatArray
) -> tuple[float, FloatArray]:
    """sum_j u_j - sum_i K_i(u), and how many knapsacks take each job."""
    counts = np.zeros(instance.jobs)
    total = float(u.sum())
    for i in range(instance.agents):
        cap = int(instance.capacities[i])
        profit = u - signed[i]
        items = np.flatnonzero(usable[i] & (profit > 0))
        best = np.zeros(cap + 1)
        took = np.zeros((items.size, cap + 1), dtype=np.bool_)
        for t, j in enumerate(items):
            w = int(instance.weights[i, j])
            with_j = np.full(cap + 1, -np.inf)
            with_j[w:] = best[: cap + 1 - w] + profit[j]
            took[t] = with_j > best
            best = np.maximum(best, with_j)
        total -= float(best[cap])
        room = cap
        for t in range(items.size - 1, -1, -1):
            if took[t, room]:
                counts[items[t]] += 1
                room -= int(instance.weights[i, items[t]])
    return total, counts


def _knapsack_excess(
    instance: GapInstance, signed: IntArray, usable: BoolArray, u: FloatArray
) -> DualBound:
    value = float(u.sum())
    excess = np.full(instance.costs.shape, np.inf)
    for i in range(instance.agents):
        cap = int(instance.capacities[i])
        profit = u - signed[i]
        best = np.zeros(cap + 1)
        for j in np.flatnonzero(usable[i] & (profit > 0)):
            w = int(instance.weights[i, j])
            with_j = np.full(cap + 1, -np.inf)
            with_j[w:] = best[: cap + 1 - w] + profit[j]
            best = np.maximum(best, with_j)
        value -= float(best[cap])
        js = np.flatnonzero(usable[i])
        left = cap - instance.weights[i, js]
        excess[i, js] = np.maximum(0.0, best[cap] - profit[js] - best[left])
    return DualBound(value, excess)


def combine(first: DualBound, second: DualBound) -> DualBound:
    """Both bounds at once: a pair costs at least the larger of what each says."""
    value = max(first.value, second.value)
    through = np.maximum(first.value + first.excess, second.value + second.excess)
    return DualBound(value, through - value)
