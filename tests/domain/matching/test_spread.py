"""Tasks spread over the caller and helper processes: order, errors, a helper that dies."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import os

import pytest

from sparecap.domain.matching import spread
from sparecap.domain.matching.core import MatchingInputError


def where_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def refuse_odd(x: int) -> int:
    if x % 2:
        raise MatchingInputError(f"{x} is odd")
    return x


def die_in_a_helper(caller: int, x: int) -> int:
    if os.getpid() != caller:
        os._exit(3)  # a helper killed mid-task, as by the out-of-memory killer
    return x + 1


def test_results_come_back_in_task_order_and_the_work_is_shared() -> None:
    tasks = [(size, (x,)) for x, size in enumerate([5, 50, 1, 40, 3, 30])]
    results = spread.run_spread(where_and_square, tasks)
    assert [square for _, square in results] == [x * x for x in range(6)]
    if spread.helper_count() > 0:  # a one-core machine does it all in the caller
        assert {pid for pid, _ in results} - {os.getpid()}


def test_an_error_in_a_task_reaches_the_caller() -> None:
    with pytest.raises(MatchingInputError, match="3 is odd"):
        spread.run_spread(refuse_odd, [(10, (3,)), (10, (4,))])


def test_the_caller_redoes_the_task_of_a_helper_that_died() -> None:
    tasks = [(10, (os.getpid(), x)) for x in range(4)]
    assert spread.run_spread(die_in_a_helper, tasks) == [1, 2, 3, 4]
    # New helpers start for the next spread.
    assert [sq for _, sq in spread.run_spread(where_and_square, [(1, (2,)), (1, (3,))])] == [4, 9]


def spread_in_child(results: multiprocessing.queues.Queue[list[tuple[int, int]]]) -> None:
    results.put(spread.run_spread(where_and_square, [(2, (5,)), (1, (6,))]))


def test_a_process_forked_after_the_helpers_started_starts_its_own() -> None:
    # A pre-forking server forks its workers after the parent may have solved: the child
    # inherits the helpers' handle but not the threads that serve it, and must not wait on it.
    spread.run_spread(where_and_square, [(1, (1,)), (1, (2,))])
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=spread_in_child, args=(results,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    assert [square for _, square in results.get(timeout=5)] == [25, 36]
