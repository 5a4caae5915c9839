"""Generalised assignment: jobs to capacity-limited agents, by CP-SAT with an LP bound."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from ortools.sat.python import cp_model

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
from sparecap.domain.matching.gap_lp import LpRelaxation, solve_lp_relaxation
from sparecap.domain.matching.gap_start import UNASSIGNED, greedy_assignment, lp_rounded_assignment

# From this many agent-job pairs on, the LP relaxation is solved before CP-SAT (and its time
# taken from CP-SAT's budget): CP-SAT may stop without a proof there, and the LP bound is what
# then tells how far the answer can be from the optimum.
LARGE_INSTANCE_PAIRS = 10_000
# CP-SAT's default. Level 2 (a larger LP) was measured on OR-Library gap5-12 and gapb/gapc on
# a 2-core machine: no problem solved that level 1 missed, and twice the CPU per problem.
LINEARIZATION_LEVEL = 1
# Relative slack on a float LP optimum before rounding it to an integer bound, so a value
# that GLOP returns a hair above an integer optimum never claims a bound past it.
LP_TOLERANCE = 1e-6
# The search runs in phases, each (share of the time left, lower-bound-first?). Lower-bound-
# first search (CP-SAT's use_objective_lb_search) proves small problems fastest but finds no
# assignment until it reaches the optimum; the default search finds good assignments early.
# So: a short bound-first try (closes OR-Library gap1-12), a default run for an incumbent,
# then bound-first again from that incumbent. Shares measured on gap5-12 and gapb/gapc.
PHASES: tuple[tuple[float, bool], ...] = ((0.15, True), (0.15, False), (1.0, True))
# Measured on the hardest OR-Library gap8 problems (8 x 48): with every capacity row in the
# LP from the start, instead of added once violated, the proofs came about a third sooner.
ADD_LP_CONSTRAINTS_LAZILY = False
MIN_SEARCH_SECONDS = 0.1
# CP-SAT's validation text lists the offending terms; the start of it names the problem.
MAX_REASON_CHARS = 120
# A fixed seed, so a run that is not cut by a time limit repeats its search exactly.
RANDOM_SEED = 7


@dataclass(frozen=True, slots=True, eq=False)
class GapInstance:
    """costs[i, j] and weights[i, j] of job j on agent i; agent i holds at most capacities[i]."""

    costs: IntArray
    weights: IntArray
    capacities: IntArray

    @classmethod
    def build(cls, costs: ArrayLike, weights: ArrayLike, capacities: ArrayLike) -> GapInstance:
        """Validate shapes and signs; raises MatchingInputError."""
        c, w = as_int_matrix(costs, "costs"), as_int_matrix(weights, "weights")
        cap = as_int_array(capacities, "capacities")
        if c.shape != w.shape or cap.shape != (c.shape[0],):
            raise MatchingInputError("costs, weights (agents x jobs) and capacities must agree")
        if w.size and w.min() < 0:
            raise MatchingInputError("weights must be non-negative")
        return cls(c, w, cap)

    @property
    def agents(self) -> int:
        return int(self.costs.shape[0])

    @property
    def jobs(self) -> int:
        return int(self.costs.shape[1])

    def usable(self) -> BoolArray:
        """Pairs whose weight alone fits the agent; any other pair can never be chosen."""
        return self.weights <= self.capacities[:, None]


@dataclass(frozen=True, slots=True, eq=False)
class GapResult:
    """objective and bound are in the caller's sense: bound <= optimum <= objective for MIN."""

    sense: Sense
    status: SolveStatus
    objective: int | None
    bound: int | None
    agent_of_job: IndexArray
    lp_bound: float | None
    wall_seconds: float

    @property
    def relative_gap(self) -> float | None:
        """|objective - bound| / |objective|: 0 when proven optimal, None without both."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(1, abs(self.objective))


def default_workers() -> int:
    """Half the cores, at least 1 and at most 8.

    Measured on a 2-core machine (OR-Library gap5-12, gapb, gapc): one worker proved optimality
    as often as two and as fast, using half the CPU; the second worker's portfolio (LNS,
    feasibility jump) did not pay for the core it took from the main search.
    """
    return max(1, min(8, (os.cpu_count() or 1) // 2))


def solve_gap(
    instance: GapInstance,
    *,
    sense: Sense = Sense.MIN,
    time_limit: float = 10.0,
    num_workers: int | None = None,
    hint: bool = True,
) -> GapResult:
    """Assign every job to one agent within capacity, at least (MIN) or most (MAX) total cost.

    On large instances the LP relaxation (GLOP) is solved first and rounded into the start;
    elsewhere a regret greedy gives the start and the LP is solved only if CP-SAT stops without
    a proof. CP-SAT runs in phases (see PHASES). The bound is the better of CP-SAT's proven
    bound and the LP's. time_limit bounds the LP and the search together; an LP solved after
    an unproven search may add up to half of it again. The optimum value is reproducible;
    when several assignments tie, which one comes back may vary from run to run, because
    the phases are cut by wall time. Raises MatchingInputError if time_limit is not positive.
    """
    watch = Stopwatch()
    if time_limit <= 0:
        raise MatchingInputError("time_limit must be positive")
    empty = np.full(instance.jobs, UNASSIGNED, np.int32)
    if instance.jobs == 0:
        return GapResult(sense, SolveStatus.OPTIMAL, 0, 0, empty, 0.0, watch.seconds())
    usable = instance.usable()
    if not usable.any(axis=0).all():
        # A job that fits no agent makes the instance infeasible; say so without a search.
        return GapResult(sense, SolveStatus.INFEASIBLE, None, None, empty, None, watch.seconds())
    lp: LpRelaxation | None = None
    if usable.sum() >= LARGE_INSTANCE_PAIRS:
        lp = solve_lp_relaxation(instance, sense, time_limit=time_limit / 2)
    start = _start(instance, sense, lp) if hint else None
    # CP-SAT gets what is left of the budget once its model is built (see _run).
    deadline = time.perf_counter() + time_limit - watch.seconds()
    workers = num_workers or default_workers()
    search = _search(
        instance, sense, usable=usable, start=start, deadline=deadline, workers=workers
    )
    if lp is None and search.status is not SolveStatus.OPTIMAL:
        lp = solve_lp_relaxation(instance, sense, time_limit=max(1.0, time_limit / 2))
    return _result(instance, sense, search, lp, watch)


def _start(instance: GapInstance, sense: Sense, lp: LpRelaxation | None) -> IndexArray:
    if lp is not None and lp.status is SolveStatus.OPTIMAL:
        return lp_rounded_assignment(instance, sense, lp.fractions)
    return greedy_assignment(instance, sense)


@dataclass(frozen=True, slots=True, eq=False)
class _Search:
    status: SolveStatus
    agent_of_job: IndexArray
    objective: float | None
    bound: float | None


def _search(
    instance: GapInstance,
    sense: Sense,
    *,
    usable: BoolArray,
    start: IndexArray | None,
    deadline: float,
    workers: int,
) -> _Search:
    """CP-SAT runs on one model, each given a share of the time left (see PHASES); each run
    starts from the best assignment so far, and the first to settle the question ends it."""
    model, xs, pairs = _build_model(instance, sense, usable)
    _hint(model, xs, pairs, start)
    best: _Search | None = None
    for share, lb_first in PHASES:
        now = time.perf_counter()
        if best is not None and deadline - now < MIN_SEARCH_SECONDS:
            break
        phase_deadline = now + share * max(0.0, deadline - now)
        found = _run(model, pairs, instance.jobs, phase_deadline, workers, lb_first=lb_first)
        best = found if best is None else _better(sense, best, found)
        if best.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            break
        if found.objective is not None:
            model.clear_hints()  # type: ignore[no-untyped-call]  # ortools leaves it unannotated
            _hint(model, xs, pairs, found.agent_of_job)
    assert best is not None  # PHASES is not empty
    return best


def _better(sense: Sense, first: _Search, second: _Search) -> _Search:
    """The later run's answer if it settled the question, else the best of both."""
    if second.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
        return second
    pick = max if sense is Sense.MIN else min
    bounds = [b for b in (first.bound, second.bound) if b is not None]
    bound = pick(bounds) if bounds else None
    found = [r for r in (first, second) if r.objective is not None]
    if not found:
        return _Search(SolveStatus.UNKNOWN, first.agent_of_job, None, bound)
    best = (min if sense is Sense.MIN else max)(found, key=lambda r: r.objective or 0.0)
    return _Search(SolveStatus.FEASIBLE, best.agent_of_job, best.objective, bound)


def _build_model(
    instance: GapInstance, sense: Sense, usable: BoolArray
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], IntArray]:
    """x[i, j] for the usable pairs only: one agent per job, each agent within capacity."""
    pairs = np.argwhere(usable)
    model = cp_model.CpModel()
    xs = [model.new_bool_var("") for _ in range(len(pairs))]
    by_job = np.argsort(pairs[:, 1], kind="stable")
    bounds = np.cumsum(np.bincount(pairs[:, 1], minlength=instance.jobs))[:-1]
    for group in np.split(by_job, bounds):
        model.add_exactly_one(xs[k] for k in group)
    for i in range(instance.agents):
        ks = np.flatnonzero(pairs[:, 0] == i)
        load = cp_model.LinearExpr.weighted_sum(
            [xs[k] for k in ks], instance.weights[i, pairs[ks, 1]].tolist()
        )
        model.add(load <= int(instance.capacities[i]))
    costs = instance.costs[pairs[:, 0], pairs[:, 1]].tolist()
    objective = cp_model.LinearExpr.weighted_sum(xs, costs)
    if sense is Sense.MIN:
        model.minimize(objective)
    else:
        model.maximize(objective)
    return model, xs, pairs


def _hint(
    model: cp_model.CpModel, xs: list[cp_model.IntVar], pairs: IntArray, start: IndexArray | None
) -> None:
    if start is None:
        return
    for k, (i, j) in enumerate(pairs.tolist()):
        if start[j] != UNASSIGNED:
            model.add_hint(xs[k], bool(start[j] == i))


def _run(
    model: cp_model.CpModel,
    pairs: IntArray,
    jobs: int,
    deadline: float,
    workers: int,
    *,
    lb_first: bool,
) -> _Search:
    solver = cp_model.CpSolver()
    # At least a moment, so a budget spent on the LP still yields a solution to report.
    solver.parameters.max_time_in_seconds = max(MIN_SEARCH_SECONDS, deadline - time.perf_counter())
    solver.parameters.num_workers = workers
    solver.parameters.linearization_level = LINEARIZATION_LEVEL
    solver.parameters.use_objective_lb_search = lb_first
    solver.parameters.add_lp_constraints_lazily = ADD_LP_CONSTRAINTS_LAZILY
    solver.parameters.random_seed = RANDOM_SEED
    code = solver.solve(model)
    agent_of_job = np.full(jobs, UNASSIGNED, np.int32)
    if code == cp_model.MODEL_INVALID:
        reason = " ".join(model.validate().split())[:MAX_REASON_CHARS]
        raise MatchingInputError(f"CP-SAT rejected the model: {reason}")
    if code == cp_model.INFEASIBLE:
        return _Search(SolveStatus.INFEASIBLE, agent_of_job, None, None)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _Search(SolveStatus.UNKNOWN, agent_of_job, None, solver.best_objective_bound)
    chosen = pairs[np.asarray(solver.response_proto.solution, dtype=np.int64) > 0]
    agent_of_job[chosen[:, 1]] = chosen[:, 0]
    status = SolveStatus.OPTIMAL if code == cp_model.OPTIMAL else SolveStatus.FEASIBLE
    return _Search(status, agent_of_job, solver.objective_value, solver.best_objective_bound)


def _result(
    instance: GapInstance,
    sense: Sense,
    search: _Search,
    lp: LpRelaxation | None,
    watch: Stopwatch,
) -> GapResult:
    """Merge search and LP: an infeasible LP proves infeasibility, a tight one optimality."""
    lp_value = lp.value if lp is not None else None
    if search.status is SolveStatus.INFEASIBLE or (
        lp is not None and lp.status is SolveStatus.INFEASIBLE
    ):
        empty = np.full(instance.jobs, UNASSIGNED, np.int32)
        return GapResult(sense, SolveStatus.INFEASIBLE, None, None, empty, None, watch.seconds())
    bound = _tightest_bound(sense, search.bound, lp_value)
    objective: int | None = None
    status = search.status
    if status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        jobs = np.arange(instance.jobs)
        objective = int(instance.costs[search.agent_of_job, jobs].sum())
        if status is SolveStatus.OPTIMAL or bound == objective:
            status, bound = SolveStatus.OPTIMAL, objective
    return GapResult(
        sense, status, objective, bound, search.agent_of_job, lp_value, watch.seconds()
    )


def _tightest_bound(sense: Sense, search_bound: float | None, lp_value: float | None) -> int | None:
    """Round each proven bound inward to an integer (costs are integers) and keep the best."""
    bounds: list[int] = []
    if search_bound is not None and math.isfinite(search_bound):
        bounds.append(round(search_bound))
    if lp_value is not None:
        slack = LP_TOLERANCE * max(1.0, abs(lp_value))
        if sense is Sense.MIN:
            bounds.append(math.ceil(lp_value - slack))
        else:
            bounds.append(math.floor(lp_value + slack))
    if not bounds:
        return None
    return max(bounds) if sense is Sense.MIN else min(bounds)
