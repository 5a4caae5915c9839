"""Candidate generation from the database: the feasible offers of capacity for each demand.

Filters run in a fixed order (place, attributes, eligibility, price, free window) and each
demand keeps the count that survived every step, so an empty result names its reason.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of
from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.domain.availability import Interval
from sparecap.domain.categories import satisfies
from sparecap.domain.demands import QuantityUnit, UnmatchedReason, quantity_duration
from sparecap.domain.matching.core import BoolArray, FloatArray, IntArray
from sparecap.domain.matching.costs import (
    CostBreakdown,
    CostWeights,
    delay_cost,
    list_price,
)
from sparecap.domain.matching.windows import align_up, fits_rules
from sparecap.domain.money import MAX_MINOR
from sparecap.services.categories import schema_of
from sparecap.services.context import ServiceContext
from sparecap.services.demands import remaining
from sparecap.services.free_capacity import Fit, ResourceFree, load_free_capacity
from sparecap.services.resources import WITH_PLAN
from sparecap.services.spatial import NearPairs, resources_near

# Resources with a free window offered to one demand, cheapest first (each with all its units,
# as classes of interchangeable ones). The issue sizes markets at about 20 candidates per
# demand. Measured on bench/matching_round.py: capping offers at 20 instead (about 7 hubs) cut
# the round's matches from 6,000 to 1,610; 20 resources keep them.
MAX_RESOURCES = 20
DAY_SECONDS = 86400
# Filter stages, in order; a demand's reason is the first stage nothing survived.
STAGES: tuple[tuple[str, UnmatchedReason], ...] = (
    ("in_radius", UnmatchedReason.NO_CAPACITY_IN_RADIUS),
    ("attributes", UnmatchedReason.ATTRIBUTES_NOT_MET),
    ("eligible", UnmatchedReason.NOT_ELIGIBLE),
    ("priced_alike", UnmatchedReason.NO_COMPARABLE_PRICE),
    ("price", UnmatchedReason.ABOVE_PRICE_CEILING),
    ("window", UnmatchedReason.NO_FREE_WINDOW),
)


class Eligibility(Protocol):
    """May this demander deal with this provider? The hook credit gating will plug into."""

    def __call__(self, session: Session, *, demander_id: int, provider_id: int) -> bool: ...


def allow_all(session: Session, *, demander_id: int, provider_id: int) -> bool:
    del session, demander_id, provider_id
    return True


# Not frozen: a round builds hundreds of thousands of offers and a frozen dataclass takes five
# times as long to build (each field set through object.__setattr__). Treat them as values:
# derive changed ones with dataclasses.replace.
@dataclass(slots=True)
class Offer:
    """Capacity a class of interchangeable units can give one demand: `quantity` in the
    demand's unit over `window` on any one of `unit_ids`.

    capacity is what the class has left for the round in the same unit as the solver counts
    it: bookings of quantity 1 at once for time demands (one per idle unit of the class, or a
    pooled unit's room), pieces for lines. A hold takes one unit: see `on`.
    """

    demand_id: int
    resource_id: int
    unit_ids: tuple[int, ...]
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

    @property
    def unit_id(self) -> int:
        """The unit a hold of this offer takes: the first of its class."""
        return self.unit_ids[0]

    def on(self, unit_id: int) -> Offer:
        """The same offer on one unit of its class (only exclusive units share a class, so
        that unit takes one booking)."""
        if self.unit_ids == (unit_id,):
            return self
        return dataclasses.replace(self, unit_ids=(unit_id,), capacity=1)

    def each_unit(self) -> list[Offer]:
        """The offer once per unit of its class, in unit order."""
        return [self.on(u) for u in self.unit_ids]


@dataclass(slots=True)
class DemandCandidates:
    demand: Demand
    offers: list[Offer] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

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
    # What a unit's free slots for the demand depend on: demands asking the same share them.
    stretch: tuple[datetime, datetime, QuantityUnit, int]

    @classmethod
    def of(cls, d: Demand) -> _Ask:
        need = _Need.of(d)
        stretch = (d.earliest_start, d.deadline, need.unit, need.quantity)
        return cls(d.id, d.earliest_start, d.deadline, d.splittable, d.min_lot, need, stretch)

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
    near = resources_near(session, category_id=category_id, demands=group)
    counts = [found[d.id].counts for d in group]
    _count(counts, "in_radius", near.demand)
    loaded = session.scalars(
        select(Resource)
        .options(*WITH_PLAN)
        .where(one_of(session, Resource.id, np.unique(near.resource).tolist()))
    ).all()
    rows = [_Row.of(r) for r in sorted(loaded, key=lambda r: r.id)]
    asks = [_Ask.of(x) for x in group]
    passed = _filter(session, group, asks, rows, near, counts, eligibility)
    if passed.demand.size:
        _fill_windows(session, ctx, asks, rows, passed, weights=weights, found=found)
    for x, c in zip(group, counts, strict=True):
        c["window"] = len(found[x.id].offers)


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Pairs left by the filters: demand position, row position, km (NaN: none) and price."""

    demand: IntArray
    row: IntArray
    km: FloatArray
    price: IntArray


def _filter(  # noqa: PLR0917 - the category's demands, resources and what is asked of them
    session: Session,
    group: list[Demand],
    asks: list[_Ask],
    rows: list[_Row],
    near: NearPairs,
    counts: list[dict[str, int]],
    eligibility: Eligibility,
) -> _Pairs:
    """The filters over every (demand, resource) pair of the category at once, as arrays.

    A round's pairs run to hundreds of thousands while its demands share a few attribute
    sets, needs and demanders and its resources a few hundred providers: each filter asks its
    question once per distinct key that decides the answer, and spreads the answer over the
    pairs. A demand's count after each stage is recorded as the stage passes.
    """
    if not rows:  # every resource in range was deactivated since the spatial read
        no = np.zeros(0, np.int64)
        return _Pairs(no, no, np.zeros(0, np.float64), no)
    row_ids = np.array([r.id for r in rows], np.int64)
    at = np.minimum(np.searchsorted(row_ids, near.resource), len(rows) - 1)
    ok = row_ids[at] == near.resource
    d, r, km = near.demand[ok], at[ok], near.km[ok]

    schema = schema_of(rows[0].resource.category)
    wanted = _codes([json.dumps(x.attributes, sort_keys=True) for x in group])
    ok = _ask_once(wanted.code[d], r, lambda k, i: satisfies(
        schema, rows[i].attributes, group[wanted.first[k]].attributes))  # fmt: skip
    d, r, km = d[ok], r[ok], km[ok]
    _count(counts, "attributes", d)

    # Eligibility is taken as fixed for the length of one round.
    demander = np.array([x.demander_id for x in group], np.int64)
    provider = np.array([x.provider_id for x in rows], np.int64)
    ok = _ask_once(demander[d], provider[r], lambda a, b: eligibility(
        session, demander_id=a, provider_id=b))  # fmt: skip
    d, r, km = d[ok], r[ok], km[ok]
    _count(counts, "eligible", d)

    needs = _codes(a.need for a in asks)
    ok = _ask_once(needs.code[d], r, lambda n, i: _priced_alike(
        asks[needs.first[n]].need, rows[i].listing))  # fmt: skip
    d, r, km = d[ok], r[ok], km[ok]
    _count(counts, "priced_alike", d)

    price_of: dict[tuple[int, int], int | None] = {}

    def priced(n: int, i: int) -> bool:
        price_of[n, i] = _unit_price(asks[needs.first[n]].need, rows[i].listing)
        return price_of[n, i] is not None

    ok = _ask_once(needs.code[d], r, priced)
    d, r, km = d[ok], r[ok], km[ok]
    _count(counts, "price", d)
    price = [price_of[n, i] for n, i in zip(needs.code[d].tolist(), r.tolist(), strict=True)]
    return _Pairs(d, r, km, np.array(price, np.int64))


def _fill_windows(
    session: Session,
    ctx: ServiceContext,
    asks: list[_Ask],
    rows: list[_Row],
    passed: _Pairs,
    *,
    weights: CostWeights,
    found: dict[int, DemandCandidates],
) -> None:
    """Offers from each demand's MAX_RESOURCES cheapest resources that have a free window.

    Resources go in order of their cost before delay (price and distance), then id. Capping
    resources, not offers, keeps each demand's choices spread over several providers: a
    demand offered only the units of the two cheapest hubs loses them all when its
    neighbours want them too.
    """
    row_ids = np.array([r.id for r in rows], np.int64)
    rank = weights.price * passed.price + weights.per_km * np.nan_to_num(passed.km)
    order = np.lexsort((row_ids[passed.row], rank, passed.demand))
    d = passed.demand[order]
    span = Interval(min(a.earliest_start for a in asks), max(a.deadline for a in asks))
    free = load_free_capacity(
        session,
        resources=[rows[i].resource for i in np.unique(passed.row).tolist()],
        span=span,
        now=ctx.clock.now(),
    )
    km = passed.km[order]
    # Distance costs as distance_cost computes them (NaN: no place, no cost), for every pair
    # at once.
    distance = np.ceil(weights.per_km * np.maximum(np.nan_to_num(km), 0.0)).astype(np.int64)
    pairs = zip(
        d.tolist(),
        [free[rows[i].id] for i in passed.row[order].tolist()],
        km.tolist(),
        distance.tolist(),
        passed.price[order].tolist(),
        strict=True,
    )
    cache: _SlotCache = {}
    offers: list[Offer] = []
    last, used = -1, 0
    for who, rf, place, far, price in pairs:
        if who != last:
            ask, last = asks[who], who
            offers, used = found[ask.id].offers, 0
        if used == MAX_RESOURCES or rf.bookable is None:
            continue
        km_shown = None if math.isnan(place) else round(place, 3)
        if ask.unit is QuantityUnit.PIECES:
            got = _piece_offers(ask, rf, far, km_shown, weights)
            offers.extend(got)
            used += bool(got)
            continue
        # One unit for the whole stretch, at each class's earliest free window. Built here,
        # positionally: a round makes hundreds of thousands of these offers.
        key = (rf.resource_id, ask.stretch)
        slots = cache.get(key)
        if slots is None:
            slots = cache[key] = _time_slots(ask, rf, weights)
        paid = weights.price * price
        for fit, delay in slots:
            offers.append(Offer(ask.id, rf.resource_id, fit.unit_ids, rf.provider_id, fit.window,
                                ask.quantity, fit.room, price, km_shown,
                                CostBreakdown(paid, far, delay), rf))  # fmt: skip
        used += bool(slots)


@dataclass(frozen=True, slots=True)
class _Codes:
    """Distinct values numbered in order of first sight: code[i] is value i's number and
    first[n] the position where number n was first seen."""

    code: IntArray
    first: list[int]


def _codes(values: Iterable[Hashable]) -> _Codes:
    numbers: dict[Hashable, int] = {}
    first: list[int] = []
    code = []
    for i, v in enumerate(values):
        n = numbers.get(v)
        if n is None:
            n = numbers[v] = len(first)
            first.append(i)
        code.append(n)
    return _Codes(np.array(code, np.int64), first)


def _ask_once(a: IntArray, b: IntArray, question: Callable[[int, int], bool]) -> BoolArray:
    """question(a[k], b[k]) for every k, asked once per distinct pair."""
    if a.size == 0:
        return np.zeros(0, np.bool_)
    # One integer per pair (both are non-negative ids or codes): np.unique on rows is slower.
    width = int(b.max()) + 1
    keys, back = np.unique(a * width + b, return_inverse=True)
    answers = [question(k // width, k % width) for k in keys.tolist()]
    return np.array(answers, np.bool_)[back]


def _count(counts: list[dict[str, int]], stage: str, demand: IntArray) -> None:
    """Record how many pairs of each demand are left after `stage`."""
    for c, n in zip(counts, np.bincount(demand, minlength=len(counts)).tolist(), strict=True):
        c[stage] = n


def _priced_alike(need: _Need, listing: _Listing) -> bool:
    """Whether the listing's price compares with the demand's ceiling: the same currency, and
    per piece for pieces (a line quotes per piece; hour or day prices are not comparable), by
    time for hours and slots (output lines are not rented by the hour)."""
    per_piece = listing.price_unit == "piece"
    return listing.currency == need.currency and per_piece == (need.unit is QuantityUnit.PIECES)


def _unit_price(need: _Need, listing: _Listing) -> int | None:
    """The listing's price for the whole remaining quantity, if it is under the ceiling (the
    two are priced alike)."""
    if need.unit is QuantityUnit.PIECES:
        total = listing.price_minor * need.quantity
    else:
        duration = quantity_duration(need.unit, need.quantity, listing.slot_minutes)
        assert duration is not None
        total = list_price(listing.price_minor, listing.price_unit, duration)
    # Past MAX_MINOR no booking can carry the price (nor, far past it, an int64 array).
    return total if total <= min(need.ceiling * need.quantity, MAX_MINOR) else None


# A class's earliest window for a demand's stretch, with the delay cost of starting there.
_Slot = tuple[Fit, int]
# Slots by resource and stretch: a round's demands ask for a few stretches, so the same slots
# serve many of them.
_SlotCache = dict[tuple[int, tuple[datetime, datetime, QuantityUnit, int]], list[_Slot]]


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


def _piece_offers(
    demand: _Ask, rf: ResourceFree, distance: int, km: float | None, weights: CostWeights
) -> list[Offer]:
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
            weights.price * price,
            distance,
            delay_cost(weights, demand.earliest_start, window.start),
        )
        offers.append(
            Offer(
                demand.id,
                rf.resource_id,
                (unit.unit_id,),
                rf.provider_id,
                window,
                pieces,
                room,
                price,
                km,
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
