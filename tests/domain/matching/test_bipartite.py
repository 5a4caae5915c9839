"""The compiled pieces of unit matching: the maximum matching is maximum (and says so only when
it is), and the auction refuses what it cannot assign instead of running on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching import unit_flow
from sparecap.domain.matching.assignment import UnitArcs
from sparecap.domain.matching.auction import assign_all_persons
from sparecap.domain.matching.bipartite import FREE, adjacency, classes, maximum_matching
from tests.domain.matching.test_assignment import clustered_markets


def graph(arcs: UnitArcs) -> tuple[np.ndarray, ...]:
    d_start, d_adj, _ = adjacency(arcs.num_demands, arcs.demand, arcs.unit)
    u_start, u_adj, _ = adjacency(arcs.num_units, arcs.unit, arcs.demand)
    return d_start, d_adj, u_start, u_adj


@settings(max_examples=150, deadline=None)
@given(arcs=clustered_markets())
def test_push_relabel_finds_as_many_pairs_as_max_flow(arcs: UnitArcs) -> None:
    sides = graph(arcs)
    unit_of, demand_of = maximum_matching(*sides)
    pairs = np.flatnonzero(unit_of != FREE)
    assert pairs.size == int(unit_flow._maximum_matching(arcs).sum())
    assert (demand_of[unit_of[pairs]] == pairs).all()  # each pair seen from both sides
    for d in pairs:  # and each pair is an arc
        assert ((arcs.demand == d) & (arcs.unit == unit_of[d])).any()
    assert classes(*sides, unit_of, demand_of)[2]


def test_a_matching_with_an_augmenting_path_is_not_called_maximum() -> None:
    # d0 - u0 - d1 - u1: matching d1-u0 only leaves d0 -> u0 -> d1 -> u1 to augment.
    arcs = UnitArcs.build(2, 2, [0, 1, 1], [0, 0, 1], [1, 1, 1])
    sides = graph(arcs)
    unit_of = np.array([FREE, 0], np.int32)
    demand_of = np.array([1, FREE], np.int32)
    assert not classes(*sides, unit_of, demand_of)[2]
    best_unit_of, best_demand_of = maximum_matching(*sides)
    assert classes(*sides, best_unit_of, best_demand_of)[2]
    assert (best_unit_of != FREE).sum() == 2


def assign(persons: list[int], objects: list[int], costs: list[int]) -> tuple[bool, list[int]]:
    person = np.array(persons, np.int32)
    target = np.array(objects, np.int32)
    used = np.zeros(person.size, np.bool_)
    arcs = np.arange(person.size, dtype=np.int32)
    done = assign_all_persons(person, target, np.array(costs, np.int64), arcs,
                              max(persons) + 1, max(objects) + 1, used)  # fmt: skip
    return done, np.flatnonzero(used).tolist()


def test_the_auction_assigns_every_person_at_least_cost() -> None:
    # Person 0 prefers object 0, but person 1 has only object 0: 0 takes 1, and 2 the cheaper.
    done, used = assign([0, 0, 1, 2, 2], [0, 1, 0, 1, 2], [1, 5, 2, 3, 1])
    assert done and used == [1, 2, 4]


def test_the_auction_refuses_persons_it_cannot_all_assign() -> None:
    # Persons 0 and 1 both have only object 0: one would go without, whatever the prices.
    assert assign([0, 1, 2, 2], [0, 0, 1, 2], [1, 1, 1, 1]) == (False, [])
    # More persons than objects.
    assert assign([0, 1], [0, 0], [1, 2]) == (False, [])


@settings(max_examples=60, deadline=None)
@given(costs=st.lists(st.integers(-(10**6), 10**6), min_size=9, max_size=9))
def test_a_complete_three_by_three_is_solved_exactly(costs: list[int]) -> None:
    persons = [p for p in range(3) for _ in range(3)]
    objects = [o for _ in range(3) for o in range(3)]
    done, used = assign(persons, objects, costs)
    best = min(
        costs[0 * 3 + a] + costs[1 * 3 + b] + costs[2 * 3 + c]
        for a in range(3) for b in range(3) for c in range(3) if len({a, b, c}) == 3
    )  # fmt: skip
    assert done and sum(costs[k] for k in used) == best and len(used) == 3
