"""Shared vocabulary of the matching engine: senses, solve statuses, input errors, integer costs."""

from __future__ import annotations

import time
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
IndexArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class Sense(StrEnum):
    MIN = "min"
    MAX = "max"


class SolveStatus(StrEnum):
    """How far a result is proven: OPTIMAL means objective == bound."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


class MatchingInputError(ValueError):
    """The caller's instance is malformed (shapes, indices, non-integer costs)."""


def integer_costs(values: ArrayLike, *, scale: int = 1) -> IntArray:
    """Scale money or distances to integer solver costs, rounding half to even.

    Solvers here work in exact integers. Half-to-even keeps the total rounding error unbiased
    over many arcs, so the optimum of the integer instance tracks the one of the real instance.
    """
    scaled = np.asarray(values, dtype=np.float64) * scale
    if not np.all(np.isfinite(scaled)):
        raise MatchingInputError("costs must be finite numbers")
    return np.rint(scaled).astype(np.int64)


def as_int_array(values: ArrayLike, name: str) -> IntArray:
    """A one-dimensional int64 copy of `values`, refusing fractional or non-numeric input."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise MatchingInputError(f"{name} must be one-dimensional")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise MatchingInputError(f"{name} must hold integers (use integer_costs to convert)")
    return arr.astype(np.int64)


def as_int_matrix(values: ArrayLike, name: str) -> IntArray:
    """A two-dimensional int64 copy of `values`, refusing fractional or non-numeric input."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise MatchingInputError(f"{name} must be a matrix")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise MatchingInputError(f"{name} must hold integers (use integer_costs to convert)")
    return arr.astype(np.int64)


class Stopwatch:
    """Wall time since construction, for the `wall_seconds` of every result."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._start
