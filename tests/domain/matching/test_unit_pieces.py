"""The flow solver on one piece: renumbered nodes, several components, signed costs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching import unit_flow
from sparecap.domain.matching.assignment import UnitArcs
from tests.domain.matching.test_assignment import brute_force, markets


def flow_on(arcs: UnitArcs) -> tuple[int, int]:
    """(pairs, cost) the flow solver picks with every arc of the market as one piece."""
    used = unit_flow._min_cost_flow(arcs.demand, arcs.unit, arcs.cost)
    demands, units = arcs.demand[used], arcs.unit[used]
    assert len(set(demands.tolist())) == demands.size == len(set(units.tolist()))
    return int(used.sum()), int(arcs.cost[used].sum())


@settings(max_examples=200, deadline=None)
@given(arcs=markets())
def test_the_flow_solver_on_renumbered_nodes_matches_brute_force(arcs: UnitArcs) -> None:
    # Whole small markets are pieces with several components, parallel arcs and negative
    # costs: the breadth-first numbering must reach or append every node.
    if arcs.size:
        assert flow_on(arcs) == brute_force(arcs)


def test_negative_costs_on_the_flow_path() -> None:
    # Units left over, then demands left over; both need the costlier pair to match two.
    more_units = UnitArcs.build(2, 3, [0, 0, 1, 1], [0, 1, 1, 2], [1, -1, -5, -3])
    assert flow_on(more_units) == brute_force(more_units) == (2, -4)
    more_demands = UnitArcs.build(3, 1, [0, 1, 2], [0, 0, 0], [-1, -7, 2])
    assert flow_on(more_demands) == brute_force(more_demands) == (1, -7)


@settings(max_examples=100, deadline=None)
@given(
    nodes=st.integers(1, 12),
    data=st.data(),
)
def test_breadth_first_numbers_are_a_permutation(nodes: int, data: st.DataObject) -> None:
    ends = st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1)), max_size=20)
    pairs = data.draw(ends)
    tails = np.array([t for t, _ in pairs], np.int64)
    heads = np.array([h for _, h in pairs], np.int64)
    number = unit_flow._breadth_first_numbers(nodes, tails, heads)
    assert sorted(number.tolist()) == list(range(nodes))
    assert number[0] == 0  # the search starts at node 0
