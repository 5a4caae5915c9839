"""Order splitting: exact against brute force, allocations within quantities and capacities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching.core import MatchingInputError, SolveStatus
from sparecap.domain.matching.transport import Allocation, TransportResult, split_orders

Instance = tuple[list[int], list[int], list[tuple[int, int, int]]]


@st.composite
def plants(draw: st.DrawFn) -> Instance:
    """Up to 3 orders and 3 lines, a subset of (order, line) arcs with signed piece costs."""
    quantities = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    capacities = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3))
    pairs = [(o, li) for o in range(len(quantities)) for li in range(len(capacities))]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    arcs = [(o, li, draw(st.integers(-3, 9))) for o, li in chosen]
    return quantities, capacities, arcs


def brute_force(
    quantities: list[int], capacities: list[int], arcs: list[tuple[int, int, int]]
) -> tuple[int, int]:
    """(most pieces placed, least cost among those) over every integer allocation."""
    ranges = [range(min(quantities[o], capacities[li]) + 1) for o, li, _ in arcs]
    best = (0, 0)
    for pieces in itertools.product(*ranges):
        per_order, per_line = [0] * len(quantities), [0] * len(capacities)
        for (o, li, _), x in zip(arcs, pieces, strict=True):
            per_order[o] += x
            per_line[li] += x
        if all(p <= q for p, q in zip(per_order, quantities, strict=True)) and all(
            p <= c for p, c in zip(per_line, capacities, strict=True)
        ):
            placed = sum(pieces)
            cost = sum(x * c for (_, _, c), x in zip(arcs, pieces, strict=True))
            if placed > best[0] or (placed == best[0] and cost < best[1]):
                best = (placed, cost)
    return best


def solve(instance: Instance) -> TransportResult:
    quantities, capacities, arcs = instance
    return split_orders(
        quantities,
        capacities,
        order=np.array([o for o, _, _ in arcs], np.int64),
        line=np.array([li for _, li, _ in arcs], np.int64),
        unit_cost=np.array([c for _, _, c in arcs], np.int64),
    )


@settings(max_examples=150, deadline=None)
@given(instance=plants())
def test_split_places_the_most_pieces_at_the_least_cost(instance: Instance) -> None:
    quantities, capacities, arcs = instance
    result = solve(instance)
    assert (result.allocated, result.objective) == brute_force(quantities, capacities, arcs)
    assert result.status is SolveStatus.OPTIMAL
    assert result.bound == result.objective


@settings(max_examples=80, deadline=None)
@given(instance=plants())
def test_allocations_respect_orders_lines_and_arcs(instance: Instance) -> None:
    quantities, capacities, arcs = instance
    result = solve(instance)
    offered = {(o, li): c for o, li, c in arcs}
    per_line = [0] * len(capacities)
    for a in result.allocations:
        assert a.quantity > 0
        assert offered[a.order, a.line] == a.unit_cost
        per_line[a.line] += a.quantity
    assert all(p <= c for p, c in zip(per_line, capacities, strict=True))
    placed = [quantities[o] - int(result.shortfall[o]) for o in range(len(quantities))]
    assert all(0 <= p <= q for p, q in zip(placed, quantities, strict=True))
    assert sum(a.cost for a in result.allocations) == result.objective
    keys = [(a.order, a.line) for a in result.allocations]
    assert keys == sorted(keys)


def test_an_order_too_big_for_one_line_is_split_cheapest_first() -> None:
    result = split_orders(
        [100],
        [60, 70, 80],
        order=[0, 0, 0],
        line=[0, 1, 2],
        unit_cost=[5, 3, 9],
    )
    assert result.allocations == (Allocation(0, 0, 30, 5), Allocation(0, 1, 70, 3))
    assert result.objective == 30 * 5 + 70 * 3
    assert result.complete


def test_capacity_short_of_demand_reports_the_shortfall_per_order() -> None:
    result = split_orders([50, 40], [60], order=[0, 1], line=[0, 0], unit_cost=[2, 1])
    assert result.allocated == 60
    assert result.shortfall.tolist() == [30, 0]  # the cheaper order 1 is served first
    assert not result.complete


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": [0], "line": [0, 0], "unit_cost": [1]}, "same length"),
        ({"order": [1], "line": [0], "unit_cost": [1]}, "order index"),
        ({"order": [0], "line": [3], "unit_cost": [1]}, "line index"),
        ({"order": [0], "line": [0], "unit_cost": [1.5]}, "integers"),
    ],
)
def test_malformed_input_is_refused(kwargs: dict[str, list[float]], message: str) -> None:
    with pytest.raises(MatchingInputError, match=message):
        split_orders([5], [5], **kwargs)


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(MatchingInputError, match="non-negative"):
        split_orders([-1], [5], order=[0], line=[0], unit_cost=[1])
