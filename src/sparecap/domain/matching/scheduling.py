"""Jobs with release dates and deadlines on exclusive units: interval scheduling by CP-SAT.

Each job needs one unit (a machine) for `duration` minutes, starting no earlier than its
release and ending by its deadline, inside one of the unit's free windows and on the unit's
start grid. A unit runs one job at a time, with its buffers kept clear around each job
(NoOverlap over optional intervals, one per job x unit x free window). Every job is placed at
most once, and the units of one owner take at most that owner's limit of jobs, if it has one
(a round's fairness cap on a provider). The objective is lexicographic, folded into one
integer sum with weights computed from the data: most jobs placed first, then the least total
cost (each job's unit cost plus its lateness cost per minute started after release), then the
earliest starts, which packs work towards the start of each window and makes ties come out
the same way every time.

Times are integer minutes from an origin the caller picks (a round's start, say).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
# Groups with more options than this are placed greedily instead: CP-SAT spends the budget of
# a live round presolving a model that large (measured: 2,000 jobs x 60 units in 3 s found no
# answer). Smaller groups start from the greedy answer as a hint and improve on it.
MAX_EXACT_OPTIONS = 5_000

Window = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Machine:
    """An exclusive unit. A job's [start, start + duration) must lie inside one `free` window
    (None: free throughout), start on `phase + k * step`, and keep `before` minutes ahead of
    it and `after` minutes behind it clear of other jobs (the unit's buffers). `owner` names
    whose limit, if any, its jobs count against."""

    free: tuple[Window, ...] | None = None
    step: int = 1
    phase: int = 0
    before: int = 0
    after: int = 0
    owner: int | None = None


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
    """Jobs, units, and per owner the most jobs its units may take (owners not named: no
    limit)."""

    jobs: tuple[Job, ...]
    machines: tuple[Machine, ...]
    limits: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        jobs: Sequence[Job],
        machines: Sequence[Machine],
        limits: Mapping[int, int] | None = None,
    ) -> SchedulingInstance:
        """Validate the instance; raises MatchingInputError."""
        for u, m in enumerate(machines):
            _check_machine(u, m)
        limits = dict(limits or {})
        if any(n < 0 for n in limits.values()):
            raise MatchingInputError("an owner's limit must be non-negative")
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
        return cls(tuple(jobs), clean, _binding(limits, jobs, machines))

    @property
    def units(self) -> int:
        return len(self.machines)

    def limited_owner(self, unit: int) -> int | None:
        """The unit's owner if that owner has a limit."""
        owner = self.machines[unit].owner
        return owner if owner in self.limits else None

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


def _binding(
    limits: Mapping[int, int], jobs: Sequence[Job], machines: Sequence[Machine]
) -> dict[int, int]:
    """The limits more jobs could reach than they allow. The others can never bind: dropped,
    so that they do not tie those jobs into one group for the solver."""
    reach: dict[int, set[int]] = {}
    for j, job in enumerate(jobs):
        for u in job.costs:
            owner = machines[u].owner
            if owner is not None and owner in limits:
                reach.setdefault(owner, set()).add(j)
    return {o: n for o, n in limits.items() if len(reach.get(o, ())) > n}


def solve_schedule(instance: SchedulingInstance, *, time_limit: float = 10.0) -> ScheduleResult:
    """Place as many jobs as possible, then as cheaply, then as early as possible.

    Jobs that share no unit, even through other jobs, cannot affect each other, so each such
    group is solved on its own: a lone job takes its best option outright, larger groups go
    to CP-SAT, from a greedy start, with a share of the time left in proportion to their
    size; groups too large for that keep the greedy answer and report no bound. Jobs with no
    feasible start on any eligible unit are reported unplaced. Raises MatchingInputError if
    time_limit is not positive.
    """
    watch = Stopwatch()
    if time_limit <= 0:
        raise MatchingInputError("time_limit must be positive")
    ranges = instance.ranges()
    weights = _weights(instance, ranges)
    chosen: list[tuple[_Range, int]] = []
    gap: int | None = 0
    proven = True
    left = len(ranges)
    for group in _groups(instance, ranges):
        budget = (time_limit - watch.seconds()) * len(group) / left
        left -= len(group)
        picks, part_gap = _solve_group(instance, group, weights, max(MIN_SEARCH_SECONDS, budget))
        chosen.extend(picks)
        gap = None if gap is None or part_gap is None else gap + part_gap
        proven = proven and part_gap == 0
    chosen.sort(key=lambda pick: pick[0].job)
    placements = tuple(Placement(r.job, r.unit, instance.start(r.unit, k)) for r, k in chosen)
    n = len(instance.jobs)
    done = {p.job for p in placements}
    cost = sum(instance.cost(p.job, p.unit, p.start) for p in placements)
    ties = sum(k for _, k in chosen)
    objective = (
        weights.per_unplaced * (n - len(done)) + weights.per_cost * cost + weights.per_step * ties
    )
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    unplaced = tuple(j for j in range(n) if j not in done)
    bound = None if gap is None else objective - gap
    return ScheduleResult(status, placements, unplaced, cost, objective, bound, watch.seconds())


def _groups(instance: SchedulingInstance, ranges: list[_Range]) -> list[list[_Range]]:
    """Ranges split into groups of jobs linked by shared units or by units of one limited
    owner (its limit binds them together), in order of their first job."""
    parent: dict[int, int] = {}

    def root(job: int) -> int:
        while parent.setdefault(job, job) != job:
            parent[job] = parent[parent[job]]
            job = parent[job]
        return job

    first_on: dict[tuple[str, int], int] = {}
    for r in ranges:
        owner = instance.limited_owner(r.unit)
        links = [("unit", r.unit)] if owner is None else [("unit", r.unit), ("owner", owner)]
        for link in links:
            a, b = root(r.job), root(first_on.setdefault(link, r.job))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[_Range]] = {}
    for r in ranges:
        groups.setdefault(root(r.job), []).append(r)
    return [groups[k] for k in sorted(groups)]


def _solve_group(
    instance: SchedulingInstance, group: list[_Range], weights: _Weights, seconds: float
) -> tuple[list[tuple[_Range, int]], int | None]:
    """The group's picks (range, grid step) and their gap to the proven bound in combined
    weight (None: no bound, the group was placed greedily)."""
    greedy = _greedy(instance, group, weights)
    if len({r.job for r in group}) == 1:
        return greedy, 0  # one job alone: greedy takes its best option, which is optimal
    if len(group) > MAX_EXACT_OPTIONS:
        return greedy, None
    model = cp_model.CpModel()
    options = _build(model, instance, group, weights)
    hint = dict(greedy)
    for o in options:
        model.add_hint(o.present, o.range in hint)
        model.add_hint(o.step, hint.get(o.range, o.range.first))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = WORKERS
    solver.parameters.random_seed = RANDOM_SEED
    code = solver.solve(model)
    if code == cp_model.MODEL_INVALID:
        raise MatchingInputError("CP-SAT rejected the scheduling model")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy, None
    picks = [(o.range, solver.value(o.step)) for o in options if solver.value(o.present)]
    bound = solver.best_objective_bound
    return picks, 0 if code == cp_model.OPTIMAL else round(solver.objective_value - bound)


def _greedy(
    instance: SchedulingInstance, group: list[_Range], weights: _Weights
) -> list[tuple[_Range, int]]:
    """Jobs in order, each at its cheapest option's earliest start that is still free, on a
    unit whose owner is under its limit."""
    options: dict[int, list[_Range]] = {}
    for r in group:
        options.setdefault(r.job, []).append(r)
    busy: dict[int, list[tuple[int, int]]] = {}
    left = dict(instance.limits)
    picks: list[tuple[_Range, int]] = []
    for job in sorted(options):
        best: tuple[int, _Range, int] | None = None
        for r in options[job]:
            owner = instance.limited_owner(r.unit)
            if owner is not None and left[owner] == 0:
                continue
            k = _earliest_free(instance, r, busy.get(r.unit, []))
            if k is None:
                continue
            value = _value_at(instance, r, k, weights)
            if best is None or value < best[0]:
                best = (value, r, k)
        if best is not None:
            _, r, k = best
            picks.append((r, k))
            busy.setdefault(r.unit, []).append(_blocked(instance, r, k))
            owner = instance.limited_owner(r.unit)
            if owner is not None:
                left[owner] -= 1
    return picks


def _blocked(instance: SchedulingInstance, r: _Range, k: int) -> tuple[int, int]:
    """The stretch a job at grid step k holds on its unit, buffers included."""
    m = instance.machines[r.unit]
    start = instance.start(r.unit, k) - m.before
    return start, start + m.before + instance.jobs[r.job].duration + m.after


def _earliest_free(
    instance: SchedulingInstance, r: _Range, busy: list[tuple[int, int]]
) -> int | None:
    m = instance.machines[r.unit]
    k = r.first
    while k <= r.last:
        a, b = _blocked(instance, r, k)
        clash = next(((x, y) for x, y in busy if x < b and a < y), None)
        if clash is None:
            return k
        # The first step whose stretch starts at or after the clash ends.
        k = max(k + 1, -(-(clash[1] + m.before - m.phase) // m.step))
    return None


def _value_at(instance: SchedulingInstance, r: _Range, k: int, weights: _Weights) -> int:
    cost = instance.cost(r.job, r.unit, instance.start(r.unit, k))
    return weights.per_cost * cost + weights.per_step * k


def _build(
    model: cp_model.CpModel,
    instance: SchedulingInstance,
    ranges: list[_Range],
    weights: _Weights,
) -> list[_Option]:
    """One optional interval per range; each job at most once; NoOverlap per unit; at most
    its limit of jobs per limited owner.

    Minimises the combined objective less the constant n * per_unplaced: a present option
    adds per_cost * cost - per_unplaced plus its weighted grid step."""
    options: list[_Option] = []
    per_unit: list[list[cp_model.IntervalVar]] = [[] for _ in range(instance.units)]
    per_job: list[list[cp_model.IntVar]] = [[] for _ in instance.jobs]
    per_owner: dict[int, list[cp_model.IntVar]] = {}
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
        gain = _value_at(instance, r, r.first, weights) - weights.per_unplaced
        per_step = weights.per_cost * job.late_cost * m.step + weights.per_step
        terms.append(gain * present + per_step * (k - r.first))
        per_job[r.job].append(present)
        owner = instance.limited_owner(r.unit)
        if owner is not None:
            per_owner.setdefault(owner, []).append(present)
        options.append(_Option(r, present, k))
    for mine in per_job:
        if len(mine) > 1:
            model.add_at_most_one(mine)
    for intervals in per_unit:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    for owner, presents in per_owner.items():
        model.add(cp_model.LinearExpr.sum(presents) <= instance.limits[owner])
    model.minimize(cp_model.LinearExpr.sum(terms))
    return options
