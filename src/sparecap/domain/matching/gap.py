"""Generalised assignment: jobs to capacity-limited agents, by CP-SAT on LP-priced pairs."""

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
    FloatArray,
    IndexArray,
    IntArray,
    MatchingInputError,
    Sense,
    SolveStatus,
    Stopwatch,
    as_int_array,
    as_int_matrix,
)
from sparecap.domain.matching.gap_lp import (
    DualBound,
    LpRelaxation,
    combine,
    dual_bound,
    knapsack_bound,
    signed_costs,
    solve_lp_relaxation,
)
from sparecap.domain.matching.gap_start import (
    UNASSIGNED,
    greedy_assignment,
    improve,
    local_search,
    lp_rounded_assignment,
)

# Share of the time limit the LP relaxation may take. It takes milliseconds on OR-Library
# gap1-12 and gapa-c and 0.3-0.9 s on 40 x 1600; cut short, it leaves the prices of its last
# solve (still a valid, weaker bound), or none, and the search then runs on every pair.
LP_SHARE = 0.5
# CP-SAT's default. Level 2 (a larger LP) was measured on OR-Library gap5-12 and gapb/gapc on
# a 2-core machine: no problem solved that level 1 missed, and twice the CPU per problem.
LINEARIZATION_LEVEL = 1
# Relative slack on float bounds before rounding them to integers (costs are integers), so a
# value that GLOP returns a hair above an integer optimum never claims a bound past it, and
# a pair priced a hair above the cut-off is kept rather than dropped.
LP_TOLERANCE = 1e-6
# The search runs on a core of the cheapest pairs by LP reduced cost, then on every pair that
# can still matter (see _core_search). The first core holds about this many pairs per job.
CORE_PAIRS_PER_JOB = 1.5
# On large instances (below) the complete set is out of reach, so the core grows by this
# factor a round instead.
CORE_GROWTH = 2.0
# A round on a core that is not yet every pair that could matter gets at most this share of
# the time left: it is there for a good assignment, whose cost shrinks the set of pairs that
# can matter, and must leave the round on that set the most of the budget. Measured on
# OR-Library b10200, c10200 and c20200 (15 s): 0.5 and a core grown in steps proved none; 0.2
# and the complete set next proved c10200 in 13-14 s. On large instances every round is a
# core round, and half the time left gives the first, most productive one about 2 s of 5.
CORE_ROUND_SHARE = 0.2
LARGE_CORE_ROUND_SHARE = 0.5
# Each CP-SAT run is a list of phases, each (share of the time left, lower-bound-first?).
# Lower-bound-first search (CP-SAT's use_objective_lb_search) proves small problems fastest but
# finds no assignment until it reaches the optimum; the default search finds good assignments
# early. Measured on the first cores of b10200, c10200, c20200 (3 s each): default search
# ended at 2828, 2807, 2396 where bound-first ended at none, 2813, 2398.
# A core round wants an assignment: default search.
CORE_PHASES: tuple[tuple[float, bool], ...] = ((1.0, False),)
# The round on every pair that can matter wants the proof: bound-first, in one piece (each
# restart loses the bound's progress; c10200's proof takes 9-10 s of it), from the best
# assignment so far...
PROOF_PHASES: tuple[tuple[float, bool], ...] = ((1.0, True),)
# ...or, with no assignment yet, a short bound-first try (closes OR-Library gap1-12), a default
# run for an assignment, then bound-first again from it.
UNHINTED_PHASES: tuple[tuple[float, bool], ...] = ((0.15, True), (0.15, False), (1.0, True))
# From this many jobs on, proofs are out of reach in seconds and what counts is how fast the
# assignment improves: every round is a core round. Measured on generated 40 x 1600
# instances, 2 s from the LP rounding on the first core: type C 0.13 % above the bound (the
# three phases above: 0.53 %), type D 0.39 % (0.69 %).
LARGE_JOBS = 500
# Local search on the start may take at most this share of the time limit. On generated
# type D instances it takes the LP rounding from 1.6 % to 0.9 % above the bound (80 x 1200)
# and from 0.7 % to 0.35 % (40 x 1600) in 0.25-0.4 s; on OR-Library problems, milliseconds.
LOCAL_SEARCH_SHARE = 0.1
# The knapsack (Lagrangian) bound, on instances below LARGE_JOBS whose capacities keep its
# dynamic programme small: at most this share of the time limit and this many seconds. It
# lifts OR-Library gap8's bound from the LP's 1126.1 to 1118.6 (optimum 1117, max) and
# c20200's from 2376.9 to about 2389 (optimum 2391). With it b10200, c10200 and c20200 were
# proven in 7-14 s (without it, in 0-2 of 3 per run of 15 s). Longer (0.5 s on 200 jobs: a
# bound about 1 higher) proved c10200 and c20200 less often: 3 of 12 runs against 6 of 6.
KNAPSACK_SHARE = 0.05
KNAPSACK_SECONDS = 0.2
KNAPSACK_MAX_CAPACITY = 20_000
# Largest total of the jobs' dearest costs GapInstance accepts: a wide margin under 2**63 for
# the sense flip, the dummy agent's penalty and the sums of the bounds.
MAX_TOTAL_COST = 2**60
# Without an assignment to aim at, the subgradient steps aim this far (relative) past the LP.
KNAPSACK_TARGET = 0.05
# A round is not started with less time than this left: building its model alone takes about
# 0.1 s on 3,000 pairs, and an answer past the time limit is worse than one round fewer.
MIN_ROUND_SECONDS = 0.3
# The search aims to finish this much (at most this share of the limit) before time_limit:
# CP-SAT stops a little after its own limit on models of thousands of pairs, and on generated
# 40 x 1600 instances whole solves ended up to 0.06 s past a 5 s limit without it.
FINISH_MARGIN = 0.1
FINISH_SHARE = 0.02
# Measured on the hardest OR-Library gap8 problems (8 x 48): with every capacity row in the
# LP from the start, instead of added once violated, the proofs came about a third sooner.
ADD_LP_CONSTRAINTS_LAZILY = False
MIN_SEARCH_SECONDS = 0.1
# CP-SAT's validation text lists the offending terms; the start of it names the problem.
MAX_REASON_CHARS = 120
# A fixed seed, so a run that is not cut by a time limit repeats its search exactly.
RANDOM_SEED = 7
# Bound-first searches run as this many workers, each with its own seed (_bound_first_pair).
BOUND_FIRST_WORKERS = 2


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
        # Objectives, bounds and the search's sums are int64: refuse costs whose total over all
        # jobs could overflow, rather than report a wrapped-around objective.
        if c.size and sum(int(x) for x in np.abs(c).max(axis=0)) >= MAX_TOTAL_COST:
            raise MatchingInputError("costs too large: their total could overflow 64-bit integers")
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
    feasibility jump) did not pay for the core it took from the main search. Bound-first
    searches are the exception: two of them, seeded apart, prove more (_bound_first_pair).
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

    The LP relaxation (GLOP, at most LP_SHARE of the time) comes first: its prices give a
    proven bound and each pair's reduced cost, and its rounding the first assignment (unless
    hint is False). CP-SAT then searches a small core of low-reduced-cost pairs for a good
    assignment, and then every pair that can still matter for the proof: a pair whose reduced
    cost exceeds the gap between the best assignment and the bound is in no better assignment,
    so it is left out, exactly (see _core_search). On instances below LARGE_JOBS a knapsack
    (Lagrangian) bound sharpens both the bound and the reduced costs first. The bound is the
    best proven one (LP, knapsack or CP-SAT). time_limit bounds the whole solve. The optimum
    value is reproducible; when several assignments tie, which one comes back may vary from
    run to run, because rounds and phases are cut by wall time. Raises MatchingInputError if
    time_limit is not positive.
    """
    watch = Stopwatch()
    if time_limit <= 0:
        raise MatchingInputError("time_limit must be positive")
    deadline = time.perf_counter() + time_limit - min(FINISH_MARGIN, FINISH_SHARE * time_limit)
    empty = np.full(instance.jobs, UNASSIGNED, np.int32)
    if instance.jobs == 0:
        return GapResult(sense, SolveStatus.OPTIMAL, 0, 0, empty, 0.0, watch.seconds())
    usable = instance.usable()
    if not usable.any(axis=0).all():
        # A job that fits no agent makes the instance infeasible; say so without a search.
        return GapResult(sense, SolveStatus.INFEASIBLE, None, None, empty, None, watch.seconds())
    lp = solve_lp_relaxation(instance, sense, time_limit=time_limit * LP_SHARE)
    if lp.status is SolveStatus.INFEASIBLE:
        return GapResult(sense, SolveStatus.INFEASIBLE, None, None, empty, None, watch.seconds())
    signed = signed_costs(instance, sense)
    prices = dual_bound(instance, signed, usable, lp) if lp.job_prices is not None else None
    start = _start(instance, sense, lp, seconds=LOCAL_SEARCH_SHARE * time_limit) if hint else None
    if (
        prices is not None
        and lp.job_prices is not None
        and instance.jobs < LARGE_JOBS
        and int(instance.capacities.max()) <= KNAPSACK_MAX_CAPACITY
    ):
        upper = prices.value + KNAPSACK_TARGET * max(1.0, abs(prices.value))
        if start is not None and (start != UNASSIGNED).all():
            upper = float(signed[start, np.arange(instance.jobs)].sum())
        knapsacks = knapsack_bound(
            instance,
            signed,
            usable,
            lp.job_prices,
            upper=upper,
            seconds=min(KNAPSACK_SECONDS, KNAPSACK_SHARE * time_limit),
        )
        prices = combine(prices, knapsacks)
    workers = num_workers or default_workers()
    search = _core_search(
        instance, signed, usable, prices, start, deadline=deadline, workers=workers
    )
    return _result(instance, sense, search, lp, watch)


def _start(instance: GapInstance, sense: Sense, lp: LpRelaxation, *, seconds: float) -> IndexArray:
    """The LP rounding if it places every job, else the regret greedy if that does, else the
    more complete of the two (a partial hint still guides CP-SAT); a complete one is then
    improved by local search."""
    start = greedy_assignment(instance, sense)
    if lp.job_prices is not None:  # an LP was solved, so there are fractions to round
        rounded = lp_rounded_assignment(instance, sense, lp.fractions)
        if (rounded != UNASSIGNED).sum() >= (start != UNASSIGNED).sum():
            start = rounded
    if (start == UNASSIGNED).any():
        return start
    return local_search(instance, sense, start, seconds=seconds)


@dataclass(frozen=True, slots=True, eq=False)
class _Search:
    """In signed (minimised) costs: cost of agent_of_job if found, and a proven lower bound
    (+inf when no assignment exists)."""

    status: SolveStatus
    agent_of_job: IndexArray
    cost: int | None
    lower: float


def _core_search(
    instance: GapInstance,
    signed: IntArray,
    usable: BoolArray,
    prices: DualBound | None,
    start: IndexArray | None,
    *,
    deadline: float,
    workers: int,
) -> _Search:
    """CP-SAT on growing cores of pairs; every bound it reports holds for the whole instance.

    With the LP prices, an assignment that uses pair (i, j) costs at least
    prices.value + excess[i, j]. Two exact consequences:
      * with a best cost so far, pairs whose excess exceeds best - prices.value are in no
        assignment at least as good, so they are left out for good;
      * if a core leaves out pairs of excess at least t, the optimum is at least
        min(the core's optimum, prices.value + t), so CP-SAT's bound on the core, capped by
        prices.value + t, is a bound on the whole instance.
    The first core is small and searched for a good assignment, whose cost shrinks the set of
    pairs that can matter; the next round takes all of those and, like a search without
    prices, runs to the deadline for the proof. A core that yields no assignment grows by
    CORE_GROWTH instead, and so does every core on large instances, where the proof is out of
    reach and small cores improve the assignment fastest.
    """
    jobs = np.arange(instance.jobs)
    best = _Search(
        SolveStatus.UNKNOWN, np.full(instance.jobs, UNASSIGNED, np.int32), None, -math.inf
    )
    hint = start
    if start is not None and (start != UNASSIGNED).all():
        best = _Search(SolveStatus.FEASIBLE, start, int(signed[start, jobs].sum()), -math.inf)
    large = instance.jobs >= LARGE_JOBS
    if prices is None:
        found = _search(
            instance, signed, usable, hint, deadline=deadline, workers=workers, proof=not large
        )
        return _merge(best, found, found.lower)
    slack = LP_TOLERANCE * max(1.0, abs(prices.value))
    lower = prices.value
    best = _merge(best, best, lower)
    if best.status is SolveStatus.OPTIMAL:  # the start already meets the bound
        return best
    cutoff = _first_cutoff(prices.excess[usable], instance.jobs)
    while True:
        could_matter = usable & (
            prices.excess <= (math.inf if best.cost is None else best.cost - prices.value) + slack
        )
        core = could_matter & (prices.excess <= cutoff)
        if best.cost is not None:
            core[best.agent_of_job, jobs] = True  # so the hint is an assignment of the core
        left_out = prices.excess[usable & ~core]
        outside = prices.value + (left_out.min() if left_out.size else math.inf)
        complete = not (could_matter & ~core).any()
        now = time.perf_counter()
        share = LARGE_CORE_ROUND_SHARE if large else CORE_ROUND_SHARE
        round_deadline = deadline if complete else now + share * (deadline - now)
        found = _search(
            instance,
            signed,
            core,
            hint,
            deadline=round_deadline,
            workers=workers,
            proof=complete and not large,
        )
        lower = max(lower, min(found.lower, outside))
        if found.cost is not None and not complete:
            # CP-SAT's moves and the local search's complement each other: polish its answer.
            polished = improve(
                instance,
                signed,
                found.agent_of_job,
                seconds=LOCAL_SEARCH_SHARE * (deadline - time.perf_counter()),
            )
            found = _Search(found.status, polished, int(signed[polished, jobs].sum()), found.lower)
        best = _merge(best, found, lower)
        if best.cost is not None:
            hint = best.agent_of_job
        if (
            best.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
            or complete
            or deadline - time.perf_counter() < MIN_ROUND_SECONDS
        ):
            return best
        # A core solved to optimality has shown the best it holds, and on a small instance a
        # core that gave an assignment has done its job: next comes every pair that could
        # matter. (Growing the core by steps instead re-proved the same optimum several times
        # over on OR-Library gap8.) A core without an assignment grows, so the next is cheap.
        done = found.status is SolveStatus.OPTIMAL or (found.cost is not None and not large)
        cutoff = math.inf if done else cutoff * CORE_GROWTH


def _first_cutoff(excess: FloatArray, jobs: int) -> float:
    """The reduced cost below which about CORE_PAIRS_PER_JOB pairs per job lie (at least one
    per job: the LP's own pairs have excess 0), and never 0 so that growing it grows it."""
    share = min(1.0, CORE_PAIRS_PER_JOB * jobs / max(1, excess.size))
    cutoff = float(np.quantile(excess, share))
    positive = excess[excess > 0]
    return max(cutoff, float(positive.min()) if positive.size else 1.0)


def _merge(best: _Search, found: _Search, lower: float) -> _Search:
    """The cheaper assignment of the two, with the bound lower; optimal once they meet."""
    pick = best
    if found.cost is not None and (best.cost is None or found.cost < best.cost):
        pick = found
    if pick.cost is None:
        status = SolveStatus.INFEASIBLE if lower == math.inf else SolveStatus.UNKNOWN
        return _Search(status, pick.agent_of_job, None, lower)
    # Costs are integers, so a bound within rounding noise of an integer above it proves it.
    proven = math.ceil(lower - LP_TOLERANCE * max(1.0, abs(lower))) >= pick.cost
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    return _Search(status, pick.agent_of_job, pick.cost, lower)


def _search(
    instance: GapInstance,
    signed: IntArray,
    pairs_kept: BoolArray,
    start: IndexArray | None,
    *,
    deadline: float,
    workers: int,
    proof: bool,
) -> _Search:
    """CP-SAT on the kept pairs, in phases (CORE_PHASES, or for a proof PROOF_PHASES or
    UNHINTED_PHASES); each phase starts from the best assignment so far, and the first to
    settle the question ends it. Its bound holds for the kept pairs only: the caller turns it
    into one for the instance."""
    model, xs, pairs = _build_model(instance, signed, pairs_kept)
    _hint(model, xs, pairs, start)
    best = _Search(
        SolveStatus.UNKNOWN, np.full(instance.jobs, UNASSIGNED, np.int32), None, -math.inf
    )
    phases = CORE_PHASES
    if proof:
        hinted = start is not None and (start != UNASSIGNED).all()
        phases = PROOF_PHASES if hinted else UNHINTED_PHASES
    for k, (share, lb_first) in enumerate(phases):
        now = time.perf_counter()
        if k and deadline - now < MIN_SEARCH_SECONDS:
            break
        phase_deadline = now + share * max(0.0, deadline - now)
        found = _run(model, pairs, instance.jobs, phase_deadline, workers, lb_first=lb_first)
        best = _merge(best, found, max(best.lower, found.lower))
        if best.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            break
        if found.cost is not None:
            model.clear_hints()  # type: ignore[no-untyped-call]  # ortools leaves it unannotated
            _hint(model, xs, pairs, found.agent_of_job)
    return best


def _build_model(
    instance: GapInstance, signed: IntArray, pairs_kept: BoolArray
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], IntArray]:
    """x[i, j] for the kept pairs only: one agent per job, each agent within capacity."""
    pairs = np.argwhere(pairs_kept)
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
    costs = signed[pairs[:, 0], pairs[:, 1]].tolist()
    model.minimize(cp_model.LinearExpr.weighted_sum(xs, costs))
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
    if lb_first:
        _bound_first_pair(solver.parameters)
    code = solver.solve(model)
    agent_of_job = np.full(jobs, UNASSIGNED, np.int32)
    if code == cp_model.MODEL_INVALID:
        reason = " ".join(model.validate().split())[:MAX_REASON_CHARS]
        raise MatchingInputError(f"CP-SAT rejected the model: {reason}")
    if code == cp_model.INFEASIBLE:
        return _Search(SolveStatus.INFEASIBLE, agent_of_job, None, math.inf)
    bound = solver.best_objective_bound
    lower = bound if math.isfinite(bound) else -math.inf
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _Search(SolveStatus.UNKNOWN, agent_of_job, None, lower)
    chosen = pairs[np.asarray(solver.response_proto.solution, dtype=np.int64) > 0]
    agent_of_job[chosen[:, 1]] = chosen[:, 0]
    cost = round(solver.objective_value)
    if code == cp_model.OPTIMAL:
        return _Search(SolveStatus.OPTIMAL, agent_of_job, cost, float(cost))
    return _Search(SolveStatus.FEASIBLE, agent_of_job, cost, lower)


def _bound_first_pair(parameters: cp_model.SatParameters) -> None:
    """Bound-first search as two workers that differ only in their random seed and share
    bounds and assignments. Which search finds the optimal assignment in time is largely luck
    of the draw (see PROOF_PHASES), and two draws beat one: on OR-Library b10200, c10200 and
    c20200 at 15 s, seeds 1-20 side by side, 56 of 60 solves were proven against 47 of 60 with
    one bound-first worker (median 7.1 s against 8.5 s), at the cost of a second core during
    the proof.
    Earlier pairs of different kinds (default or LNS beside the bound-first search) proved no
    more than one worker did; see docs/benchmarks.md."""
    parameters.num_workers = BOUND_FIRST_WORKERS
    parameters.num_full_subsolvers = BOUND_FIRST_WORKERS
    for k in range(BOUND_FIRST_WORKERS):
        worker = cp_model.SatParameters()
        worker.name = f"bound_first_{k}"
        worker.use_objective_lb_search = True
        worker.random_seed = RANDOM_SEED + 1000 * k
        worker.linearization_level = LINEARIZATION_LEVEL
        parameters.subsolver_params.append(worker)
        parameters.subsolvers.append(worker.name)


def _result(
    instance: GapInstance, sense: Sense, search: _Search, lp: LpRelaxation, watch: Stopwatch
) -> GapResult:
    """Back to the caller's sense: the objective recomputed from the assignment, the bound
    rounded inward to an integer (costs are integers)."""
    if search.status is SolveStatus.INFEASIBLE:
        empty = np.full(instance.jobs, UNASSIGNED, np.int32)
        return GapResult(sense, SolveStatus.INFEASIBLE, None, None, empty, None, watch.seconds())
    sign = 1 if sense is Sense.MIN else -1
    bound: int | None = None
    if math.isfinite(search.lower):
        bound = sign * math.ceil(search.lower - LP_TOLERANCE * max(1.0, abs(search.lower)))
    objective: int | None = None
    if search.cost is not None:
        objective = int(instance.costs[search.agent_of_job, np.arange(instance.jobs)].sum())
        if search.status is SolveStatus.OPTIMAL:
            bound = objective
    return GapResult(
        sense, search.status, objective, bound, search.agent_of_job, lp.value, watch.seconds()
    )
