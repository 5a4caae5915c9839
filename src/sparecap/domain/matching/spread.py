"""Independent solver tasks spread over the machine's cores: the caller and warm helpers.

OR-Tools holds the GIL while it solves, so threads cannot overlap two solves; processes can.
Helpers fork from a forkserver (a clean process started once, with the solver modules loaded),
never from the caller, which may be a multi-threaded server. Whatever keeps the helpers from
working (no spare core, a helper killed, a platform without forkserver) makes the caller do
the task itself: slower, the same answer. As with multiprocessing's spawn, a helper imports
the caller's main module at its start: a script that solves large unit markets keeps its
work under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
# What the helpers import once, when they start, so that a task starts solving at once.
PRELOAD = ["sparecap.domain.matching.assignment"]
# A market splits into a handful of large pieces (four on the 100k bench market), so more
# helpers than this would sit idle, each holding a few hundred MiB once it has solved.
MAX_HELPERS = 3

_pool: ProcessPoolExecutor | None = None
# A server may solve two rounds at once (its schedule and an operator's command) in threads.
_pool_lock = threading.Lock()


def helper_count() -> int:
    """Cores beside the caller's (the caller keeps working too), at most MAX_HELPERS."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cores = len(usable) if usable is not None else (os.cpu_count() or 1)
    return min(MAX_HELPERS, cores - 1)


def warm_up() -> None:
    """Start the helpers now, so that their start overlaps the caller's own work."""
    pool = _helpers()
    if pool is not None:
        try:
            for _ in range(helper_count()):
                pool.submit(os.getpid)
        except (BrokenProcessPool, RuntimeError, OSError):
            _drop_pool(pool)


def run_spread(work: Callable[..., T], tasks: Sequence[tuple[int, tuple[Any, ...]]]) -> list[T]:
    """work(*args) for each (size, args) of tasks, results in the order of tasks.

    The largest tasks are dealt first, each to whichever of the caller and the helpers has the
    least size so far (longest processing time first); the caller runs its share while the
    helpers run theirs. An exception raised by work reaches the caller as raised.
    """
    pool = _helpers()
    lanes = [0] * (1 + (helper_count() if pool is not None else 0))  # lane 0 is the caller
    lane_of = [0] * len(tasks)
    for k in sorted(range(len(tasks)), key=lambda k: -tasks[k][0]):
        # Ties go to a helper, so the helpers start as early as they can.
        lane_of[k] = min(range(len(lanes)), key=lambda n: (lanes[n], n == 0))
        lanes[lane_of[k]] += tasks[k][0]
    futures: dict[int, Future[T]] = {}
    for k, (_, args) in enumerate(tasks):
        if lane_of[k] and pool is not None:
            try:
                futures[k] = pool.submit(work, *args)
            except (BrokenProcessPool, RuntimeError, OSError):
                _drop_pool(pool)
                pool = None
    results = {k: work(*args) for k, (_, args) in enumerate(tasks) if k not in futures}
    for k, future in futures.items():
        try:
            results[k] = future.result()
        except (BrokenProcessPool, CancelledError):  # a helper died: do its task here
            _drop_pool(pool)
            results[k] = work(*tasks[k][1])
    return [results[k] for k in range(len(tasks))]


def _helpers() -> ProcessPoolExecutor | None:
    global _pool  # noqa: PLW0603 - one set of helpers per process, started on first need
    with _pool_lock:
        if _pool is None and helper_count() > 0:
            try:
                context = multiprocessing.get_context("forkserver")
            except ValueError:  # no forkserver on this platform
                return None
            context.set_forkserver_preload(PRELOAD)
            _pool = ProcessPoolExecutor(helper_count(), mp_context=context)
        return _pool


def _drop_pool(broken: ProcessPoolExecutor | None) -> None:
    """Forget these broken helpers (unless another thread has replaced them already); the next
    spread starts new ones."""
    global _pool  # noqa: PLW0603 - see _helpers
    with _pool_lock:
        if broken is not None and _pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            _pool = None


def _forget_in_child() -> None:
    """A forked child (a pre-forking server's worker) inherits the helpers' handle and lock but
    not the threads that serve them: it starts helpers of its own when it needs them."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
