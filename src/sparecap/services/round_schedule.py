"""A round's second pass for time demands: queueing several on one exclusive unit.

The min-cost flow gives each exclusive unit at most one new demand per round, at the unit's
earliest free window. A CNC machine free all day could serve four two-hour jobs, so the
demands the flow left without a unit go to the interval scheduling model
(domain/matching/scheduling.py): their candidate units with the free time the flow's picks
leave, buffers kept around every job, starts on each resource's slot grid, and the cost of
starting late. The flow's picks stay as they are, so this pass only ever adds matches.

With a fairness cap, each provider's units take at most what the cap leaves it after the
flow's picks. Limits, on purpose: a demand is scheduled only on the UNITS_PER_JOB cheapest
units that offer it its most common duration, and at most MAX_JOBS demands enter the model,
oldest first, so a round stays within its budget.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sparecap.domain.availability import Interval, subtract
from sparecap.domain.matching.costs import CostWeights, offer_cost
from sparecap.domain.matching.scheduling import Job, Machine, SchedulingInstance, solve_schedule
from sparecap.domain.matching.windows import align_up
from sparecap.services.candidates import DemandCandidates, Offer
from sparecap.services.free_capacity import ResourceFree, UnitFree

MAX_JOBS = 2_000
# A demand is queued on at most this many of its cheapest units. Measured on
# bench/matching_round.py (2,000 queued demands, up to 100 units each): all units took 3.3 s
# CPU; 40 took 1.9 s and placed the same 2,000 at 0.002 % more cost; 20 placed 1,979.
UNITS_PER_JOB = 40
SECONDS = 3.0
MINUTE = timedelta(minutes=1)
# The model charges lateness per minute; per_hour_late is per hour, so price and distance are
# counted in sixtieths to keep every cost an exact integer.
PER_HOUR = 60


@dataclass(slots=True)
class Scheduled:
    """Per demand id, the offer the model placed it in; the demands left out only because
    every provider they could queue with has used its share (capped); the solve's figures."""

    offers: dict[int, Offer] = field(default_factory=dict)
    capped: set[int] = field(default_factory=set)
    solver: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Model:
    origin: datetime
    taken: dict[int, list[Interval]]
    units: dict[int, int] = field(default_factory=dict)
    machines: list[Machine] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    demands: list[DemandCandidates] = field(default_factory=list)
    # Per job, by machine: the offer (of a unit class) and the unit of it the machine is.
    offers: list[dict[int, tuple[Offer, int]]] = field(default_factory=list)

    def unit(self, offer: Offer, unit_id: int) -> int:
        u = self.units.get(unit_id)
        if u is None:
            u = self.units[unit_id] = len(self.machines)
            taken = self.taken.get(unit_id, [])
            self.machines.append(_machine(offer.source, _unit_free(offer, unit_id), taken,
                                          self.origin))  # fmt: skip
        return u

    def add(self, c: DemandCandidates, offers: list[Offer], weights: CostWeights) -> None:
        duration = Counter(o.window.duration for o in offers).most_common(1)[0][0]
        units = ((o, unit) for o in offers if o.window.duration == duration for unit in o.unit_ids)
        mine = {self.unit(o, unit): (o, unit) for o, unit in islice(units, UNITS_PER_JOB)}
        self.jobs.append(
            Job(
                duration=duration // MINUTE,
                release=_minutes_up(c.demand.earliest_start - self.origin),
                deadline=(c.demand.deadline - self.origin) // MINUTE,
                costs={
                    u: PER_HOUR * (o.cost.price + o.cost.distance) for u, (o, _) in mine.items()
                },
                late_cost=weights.per_hour_late,
            )
        )
        self.demands.append(c)
        self.offers.append(mine)


def schedule_leftovers(
    left: Sequence[DemandCandidates],
    picks: Sequence[Offer],
    weights: CostWeights,
    provider_cap: int | None = None,
) -> Scheduled:
    """Place demands the flow left unmatched on exclusive units, around the flow's `picks`,
    each provider within what `provider_cap` leaves it after them."""
    queued = [(c, [o for o in c.offers if _unit_free(o, o.unit_id).exclusive]) for c in left]
    queued = [(c, offers) for c, offers in queued if offers][:MAX_JOBS]
    if not queued:
        return Scheduled()
    taken: dict[int, list[Interval]] = {}
    for o in picks:
        taken.setdefault(o.unit_id, []).append(o.window)
    first = min(c.demand.earliest_start for c, _ in queued)
    model = _Model(first.replace(minute=0, second=0, microsecond=0), taken)
    for c, offers in queued:
        model.add(c, offers, weights)
    limits = {}
    if provider_cap is not None:
        held = Counter(o.provider_id for o in picks)
        limits = {m.owner: max(0, provider_cap - held[m.owner]) for m in model.machines
                  if m.owner is not None}  # fmt: skip
    result = solve_schedule(
        SchedulingInstance.build(model.jobs, model.machines, limits), time_limit=SECONDS
    )
    scheduled = Scheduled()
    for p in result.placements:
        demand, (offer, unit) = model.demands[p.job].demand, model.offers[p.job][p.unit]
        start = model.origin + p.start * MINUTE
        cost = offer_cost(
            weights,
            price_minor=offer.price_minor,
            distance_km=offer.distance_km or 0.0,
            earliest_start=demand.earliest_start,
            start=start,
        )
        window = Interval(start, start + offer.window.duration)
        scheduled.offers[demand.id] = dataclasses.replace(offer.on(unit), window=window, cost=cost)
    if limits:
        placed = Counter(o.provider_id for o in scheduled.offers.values())
        spent = {p for p, limit in limits.items() if placed[p] >= limit}
        scheduled.capped = {
            c.demand.id
            for c, offers in queued
            if c.demand.id not in scheduled.offers and {o.provider_id for o in offers} <= spent
        }
    scheduled.solver = {
        "solver": "interval_scheduling_cp_sat",
        "status": result.status.value,
        "jobs": len(model.jobs),
        "units": len(model.machines),
        "placed": result.placed,
        "objective": sum(o.cost.total for o in scheduled.offers.values()),
        "seconds": round(result.wall_seconds, 4),
    }
    return scheduled


def _unit_free(offer: Offer, unit_id: int) -> UnitFree:
    return next(u for u in offer.source.units if u.unit_id == unit_id)


def _minutes_up(span: timedelta) -> int:
    return -(-span // MINUTE)


def _machine(rf: ResourceFree, unit: UnitFree, taken: list[Interval], origin: datetime) -> Machine:
    """The unit's free time less the flow's picks, in minutes from `origin`; its provider owns
    it.

    A pick [s, e) blocks [s - before, e + after), and a new job must keep its own buffers
    clear of that, so the pick is cut out widened by both buffers on each side.
    """
    rules = rf.rules
    assert rf.bookable is not None  # an offer exists only where a booking may start
    pad = rules.buffer_before + rules.buffer_after
    free = subtract(unit.free, [Interval(w.start - pad, w.end + pad) for w in taken])
    windows = []
    for iv in free:
        lo = _minutes_up(max(iv.start, rf.bookable.start, origin) - origin)
        hi = (iv.end - origin) // MINUTE
        if lo < hi:
            windows.append((lo, hi))
    step = rules.slot_minutes
    return Machine(
        tuple(windows),
        step=step,
        phase=_minutes_up(align_up(origin, rf.zone, step) - origin) % step,
        before=rules.buffer_before // MINUTE,
        after=rules.buffer_after // MINUTE,
        owner=rf.provider_id,  # the fairness cap counts matches per provider
    )
