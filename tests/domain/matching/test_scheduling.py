"""Interval scheduling: exact against a brute-force oracle, known answers, input checks."""

from __future__ import annotations

from collections import Counter
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching import scheduling
from sparecap.domain.matching.core import MatchingInputError, SolveStatus
from sparecap.domain.matching.scheduling import (
    Job,
    Machine,
    Placement,
    ScheduleResult,
    SchedulingInstance,
    solve_schedule,
)

HORIZON = 12  # a tiny horizon keeps the oracle's enumeration small


@st.composite
def machines(draw: st.DrawFn) -> Machine:
    step = draw(st.integers(1, 3))
    free = None
    if draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(0, HORIZON), max_size=4)))
        free = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False))
    return Machine(
        free,
        step=step,
        phase=draw(st.integers(0, step - 1)),
        before=draw(st.integers(0, 1)),
        after=draw(st.integers(0, 2)),
        owner=draw(st.sampled_from([None, 0, 1])),
    )


@st.composite
def instances(draw: st.DrawFn) -> SchedulingInstance:
    """Up to 3 units and 4 jobs, with grids, phases, buffers, windows and lateness costs; two
    owners, each with a limit or none."""
    units = draw(st.lists(machines(), min_size=1, max_size=3))
    jobs = []
    for _ in range(draw(st.integers(1, 4))):
        release = draw(st.integers(0, HORIZON))
        eligible = draw(st.sets(st.integers(0, len(units) - 1), max_size=len(units)))
        jobs.append(
            Job(
                duration=draw(st.integers(1, 4)),
                release=release,
                deadline=draw(st.integers(release, HORIZON)),
                costs={u: draw(st.integers(0, 9)) for u in sorted(eligible)},
                late_cost=draw(st.integers(0, 2)),
            )
        )
    limits = draw(st.dictionaries(st.sampled_from([0, 1]), st.integers(0, 2)))
    return SchedulingInstance.build(jobs, units, limits)


def fits(instance: SchedulingInstance, j: int, u: int, start: int) -> bool:
    job, m = instance.jobs[j], instance.machines[u]
    end = start + job.duration
    if u not in job.costs or start < job.release or end > job.deadline:
        return False
    if (start - m.phase) % m.step:
        return False
    return m.free is None or any(a <= start and end <= b for a, b in m.free)


def blocked(instance: SchedulingInstance, p: Placement) -> tuple[int, int]:
    m = instance.machines[p.unit]
    return p.start - m.before, p.start + instance.jobs[p.job].duration + m.after


def over_limit(instance: SchedulingInstance, placements: list[Placement]) -> bool:
    taken = Counter(instance.limited_owner(p.unit) for p in placements)
    return any(taken[owner] > limit for owner, limit in instance.limits.items())


def oracle(instance: SchedulingInstance) -> tuple[int, int]:
    """(most jobs placed, least cost among those) over every start of every job."""
    n = len(instance.jobs)
    best = (0, 0)
    busy: list[list[tuple[int, int]]] = [[] for _ in range(instance.units)]
    placed_so_far: list[Placement] = []

    def place(j: int, placed: int, cost: int) -> None:
        nonlocal best
        if j == n:
            if placed > best[0] or (placed == best[0] and cost < best[1]):
                best = (placed, cost)
            return
        place(j + 1, placed, cost)  # leave job j out
        for u in instance.jobs[j].costs:
            for start in range(HORIZON + 1):
                if not fits(instance, j, u, start):
                    continue
                a, b = blocked(instance, Placement(j, u, start))
                if any(a < y and x < b for x, y in busy[u]):
                    continue
                placed_so_far.append(Placement(j, u, start))
                if not over_limit(instance, placed_so_far):
                    busy[u].append((a, b))
                    place(j + 1, placed + 1, cost + instance.cost(j, u, start))
                    busy[u].pop()
                placed_so_far.pop()

    place(0, 0, 0)
    return best


def check_valid(instance: SchedulingInstance, result: ScheduleResult) -> None:
    jobs = [p.job for p in result.placements]
    assert len(jobs) == len(set(jobs))
    assert sorted([*jobs, *result.unplaced]) == list(range(len(instance.jobs)))
    for p in result.placements:
        assert fits(instance, p.job, p.unit, p.start)
    for a in result.placements:
        for b in result.placements:
            if a.job < b.job and a.unit == b.unit:
                (a0, a1), (b0, b1) = blocked(instance, a), blocked(instance, b)
                assert a1 <= b0 or b1 <= a0
    assert result.cost == sum(instance.cost(p.job, p.unit, p.start) for p in result.placements)
    assert not over_limit(instance, list(result.placements))


@settings(max_examples=200, deadline=None)
@given(instances())
def test_matches_brute_force(instance: SchedulingInstance) -> None:
    result = solve_schedule(instance)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == result.bound
    check_valid(instance, result)
    assert (result.placed, result.cost) == oracle(instance)


@settings(max_examples=100, deadline=None)
@given(instances())
def test_groups_too_large_for_the_exact_model_are_placed_greedily(
    instance: SchedulingInstance,
) -> None:
    with patch.object(scheduling, "MAX_EXACT_OPTIONS", 0):
        result = solve_schedule(instance)
    check_valid(instance, result)
    assert result.placed <= oracle(instance)[0]
    if result.status is SolveStatus.FEASIBLE:
        assert result.bound is None  # a greedy answer proves nothing
    # Greedy never leaves a job out that still fits somewhere once the others are placed.
    for j in result.unplaced:
        for u in instance.jobs[j].costs:
            if over_limit(instance, [*result.placements, Placement(j, u, 0)]):
                continue  # its owner's limit is reached
            for start in range(HORIZON + 1):
                if fits(instance, j, u, start):
                    a, b = blocked(instance, Placement(j, u, start))
                    taken = [blocked(instance, p) for p in result.placements if p.unit == u]
                    assert any(a < y and x < b for x, y in taken)


def test_a_search_cut_short_still_answers_from_the_greedy_start() -> None:
    # Twelve jobs competing for three units: CP-SAT gets no time, the greedy hint stands.
    jobs = [Job(30, 0, 240, {0: j, 1: 20 - j, 2: 5}) for j in range(12)]
    instance = SchedulingInstance.build(jobs, [Machine(step=30)] * 3)
    result = solve_schedule(instance, time_limit=1e-9)
    check_valid(instance, result)
    assert result.placed == 12


@settings(max_examples=30, deadline=None)
@given(instances())
def test_repeatable(instance: SchedulingInstance) -> None:
    first, second = solve_schedule(instance), solve_schedule(instance)
    assert first.placements == second.placements


def test_two_jobs_back_to_back_on_one_unit() -> None:
    # Each job is 60 min in a 120 min window: they fit only one after the other.
    jobs = [Job(60, 0, 120, {0: 5}), Job(60, 0, 120, {0: 3})]
    instance = SchedulingInstance.build(jobs, [Machine(((0, 120),), step=15)])
    result = solve_schedule(instance)
    assert result.status is SolveStatus.OPTIMAL
    assert result.placed == 2 and result.cost == 8
    # Earliest starts: no gap before or between them.
    assert {p.start for p in result.placements} == {0, 60}
    check_valid(instance, result)


def test_buffers_keep_jobs_apart() -> None:
    # A 15 min buffer after each job: the second starts at 75, so 135 > 120 and one is left.
    jobs = [Job(60, 0, 120, {0: 5}), Job(60, 0, 120, {0: 3})]
    instance = SchedulingInstance.build(jobs, [Machine(((0, 120),), step=15, after=15)])
    result = solve_schedule(instance)
    assert result.placements == (Placement(1, 0, 0),)  # the cheaper job wins the only place


def test_lateness_cost_prefers_an_early_dear_unit() -> None:
    # Unit 0 costs 10 but is busy until 120; unit 1 costs 50 and is free now. At 1 per minute
    # late, starting at 120 on unit 0 costs 130: the dear unit now is cheaper.
    jobs = [Job(60, 0, 600, {0: 10, 1: 50}, late_cost=1)]
    free = [Machine(((120, 600),)), Machine()]
    result = solve_schedule(SchedulingInstance.build(jobs, free))
    assert result.placements == (Placement(0, 1, 0),) and result.cost == 50


def test_more_jobs_beat_a_cheaper_schedule() -> None:
    # Unit 0 is cheap but has room for one job; placing both needs the dear unit 1.
    jobs = [Job(60, 0, 60, {0: 1, 1: 100}), Job(60, 0, 60, {0: 1})]
    result = solve_schedule(SchedulingInstance.build(jobs, [Machine(), Machine()]))
    assert result.placements == (Placement(0, 1, 0), Placement(1, 0, 0))
    assert result.cost == 101


def test_grid_phase_moves_starts() -> None:
    # Starts on 10 + 30k: the first start at or after the release of 15 is 40.
    jobs = [Job(30, 15, 300, {0: 0})]
    result = solve_schedule(SchedulingInstance.build(jobs, [Machine(step=30, phase=10)]))
    assert result.placements == (Placement(0, 0, 40),)


def test_deadline_makes_a_job_impossible() -> None:
    jobs = [Job(60, 0, 180, {0: 1}), Job(90, 30, 100, {0: 1})]  # 90 min cannot fit in 30..100
    result = solve_schedule(SchedulingInstance.build(jobs, [Machine(step=15)]))
    assert result.status is SolveStatus.OPTIMAL
    assert result.placements == (Placement(0, 0, 0),)
    assert result.unplaced == (1,)


def test_free_windows_confine_starts() -> None:
    jobs = [Job(30, 0, 300, {0: 0})]
    machine = Machine(((0, 20), (100, 140)), step=10)
    result = solve_schedule(SchedulingInstance.build(jobs, [machine]))
    assert result.placements == (Placement(0, 0, 100),)


def test_no_jobs_and_no_eligible_units() -> None:
    assert solve_schedule(SchedulingInstance.build([], [Machine()])).placed == 0
    result = solve_schedule(SchedulingInstance.build([Job(10, 0, 60, {})], [Machine()]))
    assert result.status is SolveStatus.OPTIMAL and result.unplaced == (0,)


@pytest.mark.parametrize(
    ("jobs", "machine"),
    [
        ([Job(0, 0, 10, {0: 1})], Machine()),
        ([Job(5, 10, 0, {0: 1})], Machine()),
        ([Job(5, -5, 10, {0: 1})], Machine()),
        ([Job(5, 0, 10, {1: 1})], Machine()),
        ([Job(5, 0, 10, {0: -1})], Machine()),
        ([Job(5, 0, 10, {0: 1}, late_cost=-1)], Machine()),
        ([Job(5, 0, 10, {0: 1})], Machine(((5, 5),))),
        ([Job(5, 0, 10, {0: 1})], Machine(((0, 6), (5, 9)))),
        ([], Machine(step=0)),
        ([], Machine(step=5, phase=5)),
        ([], Machine(before=-1)),
    ],
)
def test_rejects_bad_input(jobs: list[Job], machine: Machine) -> None:
    with pytest.raises(MatchingInputError):
        SchedulingInstance.build(jobs, [machine])


def test_an_owners_limit_keeps_jobs_off_its_units() -> None:
    # Unlimited, all three jobs fit (the first two on unit 1 and dear unit 2, the third on
    # unit 0). Owner 0 may take one job only: one job goes to owner 1's dear unit, one waits.
    jobs = [Job(60, 0, 60, {0: 1, 1: 1, 2: 50}), Job(60, 0, 60, {0: 1, 1: 1, 2: 50}),
            Job(60, 0, 60, {0: 1})]  # fmt: skip
    units = [Machine(owner=0), Machine(owner=0), Machine(owner=1)]
    result = solve_schedule(SchedulingInstance.build(jobs, units, {0: 1}))
    assert result.status is SolveStatus.OPTIMAL
    assert result.placed == 2 and result.cost == 51
    assert sorted(p.unit for p in result.placements).count(2) == 1
    unlimited = solve_schedule(SchedulingInstance.build(jobs, units))
    assert unlimited.placed == 3 and unlimited.cost == 52


def test_a_limit_no_more_jobs_can_reach_is_dropped() -> None:
    # Two jobs could use owner 0's units: a limit of two can never bind, a limit of one can.
    # Owner 1 has a limit but no job can use its unit.
    jobs = [Job(60, 0, 60, {0: 1, 1: 2}), Job(60, 0, 60, {1: 1})]
    units = [Machine(owner=0), Machine(owner=0), Machine(owner=1)]
    assert SchedulingInstance.build(jobs, units, {0: 2, 1: 0}).limits == {}
    assert SchedulingInstance.build(jobs, units, {0: 1, 1: 0}).limits == {0: 1}


def test_rejects_a_negative_limit() -> None:
    with pytest.raises(MatchingInputError):
        SchedulingInstance.build([], [Machine(owner=0)], {0: -1})


def test_rejects_bad_time_limit() -> None:
    with pytest.raises(MatchingInputError):
        solve_schedule(SchedulingInstance.build([], [Machine()]), time_limit=0)
