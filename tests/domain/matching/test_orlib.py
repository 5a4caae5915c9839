"""OR-Library readers: wrapped rows, multi-problem gap files, and clear errors on garbled text."""

from __future__ import annotations

import numpy as np
import pytest

from sparecap.domain.matching.orlib import (
    OrlibFormatError,
    parse_assignment,
    parse_gap,
    read_assignment,
    read_gap,
)
from tests.domain.matching._orlib import ORLIB, needs_orlib, optima

# Two problems; rows wrap across lines the way the OR-Library files do.
GAP_TEXT = """ 2
 2 3
 1 2
 3 4 5 6
 7 8 9 10 11 12
 13 14
 1 1
 5
 6
 7
"""


def test_assignment_rows_may_wrap_across_lines() -> None:
    matrix = parse_assignment(" 3\n 1 2 3 4\n 5 6 7\n 8 9\n")
    assert matrix.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert matrix.dtype == np.int64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("2\n1 2 3\n", "expected 4 costs"),
        ("2\n1 2 3 4 5\n", "expected 4 costs"),
        ("0\n", "positive"),
        ("2\n1 2 x 4\n", "not an integer: 'x'"),
        ("2\n1 2 3.5 4\n", "not an integer"),
        ("1\n99999999999999999999999\n", "not an integer"),
    ],
)
def test_garbled_assignment_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(OrlibFormatError, match=message):
        parse_assignment(text)


def test_gap_problems_are_read_agent_major() -> None:
    first, second = parse_gap(GAP_TEXT)
    assert first.costs.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert first.weights.tolist() == [[7, 8, 9], [10, 11, 12]]
    assert first.capacities.tolist() == [13, 14]
    assert (second.agents, second.jobs) == (1, 1)
    assert (second.costs[0, 0], second.weights[0, 0], second.capacities[0]) == (5, 6, 7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0\n", "positive"),
        ("1\n", "header"),
        ("1\n2 2\n1 2 3 4\n", "truncated"),
        ("1\n1 1\n1 1 1 9\n", "left over"),
        ("1\n0 3\n", "bad size"),
        ("1\n1 1\n1 -1 1\n", "non-negative"),
    ],
)
def test_garbled_gap_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(OrlibFormatError, match=message):
        parse_gap(text)


@needs_orlib
def test_every_shared_assign_file_is_square_as_listed() -> None:
    for row in optima("assign"):
        matrix = read_assignment(ORLIB / row["file"])
        assert matrix.shape == (int(row["m"]), int(row["n"]))


@needs_orlib
def test_every_shared_gap_problem_has_the_listed_shape() -> None:
    files: dict[str, list[tuple[int, int]]] = {}
    for row in optima("gap-orlib"):
        shapes = files.setdefault(row["file"], [])
        if len(shapes) <= int(row["index_in_file"]):
            shapes.append((int(row["m"]), int(row["n"])))
    assert len(files) == 15
    for name, shapes in files.items():
        problems = read_gap(ORLIB / name)
        assert [(p.agents, p.jobs) for p in problems] == shapes
