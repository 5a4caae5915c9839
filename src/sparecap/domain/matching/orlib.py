"""Readers for OR-Library files: linear assignment (assign*) and generalised assignment (gap*)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparecap.domain.matching.core import IntArray, MatchingInputError
from sparecap.domain.matching.gap import GapInstance


class OrlibFormatError(ValueError):
    """The text is not a well-formed OR-Library file of the expected kind."""


def _tokens(text: str) -> IntArray:
    """Every whitespace-separated token as an integer; the files wrap rows across lines freely."""
    parts = text.split()
    if not parts:
        raise OrlibFormatError("the file is empty")
    try:
        return np.array(parts, dtype=np.int64)
    except (ValueError, OverflowError):
        bad = next((p for p in parts if not p.lstrip("+-").isdigit()), "a number too large")
        raise OrlibFormatError(f"not an integer: {bad[:20]!r}") from None


def parse_assignment(text: str) -> IntArray:
    """The n x n cost matrix of an assign file: first token n, then n*n costs row by row."""
    tokens = _tokens(text)
    n = int(tokens[0])
    if n <= 0:
        raise OrlibFormatError(f"the size must be positive, got {n}")
    if tokens.size != 1 + n * n:
        raise OrlibFormatError(f"expected {n * n} costs for n={n}, found {tokens.size - 1}")
    return tokens[1:].reshape(n, n)


def parse_gap(text: str) -> list[GapInstance]:
    """Every problem of a gap file: P, then per problem m n, costs (m x n), weights, capacities."""
    tokens = _tokens(text)
    count, pos = int(tokens[0]), 1
    if count <= 0:
        raise OrlibFormatError(f"the number of problems must be positive, got {count}")
    problems: list[GapInstance] = []
    for k in range(count):
        if pos + 2 > tokens.size:
            raise OrlibFormatError(f"problem {k}: missing the 'm n' header")
        m, n = int(tokens[pos]), int(tokens[pos + 1])
        if m <= 0 or n <= 0:
            raise OrlibFormatError(f"problem {k}: bad size m={m} n={n}")
        end = pos + 2 + 2 * m * n + m
        if end > tokens.size:
            raise OrlibFormatError(f"problem {k}: truncated ({m}x{n} needs {end - pos} numbers)")
        block = tokens[pos + 2 : end]
        costs, weights = block[: m * n].reshape(m, n), block[m * n : 2 * m * n].reshape(m, n)
        try:
            problems.append(GapInstance.build(costs, weights, block[2 * m * n :]))
        except MatchingInputError as exc:
            raise OrlibFormatError(f"problem {k}: {exc}") from None
        pos = end
    if pos != tokens.size:
        raise OrlibFormatError(f"{tokens.size - pos} numbers left over after {count} problems")
    return problems


def read_assignment(path: Path) -> IntArray:
    return parse_assignment(path.read_text(encoding="ascii", errors="replace"))


def read_gap(path: Path) -> list[GapInstance]:
    return parse_gap(path.read_text(encoding="ascii", errors="replace"))
