"""A maximum matching of demands to units and the Dulmage-Mendelsohn classes it reveals.

Compiled by numba: these loops run over millions of arcs, where Python would take minutes and
OR-Tools' general max flow took 1.6 s against 0.45 s here on the 100k x 100k bench market
(docs/benchmarks.md). Functions release the GIL, so a caller may run them in threads.
Arrays: a graph side is in compressed form, `start[i]:start[i + 1]` indexing `neighbour` (and
`arc`, the arc's index in the caller's arrays).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sparecap.domain.matching.compiled import compiled
from sparecap.domain.matching.core import IndexArray, IntArray

FREE = -1
# Dulmage-Mendelsohn classes of a node (see classes()).
BALANCED, DEMAND_SIDE, UNIT_SIDE = 0, 1, 2
ClassArray = NDArray[np.int8]


@compiled
def adjacency(
    nodes: int, tails: IndexArray, heads: IndexArray
) -> tuple[IntArray, IndexArray, IndexArray]:
    """(start, neighbour, arc): the arcs leaving each of `nodes` tail nodes, in arc order."""
    start = np.zeros(nodes + 1, np.int64)
    for k in range(tails.size):
        start[tails[k] + 1] += 1
    for i in range(nodes):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    neighbour = np.empty(tails.size, np.int32)
    arc = np.empty(tails.size, np.int32)
    for k in range(tails.size):
        at = fill[tails[k]]
        fill[tails[k]] += 1
        neighbour[at] = heads[k]
        arc[at] = k
    return start, neighbour, arc


@compiled
def maximum_matching(
    demand_start: IntArray,
    demand_adj: IndexArray,
    unit_start: IntArray,
    unit_adj: IndexArray,
) -> tuple[IndexArray, IndexArray]:
    """(unit of each demand, demand of each unit), FREE where unmatched: a maximum matching.

    Push-relabel for bipartite matching: a greedy start, then each free demand takes the unit
    with the lowest label (a lower bound on its alternating distance to a free unit), evicting
    that unit's demand, and the unit's label rises to the second lowest ("double push"). Labels
    are recomputed exactly by a breadth-first search from the free units every quarter of the
    demands' count of pushes, which is what keeps long augmenting paths cheap. A demand whose
    best label is unreachable has no augmenting path and stays free. classes() checks the
    result, so a mistake here cannot pass as a maximum matching.
    """
    demands, units = demand_start.size - 1, unit_start.size - 1
    unreachable = np.int64(2 * (demands + units) + 4)
    unit_of = np.full(demands, FREE, np.int32)
    demand_of = np.full(units, FREE, np.int32)
    for d in range(demands):
        for q in range(demand_start[d], demand_start[d + 1]):
            if demand_of[demand_adj[q]] == FREE:
                demand_of[demand_adj[q]] = d
                unit_of[d] = demand_adj[q]
                break
    label = np.zeros(units, np.int64)
    scratch = np.empty(units, np.int32)
    _relabel(unit_start, unit_adj, unit_of, demand_of, label, unreachable, scratch)
    ring = np.empty(demands + 1, np.int32)  # the free demands, first in first out
    head = tail = waiting = 0
    for d in range(demands):
        if unit_of[d] == FREE:
            ring[tail] = d
            tail += 1
            waiting += 1
    every, pushes = max(1, demands // 4), 0
    while waiting > 0:
        d = ring[head]
        head = (head + 1) % (demands + 1)
        waiting -= 1
        best = second = unreachable
        best_unit = FREE
        for q in range(demand_start[d], demand_start[d + 1]):
            here = label[demand_adj[q]]
            if here < best:
                second, best, best_unit = best, here, demand_adj[q]
            elif here < second:
                second = here
        if best >= unreachable:
            continue
        evicted = demand_of[best_unit]
        demand_of[best_unit], unit_of[d] = d, best_unit
        label[best_unit] = min(unreachable, second + 2)
        if evicted != FREE:
            unit_of[evicted] = FREE
            ring[tail] = evicted
            tail = (tail + 1) % (demands + 1)
            waiting += 1
        pushes += 1
        if pushes >= every:
            pushes = 0
            _relabel(unit_start, unit_adj, unit_of, demand_of, label, unreachable, scratch)
    return unit_of, demand_of


@compiled
def _relabel(
    unit_start: IntArray,
    unit_adj: IndexArray,
    unit_of: IndexArray,
    demand_of: IndexArray,
    label: IntArray,
    unreachable: np.int64,
    queue: IndexArray,
) -> None:
    """Each unit's label: twice its alternating distance to a free unit (breadth first)."""
    label[:] = unreachable
    head = tail = 0
    for u in range(label.size):
        if demand_of[u] == FREE:
            label[u] = 0
            queue[tail] = u
            tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for q in range(unit_start[u], unit_start[u + 1]):
            behind = unit_of[unit_adj[q]]  # the unit this neighbour would give up
            if behind != FREE and label[behind] == unreachable:
                label[behind] = label[u] + 2
                queue[tail] = behind
                tail += 1


@compiled
def classes(
    demand_start: IntArray,
    demand_adj: IndexArray,
    unit_start: IntArray,
    unit_adj: IndexArray,
    unit_of: IndexArray,
    demand_of: IndexArray,
) -> tuple[ClassArray, ClassArray, bool]:
    """(class of each demand, class of each unit, whether the matching is maximum).

    Dulmage-Mendelsohn: DEMAND_SIDE nodes are reached from a free demand by alternating paths
    (any arc to a unit, that unit's matched arc back), UNIT_SIDE nodes likewise from a free unit,
    the rest are BALANCED. Every maximum matching matches the DEMAND_SIDE units, the UNIT_SIDE
    demands and all BALANCED nodes within their own class, so an arc between two classes is
    in none. The matching is maximum exactly when no free unit is reached from a free demand
    (Berge: no augmenting path is left).
    """
    demand_class = np.zeros(demand_start.size - 1, np.int8)
    unit_class = np.zeros(unit_start.size - 1, np.int8)
    maximum = _reach(demand_start, demand_adj, unit_of, demand_of, demand_class, unit_class,
                     DEMAND_SIDE)  # fmt: skip
    _reach(unit_start, unit_adj, demand_of, unit_of, unit_class, demand_class, UNIT_SIDE)
    return demand_class, unit_class, maximum


@compiled
def _reach(
    start: IntArray,
    adj: IndexArray,
    mate_here: IndexArray,
    mate_there: IndexArray,
    class_here: ClassArray,
    class_there: ClassArray,
    mark: int,
) -> bool:
    """Mark with `mark` the nodes alternating paths reach from this side's free nodes: an arc
    to the other side, then that node's matched arc back. Returns False if a path reached a
    free node of the other side (an augmenting path)."""
    queue = np.empty(class_here.size, np.int32)
    head = tail = 0
    for i in range(class_here.size):
        if mate_here[i] == FREE:
            class_here[i] = mark
            queue[tail] = i
            tail += 1
    no_augmenting_path = True
    while head < tail:
        i = queue[head]
        head += 1
        for q in range(start[i], start[i + 1]):
            j = adj[q]
            if class_there[j] == BALANCED:
                class_there[j] = mark
                back = mate_there[j]
                if back == FREE:
                    no_augmenting_path = False
                elif class_here[back] == BALANCED:
                    class_here[back] = mark
                    queue[tail] = back
                    tail += 1
    return no_augmenting_path


def class_arcs(
    demand: IndexArray, unit: IndexArray, demand_class: ClassArray, unit_class: ClassArray
) -> dict[int, IndexArray]:
    """The arcs inside each class (those between classes are in no maximum matching)."""
    of_arc = demand_class[demand]
    inside = of_arc == unit_class[unit]
    return {
        c: np.flatnonzero(inside & (of_arc == c)).astype(np.int32)
        for c in (BALANCED, DEMAND_SIDE, UNIT_SIDE)
    }
