"""Unit matching, exact: a maximum matching, its Dulmage-Mendelsohn classes, an auction in each.

Within a class every maximum matching fills one side completely: the units of the demand
side (more demands than units want them), the demands of the unit side and of the balanced
class. The most pairs at the least cost is then, per class, the least-cost assignment of every
node of that side (auction.py); arcs between classes are in no maximum matching. The classes
share no node, so they are solved independently: the largest in a thread of its own while the
caller solves the rest (the compiled code runs without the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from sparecap.domain.matching.auction import assign_all_persons, fits
from sparecap.domain.matching.bipartite import (
    BALANCED,
    DEMAND_SIDE,
    UNIT_SIDE,
    adjacency,
    class_arcs,
    classes,
    maximum_matching,
)
from sparecap.domain.matching.core import BoolArray, IndexArray, IntArray


class _Class(NamedTuple):
    """One class's arcs, seen from the side its matchings fill (persons) to the other."""

    person_of_arc: IndexArray
    object_of_arc: IndexArray
    cost: IntArray
    arcs: IndexArray
    persons_total: int
    objects_total: int


def auction_matching(
    num_demands: int,
    num_units: int,
    demand: IndexArray,
    unit: IndexArray,
    cost: IntArray,
    *,
    threads: bool = True,
) -> BoolArray | None:
    """Which arcs a least-cost maximum matching uses; None where the auction declines: costs
    too wide for its int64 prices, or (never seen) a matching it could not prove maximum."""
    d_start, d_adj, _ = adjacency(num_demands, demand, unit)
    u_start, u_adj, _ = adjacency(num_units, unit, demand)
    unit_of, demand_of = maximum_matching(d_start, d_adj, u_start, u_adj)
    demand_class, unit_class, maximum = classes(d_start, d_adj, u_start, u_adj, unit_of, demand_of)
    if not maximum:
        return None
    by_class = class_arcs(demand, unit, demand_class, unit_class)
    jobs = [
        _Class(unit, demand, cost, by_class[DEMAND_SIDE], num_units, num_demands),
        _Class(demand, unit, cost, by_class[UNIT_SIDE], num_demands, num_units),
        _Class(demand, unit, cost, by_class[BALANCED], num_demands, num_units),
    ]
    jobs = sorted((j for j in jobs if j.arcs.size), key=lambda j: -j.arcs.size)
    if not all(fits(_span(j), j.objects_total) for j in jobs):
        return None
    used = np.zeros(demand.size, np.bool_)  # the classes mark disjoint arcs
    if threads and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=1) as pool:
            largest = pool.submit(assign_all_persons, *jobs[0], used)
            done = [assign_all_persons(*job, used) for job in jobs[1:]]
            done.append(largest.result())
    else:
        done = [assign_all_persons(*job, used) for job in jobs]
    return used if all(done) else None


def _span(job: _Class) -> int:
    costs = job.cost[job.arcs]
    return int(costs.max() - costs.min())
