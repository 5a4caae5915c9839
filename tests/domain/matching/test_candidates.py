"""Candidate generation by place: the grid lookup equals a brute-force nearest-within-radius."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching import candidates
from sparecap.domain.matching.candidates import nearby_candidates
from sparecap.domain.matching.core import MatchingInputError, integer_costs

coordinate = st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 1))
points = st.lists(st.tuples(coordinate, coordinate), max_size=25)


def brute_force(
    demands: list[tuple[float, float]], units: list[tuple[float, float]], radius: float, k: int
) -> list[tuple[int, int]]:
    pairs = []
    for d, (dx, dy) in enumerate(demands):
        near = []
        for u, (ux, uy) in enumerate(units):
            distance = float(np.hypot(dx - ux, dy - uy))
            if distance <= radius:
                near.append((distance, u))
        pairs += [(d, u) for _, u in sorted(near)[:k]]
    return pairs


@settings(max_examples=200, deadline=None)
@given(
    demands=points,
    units=points,
    radius=st.floats(0.5, 60),
    k=st.integers(1, 6),
)
def test_grid_lookup_equals_brute_force(
    demands: list[tuple[float, float]], units: list[tuple[float, float]], radius: float, k: int
) -> None:
    found = nearby_candidates(
        np.array(demands).reshape(-1, 2),
        np.array(units).reshape(-1, 2),
        radius=radius,
        max_candidates=k,
    )
    assert list(zip(found.demand.tolist(), found.unit.tolist(), strict=True)) == brute_force(
        demands, units, radius, k
    )
    assert (found.distance <= radius).all()


@settings(max_examples=100, deadline=None)
@given(
    demands=points,
    units=points,
    radius=st.floats(0.5, 60),
    k=st.integers(1, 6),
    block=st.integers(1, 4),
)
def test_small_passes_and_binary_search_change_nothing(
    demands: list[tuple[float, float]],
    units: list[tuple[float, float]],
    radius: float,
    k: int,
    block: int,
) -> None:
    # A few demands per pass (so results from many passes are put back in demand order), and
    # cell starts by binary search instead of the table (as for a spread-out market).
    with (
        patch.object(candidates, "_DEMANDS_PER_BLOCK", block),
        patch.object(candidates, "_TABLE_CELLS_PER_POINT", 0),
    ):
        found = nearby_candidates(
            np.array(demands).reshape(-1, 2),
            np.array(units).reshape(-1, 2),
            radius=radius,
            max_candidates=k,
        )
    assert list(zip(found.demand.tolist(), found.unit.tolist(), strict=True)) == brute_force(
        demands, units, radius, k
    )


def test_a_larger_market_equals_brute_force() -> None:
    # Thousands of points: several passes, many cells, runs longer than the candidate limit.
    rng = np.random.default_rng(7)
    demand_xy = rng.uniform(0, 1000, (5000, 2)).round(1)
    unit_xy = rng.uniform(0, 1000, (3000, 2)).round(1)
    radius, k = 40.0, 7
    found = nearby_candidates(demand_xy, unit_xy, radius=radius, max_candidates=k)
    distance = np.hypot(
        demand_xy[:, None, 0] - unit_xy[None, :, 0], demand_xy[:, None, 1] - unit_xy[None, :, 1]
    )
    expected_demand, expected_unit = [], []
    for d in range(demand_xy.shape[0]):
        near = np.flatnonzero(distance[d] <= radius)
        best = near[np.lexsort((near, distance[d, near]))][:k]
        expected_demand += [d] * best.size
        expected_unit += best.tolist()
    assert found.demand.tolist() == expected_demand
    assert found.unit.tolist() == expected_unit
    assert np.array_equal(found.distance, distance[found.demand, found.unit])


def test_ties_in_distance_go_to_the_lower_unit() -> None:
    found = nearby_candidates([[0, 0]], [[1, 0], [0, 1], [-1, 0]], radius=2, max_candidates=2)
    assert found.unit.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("demands", "units", "radius", "k", "message"),
    [
        ([[0, 0, 0]], [[0, 0]], 1.0, 1, "demand_xy"),
        ([[0, 0]], [[np.nan, 0]], 1.0, 1, "finite"),
        ([[0, 0]], [[0, 0]], 0.0, 1, "positive"),
        ([[0, 0]], [[0, 0]], 1.0, 0, "positive"),
    ],
)
def test_bad_input_is_refused(
    demands: list[list[float]], units: list[list[float]], radius: float, k: int, message: str
) -> None:
    with pytest.raises(MatchingInputError, match=message):
        nearby_candidates(demands, units, radius=radius, max_candidates=k)


def test_integer_costs_round_half_to_even_after_scaling() -> None:
    assert integer_costs([0.5, 1.5, 2.25, -0.5], scale=1).tolist() == [0, 2, 2, 0]
    assert integer_costs([1.005, 2.5], scale=100).tolist() == [100, 250]
    with pytest.raises(MatchingInputError, match="finite"):
        integer_costs([1.0, np.inf])
