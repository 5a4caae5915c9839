"""Order splitting: divisible production orders spread over lines within capacity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# ortools ships .pyi files for its graph solvers but no py.typed marker, so mypy cannot see them.
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

from sparecap.domain.matching.core import (
    IntArray,
    MatchingInputError,
    SolveStatus,
    Stopwatch,
    as_int_array,
)


@dataclass(frozen=True, slots=True)
class Allocation:
    order: int
    line: int
    quantity: int
    unit_cost: int

    @property
    def cost(self) -> int:
        return self.quantity * self.unit_cost


@dataclass(frozen=True, slots=True, eq=False)
class TransportResult:
    """The cheapest way to make as many pieces as the lines allow.

    allocations are sorted by order, then line; shortfall[k] is what order k could not place.
    objective is the total cost of the allocations; bound equals it (the flow is exact).
    """

    status: SolveStatus
    objective: int
    bound: int
    allocated: int
    allocations: tuple[Allocation, ...]
    shortfall: IntArray
    wall_seconds: float

    @property
    def complete(self) -> bool:
        return not self.shortfall.any()


def split_orders(
    quantities: ArrayLike,
    capacities: ArrayLike,
    *,
    order: ArrayLike,
    line: ArrayLike,
    unit_cost: ArrayLike,
) -> TransportResult:
    """Place as many pieces as possible, then at least cost: order[k] may run on line[k].

    quantities[o] pieces per order, capacities[l] pieces per line within the window, unit_cost[k]
    an integer per piece on arc k. A minimum lot size per line is not supported: it makes the
    problem a mixed-integer program, which this exact flow model cannot express.
    """
    watch = Stopwatch()
    qty, cap = as_int_array(quantities, "quantities"), as_int_array(capacities, "capacities")
    o, li, c = (
        as_int_array(order, "order"),
        as_int_array(line, "line"),
        as_int_array(unit_cost, "unit_cost"),
    )
    _validate(qty, cap, o, li, c)
    if o.size == 0 or not qty.any() or not cap.any():
        return _package([], qty, watch)
    pieces = _max_flow_min_cost(qty, cap, o, li, c)
    used = np.flatnonzero(pieces > 0)
    used = used[np.lexsort((li[used], o[used]))]
    allocations = [
        Allocation(int(o[k]), int(li[k]), int(pieces[k]), int(c[k])) for k in used.tolist()
    ]
    return _package(allocations, qty, watch)


def _max_flow_min_cost(
    qty: IntArray, cap: IntArray, o: IntArray, li: IntArray, c: IntArray
) -> IntArray:
    """Pieces on each arc: order nodes supply their quantity, line nodes absorb their capacity."""
    flow = min_cost_flow.SimpleMinCostFlow()
    # An arc never needs more than the smaller of its order's quantity and its line's capacity.
    arc_cap = np.minimum(qty[o], cap[li])
    heads = (li + qty.size).astype(np.int32)
    flow.add_arcs_with_capacity_and_unit_cost(o.astype(np.int32), heads, arc_cap, c)
    nodes = np.arange(qty.size + cap.size, dtype=np.int32)
    flow.set_nodes_supplies(nodes, np.concatenate([qty, -cap]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise MatchingInputError(f"min-cost flow refused the instance: {status.name}")
    return np.asarray(flow.flows(np.arange(o.size, dtype=np.int32)), dtype=np.int64)


def _validate(qty: IntArray, cap: IntArray, o: IntArray, li: IntArray, c: IntArray) -> None:
    if not o.size == li.size == c.size:
        raise MatchingInputError("order, line and unit_cost must have the same length")
    if (qty.size and qty.min() < 0) or (cap.size and cap.min() < 0):
        raise MatchingInputError("quantities and capacities must be non-negative")
    if o.size and (o.min() < 0 or o.max() >= qty.size):
        raise MatchingInputError("an order index is out of range")
    if li.size and (li.min() < 0 or li.max() >= cap.size):
        raise MatchingInputError("a line index is out of range")


def _package(allocations: list[Allocation], qty: IntArray, watch: Stopwatch) -> TransportResult:
    placed = np.zeros(qty.size, np.int64)
    for a in allocations:
        placed[a.order] += a.quantity
    total = sum(a.cost for a in allocations)
    return TransportResult(
        status=SolveStatus.OPTIMAL,
        objective=total,
        bound=total,
        allocated=int(placed.sum()),
        allocations=tuple(allocations),
        shortfall=qty - placed,
        wall_seconds=watch.seconds(),
    )
