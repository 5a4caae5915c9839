"""Candidate generation from the database: the feasible offers of capacity for each demand.

Filters run in a fixed order (place, attributes, eligibility, price, free window) and each
demand keeps the count that survived every step, so an empty result names its reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.domain.availability import Interval
from sparecap.domain.categories import satisfies
from sparecap.domain.demands import QuantityUnit, UnmatchedReason, quantity_duration
from sparecap.domain.matching.costs import (
    CostBreakdown,
    CostWeights,
    delay_cost,
    distance_cost,
    list_price,
)
from sparecap.domain.matching.windows import align_up, fits_rules
from sparecap.services.categories import schema_of
from sparecap.services.context import ServiceContext
from sparecap.services.demands import remaining
from sparecap.services.free_capacity import Fit, ResourceFree, load_free_capacity
from sparecap.services.resources import WITH_DETAILS
from sparecap.services.spatial import resources_near

# Units of one resource offered to one demand: enough to ride out a race or two for the first.
UNITS_PER_RESOURCE = 3
# Resources with a free window offered to one demand, cheapest first (each with up to
# UNITS_PER_RESOURCE units). The issue sizes markets at about 20 candidates per demand.
# Measured on bench/matching_round.py: capping offers at 20 instead (about 7 hubs) cut the
# round's matches from 6,000 to 1,610; 20 resources keep them.
MAX_RESOURCES = 20
DAY_SECONDS = 86400
# Filter stages, in order; a demand's reason is the first stage nothing survived.
STAGES: tuple[tuple[str, UnmatchedReason], ...] = (
    ("in_radius", UnmatchedReason.NO_CAPACITY_IN_RADIUS),
    ("attributes", UnmatchedReason.ATTRIBUTES_NOT_MET),
    ("eligible", UnmatchedReason.NOT_ELIGIBLE),
    ("price", UnmatchedReason.ABOVE_PRICE_CEILING),
    ("window", UnmatchedReason.NO_FREE_WINDOW),
)


class Eligibility(Protocol):
    """May this demander deal with this provider? The hook credit gating will plug into."""

    def __call__(self, session: Session, *, demander_id: int, provider_id: int) -> bool: ...


def allow_all(session: Session, *, demander_id: int, provider_id: int) -> bool:
    del session, demander_id, provider_id
    return True


@dataclass(frozen=True, slots=True)
class Offer:
    """Capacity one unit can give one demand: `quantity` in the demand's unit over `window`.

    capacity is what the unit has left for the round in the same unit as the solver counts
    it: bookings of quantity 1 at once for time demands, pieces for lines.
    """

    demand_id: int
    resource_id: int
    unit_id: int
    provider_id: int
    window: Interval
    quantity: int
    capacity: int
    price_minor: int
    distance_km: float | None
    cost: CostBreakdown
    # The resource's free time this offer was cut from: the round's scheduling pass reads the
    # unit's whole free time there to queue several demands on it.
    source: ResourceFree = field(compare=False, repr=False)


@dataclass(slots=True)
class DemandCandidates:
    demand: Demand
    offers: list[Offer] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # The offered resources themselves. The session's identity map holds rows weakly; keeping
    # them here lets the holds that follow find them there instead of reading each one again.
    resources: list[Resource] = field(default_factory=list)

    @property
    def reason(self) -> UnmatchedReason | None:
        for stage, why in STAGES:
            if self.counts.get(stage, 0) == 0:
                return why
        return None


@dataclass(frozen=True, slots=True)
class _Need:
    """The demand's terms as plain values: the filters read them for every candidate pair, and
    ORM attribute access costs several times a plain slot's."""

    quantity: int
    unit: QuantityUnit
    ceiling: int
    currency: str

    @classmethod
    def of(cls, demand: Demand) -> _Need:
        unit = QuantityUnit(demand.quantity_unit)
        return cls(remaining(demand), unit, demand.max_price_minor, demand.currency)


@dataclass(frozen=True, slots=True)
class _Ask:
    """What the window filter reads of a demand, for every unit of every resource it passed."""

    id: int
    earliest_start: datetime
    deadline: datetime
    splittable: bool
    min_lot: int
    need: _Need

    @classmethod
    def of(cls, d: Demand) -> _Ask:
        return cls(d.id, d.earliest_start, d.deadline, d.splittable, d.min_lot, _Need.of(d))

    @property
    def quantity(self) -> int:
        return self.need.quantity

    @property
    def unit(self) -> QuantityUnit:
        return self.need.unit


@dataclass(frozen=True, slots=True)
class _Listing:
    price_minor: int
    price_unit: str
    currency: str
    slot_minutes: int


@dataclass(frozen=True, slots=True)
class _Row:
    """A resource as the filters read it, once per round instead of once per pair."""

    resource: Resource
    id: int
    attributes: dict[str, Any] = field(hash=False)
    provider_id: int
    listing: _Listing

    @classmethod
    def of(cls, r: Resource) -> _Row:
        listing = _Listing(r.price_minor, r.price_unit, r.currency, r.slot_minutes)
        return cls(r, r.id, r.attributes, r.provider_id, listing)


def rate_for(pieces: int, window: Interval) -> int:
    """Pieces per day a line must make over `window` to deliver `pieces` (rounded up)."""
    return -(-pieces * DAY_SECONDS // int(window.duration.total_seconds()))


def pieces_for(rate: int, window: Interval) -> int:
    return rate * int(window.duration.total_seconds()) // DAY_SECONDS


def find_candidates(
    session: Session,
    *,
    ctx: ServiceContext,
    demands: Sequence[Demand],
    weights: CostWeights,
    eligibility: Eligibility = allow_all,
) -> dict[int, DemandCandidates]:
    """Every demand's offers, cheapest first (ties: resource id, unit id)."""
    found = {d.id: DemandCandidates(d) for d in demands}
    by_category: dict[int, list[Demand]] = {}
    for d in demands:
        by_category.setdefault(d.category_id, []).append(d)
    for category_id, group in by_category.items():
        _fill_category(
            session, ctx, category_id, group, weights=weights, eligibility=eligibility, found=found
        )
    for cands in found.values():
        cands.offers.sort(key=lambda o: (o.cost.total, o.window.start, o.resource_id, o.unit_id))
    return found


def _fill_category(
    session: Session,
    ctx: ServiceContext,
    category_id: int,
    group: list[Demand],
    *,
    weights: CostWeights,
    eligibility: Eligibility,
    found: dict[int, DemandCandidates],
) -> None:
    pairs = resources_near(session, category_id=category_id, demands=group)
    if not pairs:
        return
    resources = {
        r.id: r
        for r in session.scalars(
            select(Resource)
            .options(*WITH_DETAILS)
            .where(Resource.id.in_({rid for near in pairs.values() for rid, _ in near}))
        )
    }
    schema = schema_of(next(iter(resources.values())).category)
    rows = {rid: _Row.of(r) for rid, r in resources.items()}
    passed: dict[int, list[tuple[_Row, float | None, int]]] = {}
    # Answers that repeat across the round's pairs, asked once: a round's demands share a few
    # attribute sets and demanders, its resources a few hundred providers. Eligibility is
    # taken as fixed for the length of one round.
    meets: dict[tuple[str, int], bool] = {}
    allowed: dict[tuple[int, int], bool] = {}
    prices: dict[_Need, dict[int, int | None]] = {}
    asks: dict[int, _Ask] = {}

    def attributes_met(wanted: dict[str, Any], key: str, row: _Row) -> bool:
        pair = (key, row.id)
        if pair not in meets:
            meets[pair] = satisfies(schema, row.attributes, wanted)
        return meets[pair]

    def eligible(demander: int, row: _Row) -> bool:
        pair = (demander, row.provider_id)
        if pair not in allowed:
            allowed[pair] = eligibility(session, demander_id=demander, provider_id=pair[1])
        return allowed[pair]

    for demand in group:
        ask = asks[demand.id] = _Ask.of(demand)
        need, wanted, demander = ask.need, demand.attributes, demand.demander_id
        key = json.dumps(wanted, sort_keys=True)
        counts = found[demand.id].counts
        near = pairs.get(demand.id, [])
        counts["in_radius"] = len(near)
        ok = [(rows[rid], km) for rid, km in near if rid in rows]
        ok = [(r, km) for r, km in ok if attributes_met(wanted, key, r)]
        counts["attributes"] = len(ok)
        ok = [(r, km) for r, km in ok if eligible(demander, r)]
        counts["eligible"] = len(ok)
        known = prices.setdefault(need, {})
        for r, _ in ok:
            if r.id not in known:
                known[r.id] = _unit_price(need, r.listing)
        priced = [(r, km, known[r.id]) for r, km in ok]
        passed[demand.id] = [(r, km, p) for r, km, p in priced if p is not None]
        counts["price"] = len(passed[demand.id])
    _fill_windows(session, ctx, asks, passed, weights=weights, found=found)


def _fill_windows(
    session: Session,
    ctx: ServiceContext,
    asks: dict[int, _Ask],
    passed: dict[int, list[tuple[_Row, float | None, int]]],
    *,
    weights: CostWeights,
    found: dict[int, DemandCandidates],
) -> None:
    wanted = {r.id: r.resource for ok in passed.values() for r, _, _ in ok}
    if not wanted:
        for demand_id in asks:
            found[demand_id].counts["window"] = 0
        return
    span = Interval(
        min(a.earliest_start for a in asks.values()), max(a.deadline for a in asks.values())
    )
    free = load_free_capacity(
        session, resources=list(wanted.values()), span=span, now=ctx.clock.now()
    )
    cache: _SlotCache = {}
    for demand_id, ask in asks.items():
        offers = _cheapest_offers(ask, passed[demand_id], free, weights, cache)
        found[demand_id].offers = offers
        found[demand_id].resources = [r.resource for r, _, _ in passed[demand_id]]
        found[demand_id].counts["window"] = len(offers)


def _cheapest_offers(
    demand: _Ask,
    passed: list[tuple[_Row, float | None, int]],
    free: dict[int, ResourceFree],
    weights: CostWeights,
    cache: _SlotCache,
) -> list[Offer]:
    """Offers from the demand's MAX_RESOURCES cheapest resources that have a free window.

    Resources go in order of their cost before delay (price and distance). Capping resources,
    not offers, keeps each demand's choices spread over several providers: a demand offered
    only the units of the two cheapest hubs loses them all when its neighbours want them too.
    """
    ranked = sorted(
        passed,
        key=lambda p: (weights.price * p[2] + weights.per_km * (p[1] or 0.0), p[0].id),
    )
    offers: list[Offer] = []
    used = 0
    for row, km, price in ranked:
        found = _offers(demand, free[row.id], km, price, weights, cache)
        if found:
            offers.extend(found)
            used += 1
            if used == MAX_RESOURCES:
                break
    return offers


def _unit_price(need: _Need, listing: _Listing) -> int | None:
    """The listing's price for the whole remaining quantity, if it is under the ceiling."""
    if listing.currency != need.currency:
        return None
    if need.unit is QuantityUnit.PIECES:
        if listing.price_unit != "piece":
            return None  # a line quotes per piece; hour or day prices are not comparable
        total = listing.price_minor * need.quantity
    elif listing.price_unit == "piece":
        return None  # output lines are not rented by the hour
    else:
        duration = quantity_duration(need.unit, need.quantity, listing.slot_minutes)
        assert duration is not None
        total = list_price(listing.price_minor, listing.price_unit, duration)
    return total if total <= need.ceiling * need.quantity else None


def _offers(  # noqa: PLR0917 - a demand, a resource and what is known of the pair
    demand: _Ask,
    rf: ResourceFree,
    km: float | None,
    price: int,
    weights: CostWeights,
    cache: _SlotCache,
) -> list[Offer]:
    if rf.bookable is None:
        return []
    fixed = _Fixed(
        weights.price * price if demand.unit is not QuantityUnit.PIECES else 0,
        distance_cost(weights, km or 0.0),
        None if km is None else round(km, 3),
        weights,
    )
    if demand.unit is QuantityUnit.PIECES:
        return _piece_offers(demand, rf, fixed)
    return _time_offers(demand, rf, price, fixed, cache)


@dataclass(frozen=True, slots=True)
class _Fixed:
    """The parts of an offer's cost that are the same for every unit of one resource."""

    price: int
    distance: int
    km: float | None
    weights: CostWeights


# A unit's earliest window for a demand's stretch, with the delay cost of starting there.
_Slot = tuple[Fit, int]
# Slots by (resource, earliest start, deadline, quantity unit, quantity): a round's demands
# ask for a few stretches, so the same slots serve many of them.
_SlotCache = dict[tuple[int, datetime, datetime, QuantityUnit, int], list[_Slot]]


def _time_offers(
    demand: _Ask, rf: ResourceFree, price: int, fixed: _Fixed, cache: _SlotCache
) -> list[Offer]:
    """One unit for the whole stretch, at each unit's earliest free window."""
    key = (rf.resource_id, demand.earliest_start, demand.deadline, demand.unit, demand.quantity)
    slots = cache.get(key)
    if slots is None:
        slots = cache[key] = _time_slots(demand, rf, fixed.weights)
    if not slots:
        return []
    # Each demand starts at a different unit, so the units past UNITS_PER_RESOURCE are offered
    # to someone: started at the first unit, all demands would compete for the same three.
    turn = demand.id % len(slots)
    qty = demand.quantity
    # Offer built in place, positionally: a round makes hundreds of thousands of them.
    return [
        Offer(demand.id, rf.resource_id, fit.unit_id, rf.provider_id, fit.window, qty, fit.room,
              price, fixed.km, CostBreakdown(fixed.price, fixed.distance, delay), rf)
        for fit, delay in (slots[turn:] + slots[:turn])[:UNITS_PER_RESOURCE]
    ]  # fmt: skip


def _time_slots(demand: _Ask, rf: ResourceFree, weights: CostWeights) -> list[_Slot]:
    assert rf.bookable is not None
    duration = quantity_duration(demand.unit, demand.quantity, rf.rules.slot_minutes)
    if duration is None or not fits_rules(duration, rf.rules):
        return []
    start = max(demand.earliest_start, rf.bookable.start)
    if start + duration > demand.deadline:
        return []
    fits = rf.fitting(Interval(start, demand.deadline), duration)
    return [(f, delay_cost(weights, demand.earliest_start, f.window.start)) for f in fits]


def _piece_offers(demand: _Ask, rf: ResourceFree, fixed: _Fixed) -> list[Offer]:
    """Output of pooled lines over the demand's whole window, up to what each line has left."""
    assert rf.bookable is not None
    window = _piece_window(demand, rf)
    if window is None:
        return []
    offers: list[Offer] = []
    for unit in rf.units:
        if unit.exclusive or not any(w.contains(window) for w in unit.free):
            continue
        room = pieces_for(unit.free_rate(window), window)
        pieces = min(demand.quantity, room)
        if pieces < demand.min_lot or (not demand.splittable and pieces < demand.quantity):
            continue
        price = rf.resource.price_minor * pieces
        cost = CostBreakdown(
            fixed.weights.price * price,
            fixed.distance,
            delay_cost(fixed.weights, demand.earliest_start, window.start),
        )
        offers.append(
            Offer(
                demand.id,
                rf.resource_id,
                unit.unit_id,
                rf.provider_id,
                window,
                pieces,
                room,
                price,
                fixed.km,
                cost,
                rf,
            )
        )
    return offers


def _piece_window(demand: _Ask, rf: ResourceFree) -> Interval | None:
    """The demand's window cut to whole slots of the line's grid, starting when it may."""
    assert rf.bookable is not None
    start = align_up(max(demand.earliest_start, rf.bookable.start), rf.zone, rf.rules.slot_minutes)
    slot = timedelta(minutes=rf.rules.slot_minutes)
    slots = (demand.deadline - start) // slot if demand.deadline > start else 0
    if rf.rules.max_duration is not None:
        slots = min(slots, rf.rules.max_duration // slot)
    if slots <= 0 or slots * slot < rf.rules.min_duration or start > rf.bookable.end:
        return None
    return Interval(start, start + slots * slot)


def per_piece_cost(offer: Offer) -> int:
    """A line's cost per piece for the flow model: price per piece plus its share of the rest.

    Distance and delay are fixed per line used; spreading them over the pieces offered keeps
    the model a flow (a fixed charge per line would make it a mixed-integer program).
    """
    fixed = offer.cost.distance + offer.cost.delay
    return offer.cost.price // offer.quantity + math.ceil(fixed / offer.quantity)
