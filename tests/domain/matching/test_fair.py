"""Capped unit assignment: exact against brute force over every feasible set of pairs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.matching.assignment import UNMATCHED, UnitArcs
from sparecap.domain.matching.costs import provider_cap
from sparecap.domain.matching.fair import match_units_capped


@dataclass(frozen=True)
class Market:
    arcs: UnitArcs
    owner: list[int]
    room: list[int]
    cap: int | None


@st.composite
def markets(draw: st.DrawFn) -> Market:
    """Up to 5 demands and 4 units of up to 3 providers, units taking 1-2 demands, any cap."""
    demands, units = draw(st.integers(0, 5)), draw(st.integers(1, 4))
    pairs = [(d, u) for d in range(demands) for u in range(units)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=12, unique=True)) if pairs else []
    costs = draw(st.lists(st.integers(0, 40), min_size=len(chosen), max_size=len(chosen)))
    owner = draw(st.lists(st.integers(0, 2), min_size=units, max_size=units))
    room = draw(st.lists(st.integers(1, 2), min_size=units, max_size=units))
    cap = draw(st.one_of(st.none(), st.integers(0, 3)))
    arcs = UnitArcs.build(
        demands, units, [d for d, _ in chosen], [u for _, u in chosen], np.array(costs, np.int64)
    )
    return Market(arcs, owner, room, cap)


def brute_force(m: Market) -> tuple[int, int]:
    """(most pairs, least cost among those) over every subset of arcs that respects the limits."""
    best = (0, 0)
    triples = list(
        zip(m.arcs.demand.tolist(), m.arcs.unit.tolist(), m.arcs.cost.tolist(), strict=True)
    )
    for size in range(1, m.arcs.num_demands + 1):
        for combo in itertools.combinations(triples, size):
            if len({d for d, _, _ in combo}) != size:
                continue
            per_unit = [sum(1 for _, u, _ in combo if u == k) for k in range(len(m.owner))]
            per_owner = [sum(1 for _, u, _ in combo if m.owner[u] == p) for p in range(3)]
            if any(n > r for n, r in zip(per_unit, m.room, strict=True)):
                continue
            if m.cap is not None and max(per_owner) > m.cap:
                continue
            cost = sum(c for _, _, c in combo)
            if size > best[0] or (size == best[0] and cost < best[1]):
                best = (size, cost)
    return best


@settings(max_examples=200, deadline=None)
@given(m=markets())
def test_capped_flow_equals_brute_force(m: Market) -> None:
    result = match_units_capped(m.arcs, m.owner, cap=m.cap, unit_capacity=m.room)
    assert (result.matched, result.objective) == brute_force(m)
    used = result.unit_of_demand[result.unit_of_demand != UNMATCHED].tolist()
    for unit in set(used):
        assert used.count(unit) <= m.room[unit]
    if m.cap is not None:
        owners = [m.owner[u] for u in used]
        assert all(owners.count(p) <= m.cap for p in set(owners))


def test_provider_cap_rounds_up_and_never_reaches_zero() -> None:
    assert provider_cap(None, 10) is None
    assert provider_cap(0.25, 10) == 3
    assert provider_cap(0.01, 10) == 1
