"""Jobs with release dates and deadlines on exclusive units: interval scheduling by CP-SAT.

Each job needs one unit (a machine) for `duration` minutes, starting no earlier than its
release and ending by its deadline, inside one of the unit's free windows and on the unit's
start grid. A unit runs one job at a time, with its buffers kept clear around each job
(NoOverlap over optional intervals, one per job x unit x free window). Every job is placed at
most once. The objective is lexicographic, folded into one integer sum with weights computed
from the data: most jobs placed first, then the least total cost (each job's unit cost plus
its lateness cost per minute started after release), then the earliest starts, which packs
work towards the start of each window and makes ties come out the same way every time.

Times are integer minutes from an origin the caller picks (a round's start, say).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from sparecap.domain.matching.core import MatchingInputError, SolveStatus, Stopwatch

# A fixed seed and one worker, so a solve that is not cut by its time limit repeats exactly:
# a round's plan must not change between two runs over the same data.
RANDOM_SEED = 7
WORKERS = 1
# CP-SAT keeps objective coefficients and their sums within int64; past this the weights of
# the lexicographic objective could overflow, so such an instance is refused.
MAX_OBJECTIVE = 2**60
MIN_SEARCH_SECONDS = 0.05

Window = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Machine:
    """An exclusive unit. A job's [start, start + duration) must lie inside one `free` window
    (None: free throughout), start on `phase + k * step`, and keep `before` minutes ahead of
    it and `after` minutes behind it clear of other jobs (the unit's buffers)."""

    free: tuple[Window, ...] | None = None
    step: int = 1
    phase: int = 0
    before: int = 0
    after: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """One job: `costs` maps each eligible unit (an index) to the integer cost of placing it
    there; `late_cost` is added per minute the start falls after `release`."""

    duration: int
    release: int
    deadline: int
    costs: Mapping[int, int]
    late_cost: int = 0


@dataclass(frozen=True, slots=True)
class _Range:
    """Where job `job` may start on unit `unit` in one free window: grid steps first..last."""

    job: int
    unit: int
    first: int
    last: int


@dataclass(frozen=True, slots=True, eq=False)
class SchedulingInstance:
    jobs: tuple[Job, ...]
    machines: tuple[Machine, ...]

    @classmethod
    def build(cls, jobs: Sequence[Job], machines: Sequence[Machine]) -> SchedulingInstance:
        """Validate the instance; raises MatchingInputError."""
        for u, m in enumerate(machines):
            _check_machine(u, m)
        units = len(machines)
        for j, job in enumerate(jobs):
            if job.duration <= 0:
                raise MatchingInputError(f"job {j}: duration must be positive")
            if job.release < 0:
                # Starts count from the origin; the start tie-break assumes they are >= 0.
                raise MatchingInputError(f"job {j}: release before the origin")
            if job.deadline < job.release:
                raise MatchingInputError(f"job {j}: deadline before release")
            if job.late_cost < 0:
                raise MatchingInputError(f"job {j}: the lateness cost must be non-negative")
            for u, cost in job.costs.items():
                if not 0 <= u < units:
                    raise MatchingInputError(f"job {j}: unit {u} out of range")
                if cost < 0:
                    # Non-negative costs keep the big-M weight a simple sum (see _weights).
                    raise MatchingInputError(f"job {j}: costs must be non-negative")
        clean = tuple(
            m if m.free is None else dataclasses.replace(m, free=tuple(sorted(m.free)))
            for m in machines
        )
        return cls(tuple(jobs), clean)

    @property
    def units(self) -> int:
        return len(self.machines)

    def ranges(self) -> list[_Range]:
        """Every job x unit x window with room for the job, in job, unit, time order."""
        out: list[_Range] = []
        for j, job in enumerate(self.jobs):
            for u in sorted(job.costs):
                m = self.machines[u]
                spans = [(job.release, job.deadline)] if m.free is None else m.free
                for a, b in spans:
                    lo = max(a, job.release) - m.phase
                    hi = min(b, job.deadline) - job.duration - m.phase
                    first, last = -(-lo // m.step), hi // m.step
                    if first <= last:
                        out.append(_Range(j, u, first, last))
        return out

    def start(self, unit: int, step: int) -> int:
        m = self.machines[unit]
        return m.phase + step * m.step

    def cost(self, job: int, unit: int, start: int) -> int:
        """A placement's cost: the unit's price for the job plus its lateness."""
        j = self.jobs[job]
        return j.costs[unit] + j.late_cost * (start - j.release)


def _check_machine(u: int, m: Machine) -> None:
    if m.step <= 0:
        raise MatchingInputError(f"unit {u}: step must be positive")
    if not 0 <= m.phase < m.step:
        raise MatchingInputError(f"unit {u}: phase must be in [0, step)")
    if m.before < 0 or m.after < 0:
        raise MatchingInputError(f"unit {u}: buffers must be non-negative")
    if m.free is None:
        return
    clean = sorted(m.free)
    if any(a >= b for a, b in clean):
        raise MatchingInputError(f"unit {u}: a free window must have start < end")
    if any(clean[k][1] > clean[k + 1][0] for k in range(len(clean) - 1)):
        raise MatchingInputError(f"unit {u}: free windows overlap")


@dataclass(frozen=True, slots=True)
class Placement:
    job: int
    unit: int
    start: int


@dataclass(frozen=True, slots=True, eq=False)
class ScheduleResult:
    """`objective` and `bound` are in the combined weight (see _weights); `placed` and `cost`
    are its first two levels, read from the placements."""

    status: SolveStatus
    placements: tuple[Placement, ...]
    unplaced: tuple[int, ...]
    cost: int
    objective: int | None
    bound: int | None
    wall_seconds: float

    @property
    def placed(self) -> int:
        return len(self.placements)


@dataclass(frozen=True, slots=True)
class _Weights:
    per_unplaced: int
    per_cost: int
    per_step: int  # 1 to break ties towards earlier starts, 0 when lateness costs do it


def _weights(instance: SchedulingInstance, ranges: list[_Range]) -> _Weights:
    """Integer weights that make the sum lexicographic.

    The start tie-break (grid steps) of all jobs together is below per_cost, so one unit of
    cost outweighs every start difference; the weighted cost and tie-break of any schedule
    are below per_unplaced, so one more placed job outweighs every cost difference. When
    every job pays for starting late, cost already prefers early starts and the tie-break
    is left out: it would multiply every weight by the horizon.
    """
    n = len(instance.jobs)
    latest_step, dearest = [0] * n, [0] * n
    for r in ranges:
        latest_step[r.job] = max(latest_step[r.job], r.last)
        late = instance.cost(r.job, r.unit, instance.start(r.unit, r.last))
        dearest[r.job] = max(dearest[r.job], late)
    per_step = 1 if any(job.late_cost == 0 for job in instance.jobs) else 0
    per_cost = per_step * sum(latest_step) + 1
    per_unplaced = per_cost * (sum(dearest) + 1)
    if per_unplaced * (n + 1) > MAX_OBJECTIVE:
        raise MatchingInputError("costs and horizon too large for an exact integer objective")
    return _Weights(per_unplaced, per_cost, per_step)


@dataclass(slots=True)
class _Option:
    range: _Range
    present: cp_model.IntVar
    step: cp_model.IntVar


def solve_schedule(instance: SchedulingInstance, *, time_limit: float = 10.0) -> ScheduleResult:
    """Place as many jobs as possible, then as cheaply, then as early as possible.

    Jobs with no feasible start on any eligible unit are left out of the model and reported
    unplaced. Raises MatchingInputError if time_limit is not positive.
    """
    watch = Stopwatch()
    if time_limit <= 0:
        raise MatchingInputError("time_limit must be positive")
    ranges = instance.ranges()
    weights = _weights(instance, ranges)
    model = cp_model.CpModel()
    options = _build(model, instance, ranges, weights)
    n = len(instance.jobs)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(MIN_SEARCH_SECONDS, time_limit - watch.seconds())
    solver.parameters.num_workers = WORKERS
    solver.parameters.random_seed = RANDOM_SEED
    code = solver.solve(model) if options else cp_model.OPTIMAL
    if code == cp_model.MODEL_INVALID:
        raise MatchingInputError("CP-SAT rejected the scheduling model")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Placing nothing is always feasible, so this is a search stopped before any answer.
        return ScheduleResult(
            SolveStatus.UNKNOWN, (), tuple(range(n)), 0, None, None, watch.seconds()
        )
    chosen = sorted(
        ((o.range, solver.value(o.step)) for o in options if solver.value(o.present)),
        key=lambda pick: pick[0].job,
    )
    placements = tuple(Placement(r.job, r.unit, instance.start(r.unit, k)) for r, k in chosen)
    done = {p.job for p in placements}
    cost = sum(instance.cost(p.job, p.unit, p.start) for p in placements)
    ties = sum(k for _, k in chosen)
    objective = (
        weights.per_unplaced * (n - len(done)) + weights.per_cost * cost + weights.per_step * ties
    )
    status = SolveStatus.OPTIMAL if code == cp_model.OPTIMAL else SolveStatus.FEASIBLE
    bound = objective
    if status is SolveStatus.FEASIBLE:
        # The model's objective omits the constant n * per_unplaced (see _build).
        bound = round(solver.best_objective_bound) + weights.per_unplaced * n
    unplaced = tuple(j for j in range(n) if j not in done)
    return ScheduleResult(status, placements, unplaced, cost, objective, bound, watch.seconds())


def _build(
    model: cp_model.CpModel,
    instance: SchedulingInstance,
    ranges: list[_Range],
    weights: _Weights,
) -> list[_Option]:
    """One optional interval per range; each job at most once; NoOverlap per unit.

    Minimises the combined objective less the constant n * per_unplaced: a present option
    adds per_cost * cost - per_unplaced plus its weighted grid step."""
    options: list[_Option] = []
    per_unit: list[list[cp_model.IntervalVar]] = [[] for _ in range(instance.units)]
    per_job: list[list[cp_model.IntVar]] = [[] for _ in instance.jobs]
    terms: list[cp_model.LinearExprT] = []
    for r in ranges:
        job, m = instance.jobs[r.job], instance.machines[r.unit]
        name = f"{r.job}_{r.unit}_{r.first}"
        present = model.new_bool_var(f"p{name}")
        k = model.new_int_var(r.first, r.last, f"k{name}")
        # The interval covers the job and its buffers, so buffers of neighbours never overlap.
        blocked = m.phase + k * m.step - m.before
        per_unit[r.unit].append(
            model.new_optional_fixed_size_interval_var(
                blocked, m.before + job.duration + m.after, present, f"i{name}"
            )
        )
        # An absent option's step is pinned to its first value, so it adds nothing to the
        # objective through k and leaves no free variable for the search.
        model.add(k == r.first).only_enforce_if(~present)
        at_first = instance.cost(r.job, r.unit, instance.start(r.unit, r.first))
        gain = weights.per_cost * at_first - weights.per_unplaced + weights.per_step * r.first
        per_step = weights.per_cost * job.late_cost * m.step + weights.per_step
        terms.append(gain * present + per_step * (k - r.first))
        per_job[r.job].append(present)
        options.append(_Option(r, present, k))
    for mine in per_job:
        if len(mine) > 1:
            model.add_at_most_one(mine)
    for intervals in per_unit:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    if options:
        model.minimize(cp_model.LinearExpr.sum(terms))
    return options
