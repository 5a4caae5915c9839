"""numba's compiler, set up the one way the matching engine uses it, and typed for mypy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def compiled(function: F) -> F:
    """`function` compiled to machine code at its first call, without the GIL while it runs (so
    threads can solve side by side), and cached on disk so later processes load it instead of
    compiling again (about 13 s for the engine, once per install)."""
    return cast(F, numba.njit(cache=True, nogil=True)(function))
