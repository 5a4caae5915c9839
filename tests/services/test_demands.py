"""Demands, quotes, candidates, rounds and explanations at the service layer, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import expire_demands_once, match_round_once
from sparecap.db.demands import Demand, Match, MatchRound, Quote
from sparecap.db.models import Booking, LedgerEntry, Resource, Unit
from sparecap.domain.availability import Interval
from sparecap.domain.bookings import Event
from sparecap.domain.demands import DemandEvent, QuoteEvent
from sparecap.domain.matching.costs import CostWeights
from sparecap.services import rounds
from sparecap.services.bookings import (
    BookingIn,
    create_booking,
    run_due_timers,
    transition_booking,
)
from sparecap.services.candidates import find_candidates
from sparecap.services.demands import DemandIn, change_demand, expire_demands, post_demand
from sparecap.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from sparecap.services.free_capacity import load_free_capacity
from sparecap.services.ledger_audit import audit_ledger
from sparecap.services.matches import explain_demand, get_round
from sparecap.services.negotiation import (
    CounterIn,
    QuoteIn,
    accept_quote,
    counter_quote,
    create_quote,
    list_quotes,
    respond_to_quote,
)
from sparecap.services.resources import WITH_PLAN
from sparecap.services.rounds import RoundIn, WeightsIn, instant_match, run_round
from tests.support.market import Party, charger_spec, make_resource, party

# Tuesday 2026-03-03 10:00 Shanghai = 02:00 UTC; the test clock stands at Monday 00:00 UTC.
TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SHANGHAI = (31.23, 121.47)


@pytest.fixture
def market(platform: Platform) -> dict[str, Any]:
    provider = party(platform, "Provider", "provider")
    rival = party(platform, "Rival", "provider")
    return {
        "provider": provider,
        "rival": rival,
        "demander": party(platform, "Demander", "demander"),
        "other": party(platform, "Other", "demander"),
        "operator": party(platform, "Operator", "operator"),
        "auditor": party(platform, "Auditor", "auditor"),
        "chargers": make_resource(platform, provider, charger_spec()),
        # 0.05 degrees of latitude north: about 5.6 km away, and dearer.
        "far": make_resource(
            platform, rival, charger_spec(name="Far", lat=31.28, price_minor=4500)
        ),
    }


def demand_spec(**overrides: Any) -> DemandIn:
    spec: dict[str, Any] = {
        "category": "ev_charger",
        "attributes": {"kw": 50},
        "quantity": 1,
        "quantity_unit": "hours",
        "earliest_start": TEN,
        "deadline": TEN + 4 * HOUR,
        "lat": SHANGHAI[0],
        "lon": SHANGHAI[1],
        "max_distance_km": 10,
        "max_price_minor": 5000,
        "currency": "CNY",
    }
    spec.update(overrides)
    return DemandIn(**spec)


def post(platform: Platform, who: Party, **overrides: Any) -> int:
    with platform.db.write() as s:
        return post_demand(
            s, ctx=platform.ctx, principal=who.principal, spec=demand_spec(**overrides)
        ).id


def ledger_kinds(platform: Platform) -> list[str]:
    with platform.db.read() as s:
        return list(s.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.seq)))


def test_posting_validates_attributes_and_logs_without_the_place(
    platform: Platform, market: dict
) -> None:
    with platform.db.write() as s, pytest.raises(InvalidInputError) as bad:
        post_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                    spec=demand_spec(attributes={"kw": "lots", "colour": "red"}))  # fmt: skip
    assert bad.value.code == "invalid_attributes"
    with platform.db.write() as s, pytest.raises(ForbiddenError):
        post_demand(s, ctx=platform.ctx, principal=market["provider"].principal, spec=demand_spec())
    demand_id = post(platform, market["demander"])
    with platform.db.read() as s:
        assert s.get(Demand, demand_id).status == "open"  # type: ignore[union-attr]
        payload = s.scalars(
            select(LedgerEntry.payload).where(LedgerEntry.kind == "demand.event")
        ).one()
    assert '"event":"post"' in payload and "31.23" not in payload and "Demander" not in payload


@pytest.mark.parametrize(
    ("category", "attributes"),
    [
        # A list inside the list once reached the round's set() and failed every round.
        ("machine_tool", {"materials": [["aluminium"]]}),
        ("machine_tool", {"materials": [{"name": "aluminium"}]}),
        ("machine_tool", {"materials": [7]}),
        ("parking_bay", {"covered": "yes"}),
        ("production_line", {"output_unit": 5}),
        # JSON bodies may say NaN and Infinity: stored, they never match (or match anything).
        ("ev_charger", {"kw": float("nan")}),
        ("ev_charger", {"kw": float("inf")}),
    ],
)
def test_required_attributes_of_the_wrong_type_are_refused(
    platform: Platform, market: dict, category: str, attributes: dict[str, Any]
) -> None:
    with platform.db.write() as s, pytest.raises(InvalidInputError) as bad:
        post_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                    spec=demand_spec(category=category, attributes=attributes))  # fmt: skip
    assert bad.value.code == "invalid_attributes"
    with platform.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Demand)) == 0


def test_lifecycle_refuses_moves_the_table_does_not_allow(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s, pytest.raises(ConflictError) as closed:
        change_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                      demand_id=demand_id, event=DemandEvent.CLOSE)  # fmt: skip
    assert closed.value.code == "invalid_transition"
    with platform.db.write() as s:
        d = change_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                          demand_id=demand_id, event=DemandEvent.WITHDRAW)  # fmt: skip
        assert d.status == "withdrawn"
    other = post(platform, market["demander"], deadline=TEN + HOUR)
    platform.ctx.clock.set(TEN + 2 * HOUR)  # type: ignore[attr-defined]
    with platform.db.write() as s:
        assert expire_demands(s, ctx=platform.ctx) == 1
        assert s.get(Demand, other).status == "expired"  # type: ignore[union-attr]


def test_candidates_name_the_filter_that_emptied_them(platform: Platform, market: dict) -> None:
    ids = {
        "ok": post(platform, market["demander"]),
        "radius": post(platform, market["demander"], lat=22.54, lon=114.06),
        "attributes": post(platform, market["demander"], attributes={"kw": 350}),
        "price": post(platform, market["demander"], max_price_minor=100),
        "currency": post(platform, market["demander"], currency="USD"),
        "unit": post(platform, market["demander"], quantity_unit="pieces"),
        "window": post(
            platform, market["demander"], earliest_start=TEN - 8 * HOUR, deadline=TEN - 6 * HOUR
        ),
    }
    with platform.db.read() as s:
        demands = [s.get(Demand, i) for i in ids.values()]
        found = find_candidates(s, ctx=platform.ctx, demands=demands, weights=CostWeights())  # type: ignore[arg-type]
    reasons = {name: found[i].reason for name, i in ids.items()}
    assert reasons == {
        "ok": None,
        "radius": "no_capacity_in_radius",
        "attributes": "attributes_not_met",
        "price": "above_price_ceiling",
        "currency": "no_comparable_price",
        "unit": "no_comparable_price",
        "window": "no_free_window",
    }
    best = found[ids["ok"]].offers[0]
    assert best.resource_id == market["chargers"] and best.window.start == TEN
    assert {o.resource_id for o in found[ids["ok"]].offers} == {market["chargers"], market["far"]}


def test_anywhere_demands_see_every_hub_measured_when_they_have_a_place(
    platform: Platform, market: dict
) -> None:
    placed = post(platform, market["demander"], max_distance_km=None)
    unplaced = post(platform, market["demander"], max_distance_km=None, lat=None, lon=None)
    local = post(platform, market["demander"])
    with platform.db.read() as s:
        demands = [s.get(Demand, i) for i in (placed, unplaced, local)]
        found = find_candidates(s, ctx=platform.ctx, demands=demands, weights=CostWeights())  # type: ignore[arg-type]
    hubs = {market["chargers"], market["far"]}
    for demand_id in (placed, unplaced):
        assert {o.resource_id for o in found[demand_id].offers} == hubs
    far_km = [o.distance_km for o in found[placed].offers if o.resource_id == market["far"]]
    assert far_km and far_km == [pytest.approx(5.56, abs=0.01)] * len(far_km)  # 0.05 degrees
    assert {o.distance_km for o in found[unplaced].offers} == {None}
    assert {o.cost.distance for o in found[unplaced].offers} == {0}
    assert found[local].counts["in_radius"] == 2  # a mixed batch keeps its radius filter


def test_free_capacity_starts_where_a_booking_may_start(platform: Platform, market: dict) -> None:
    # A demand wanting capacity since year 1000 made rounds expand every plan from then on;
    # open time before now (and the notice) can never be offered, so none is read.
    now = platform.ctx.clock.now()
    span = Interval(now - timedelta(days=30), now + timedelta(days=2))
    with platform.db.read() as s:
        resources = list(s.scalars(select(Resource).options(*WITH_PLAN)))
        free = load_free_capacity(s, resources=resources, span=span, now=now)
    windows = [iv for rf in free.values() for unit in rf.units for iv in unit.free]
    assert windows and min(iv.start for iv in windows) >= now


def test_candidates_skip_capacity_already_booked(platform: Platform, market: dict) -> None:
    with platform.db.write() as s:
        for _ in range(2):
            create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                           request=BookingIn(resource_id=market["chargers"], start=TEN,
                                             end=TEN + HOUR))  # fmt: skip
    demand_id = post(platform, market["demander"], deadline=TEN + HOUR)
    with platform.db.read() as s:
        found = find_candidates(s, ctx=platform.ctx, demands=[s.get(Demand, demand_id)],  # type: ignore[list-item]
                                weights=CostWeights())  # fmt: skip
    assert {o.resource_id for o in found[demand_id].offers} == {market["far"]}


def test_units_free_alike_are_one_offer_and_each_match_gets_its_own(
    platform: Platform, market: dict
) -> None:
    # A hub of four connectors, one booked from ten to eleven: the other three are free alike
    # and make one offer of three units at ten; the booked one offers eleven o'clock.
    hub = make_resource(platform, market["provider"], charger_spec(
        name="Hub", units=[{"name": f"c{i}"} for i in range(4)]))  # fmt: skip
    with platform.db.write() as s:
        first = platform_unit(s, hub)
        create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                       request=BookingIn(resource_id=hub, unit_id=first, start=TEN,
                                         end=TEN + HOUR))  # fmt: skip
    ids = [post(platform, market["demander"], deadline=TEN + 2 * HOUR) for _ in range(6)]
    with platform.db.read() as s:
        found = find_candidates(s, ctx=platform.ctx, demands=[s.get(Demand, ids[0])],  # type: ignore[list-item]
                                weights=CostWeights())  # fmt: skip
    on_hub = [(len(o.unit_ids), o.capacity, o.window.start)
              for o in found[ids[0]].offers if o.resource_id == hub]  # fmt: skip
    assert on_hub == [(3, 3, TEN), (1, 1, TEN + HOUR)]
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        on_units = [(m.unit_id, m.start_at) for m in result.matches if m.resource_id == hub]
    # Two demands go to the two-connector hub at the same place and price; the other four
    # fill the hub: three at ten on distinct units, one at eleven on the booked one.
    assert len(result.matches) == 6
    assert sorted(start for _, start in on_units) == [TEN] * 3 + [TEN + HOUR]
    assert len({unit for unit, _ in on_units}) == 4 and (first, TEN + HOUR) in on_units


def test_instant_match_holds_the_cheapest_and_explains(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s:
        result = instant_match(s, ctx=platform.ctx, principal=market["demander"].principal,
                               demand_id=demand_id, weights=WeightsIn())  # fmt: skip
        assert len(result.matches) == 1 and not result.unmatched
        match = result.matches[0]
        booking = s.get(Booking, match.booking_id)
        assert booking is not None and booking.status == "held"
        assert booking.demander_id == market["demander"].id
        assert match.cost == {"price": 4000, "distance": 0, "delay": 0, "total": 4000}
    with platform.db.read() as s:
        why = explain_demand(s, principal=market["demander"].principal, demand_id=demand_id)
        assert why.demand.status == "matched" and len(why.matches) == 1
    assert ledger_kinds(platform)[-3:] == ["booking.event", "demand.event", "match.round"]


def test_unmatched_demand_stores_its_reason(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"], max_price_minor=10)
    with platform.db.write() as s:
        result = instant_match(s, ctx=platform.ctx, principal=market["demander"].principal,
                               demand_id=demand_id, weights=WeightsIn())  # fmt: skip
        assert result.matches == []
    with platform.db.read() as s:
        why = explain_demand(s, principal=market["demander"].principal, demand_id=demand_id)
        assert [u.reason for u in why.unmatched] == ["above_price_ceiling"]
        assert why.demand.last_reason == "above_price_ceiling" and why.demand.status == "open"


def test_batch_round_is_optimal_and_never_double_books(platform: Platform, market: dict) -> None:
    # Three one-hour demands at ten: two connectors near, two far. The round fills three.
    ids = [post(platform, market["demander"], deadline=TEN + HOUR) for _ in range(3)]
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        rnd_id = result.round.id
    with platform.db.read() as s:
        rnd, matches, unmatched = get_round(
            s, principal=market["auditor"].principal, round_id=rnd_id
        )
        assert (rnd.demands, rnd.matched, len(unmatched)) == (3, 3, 0)
        assert sorted(m.resource_id for m in matches) == sorted(
            [market["chargers"]] * 2 + [market["far"]]
        )
        assert len({m.unit_id for m in matches}) == 3
        assert rnd.objective == sum(m.cost["total"] for m in matches)
        assert all(s.get(Demand, i).status == "matched" for i in ids)  # type: ignore[union-attr]
        held = s.scalar(select(func.count()).select_from(Booking).where(Booking.status == "held"))
        assert held == 3
        # A match's provider, resource and unit copy its booking's (no keys of their own).
        for m in matches:
            booking = s.get(Booking, m.booking_id)
            assert booking is not None and booking.resource is not None
            assert (m.resource_id, m.unit_id) == (booking.resource_id, booking.unit_id)
            assert m.provider_id == booking.resource.provider_id


def test_round_queues_demands_on_units_free_long_enough(platform: Platform, market: dict) -> None:
    # Six one-hour demands that may run any time from ten to two, on four connectors (two
    # near, two far). The flow gives each connector one demand at ten; the other two queue
    # behind the near ones, since an hour's delay (50) costs less than the far hub (+1,060).
    # The near connectors keep 15 minutes clear after each booking, so the queue starts 11:15.
    near = make_resource(
        platform,
        market["provider"],
        charger_spec(
            name="Buffered",
            rules={"slot_minutes": 15, "min_duration_minutes": 15, "buffer_after_minutes": 15},
        ),
    )
    with platform.db.write() as s:  # take the unbuffered near hub out of the market
        for unit in s.scalars(select(Unit).where(Unit.resource_id == market["chargers"])):
            create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                           request=BookingIn(resource_id=market["chargers"], unit_id=unit.id,
                                             start=TEN, end=TEN + 4 * HOUR))  # fmt: skip
    for _ in range(6):
        post(platform, market["demander"], deadline=TEN + 4 * HOUR)
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        assert result.round.solvers["queued_on_units"]["placed"] == 2
        starts = sorted((m.resource_id, m.start_at) for m in result.matches)
    assert len(starts) == 6
    assert starts.count((near, TEN)) == 2 and starts.count((market["far"], TEN)) == 2
    assert starts.count((near, TEN + HOUR + timedelta(minutes=15))) == 2
    with platform.db.read() as s:
        held = list(s.scalars(select(Booking).where(Booking.status == "held")))
    for a in held:  # no two holds on one unit overlap, buffers included
        for b in held:
            if a.id < b.id and a.unit_id == b.unit_id:
                assert a.block_end <= b.block_start or b.block_end <= a.block_start
    with platform.db.read() as s:  # the batch's holds are on the log as single ones would be
        audit = audit_ledger(s, verifiers=(), origin=platform.settings.ledger_origin,
                             salt=platform.ctx.ledger_salt)  # fmt: skip
        assert audit.ok, audit.divergence
        assert audit.bookings == len(held) + 2 and audit.differing_bookings == 0


@pytest.mark.parametrize(("share", "per_provider"), [(None, [4, 2]), (0.5, [3, 3]), (0.3, [2, 2])])
def test_queueing_keeps_to_the_fairness_cap(
    platform: Platform, market: dict, share: float | None, per_provider: list[int]
) -> None:
    # Six demands from ten to two, two connectors near and two far. Uncapped, both near ones
    # queue a second demand (4 near, 2 far). A cap of three lets the near provider queue one
    # and the far one one; a cap of two leaves the flow's four alone.
    for _ in range(6):
        post(platform, market["demander"], deadline=TEN + 4 * HOUR)
    with platform.db.write() as s:
        result = run_round(s, ctx=platform.ctx, principal=market["operator"].principal,
                           spec=RoundIn(fairness_share=share))  # fmt: skip
        taken = Counter(m.provider_id for m in result.matches)
        assert [taken[market["provider"].id], taken[market["rival"].id]] == per_provider
        assert result.round.solvers["queued_on_units"]["placed"] == sum(per_provider) - 4
        # Whoever is left could only have queued with providers at their share.
        assert [u.reason for u in result.unmatched] == ["fairness_cap"] * (6 - sum(per_provider))
    with platform.db.read() as s:
        held = list(s.scalars(select(Booking).where(Booking.status == "held")))
    for a in held:  # no two holds on one unit overlap
        for b in held:
            if a.id < b.id and a.unit_id == b.unit_id:
                assert a.block_end <= b.block_start or b.block_end <= a.block_start


def test_round_moves_on_when_a_direct_booking_took_the_unit(
    platform: Platform, market: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    demand_id = post(platform, market["demander"], deadline=TEN + HOUR)
    real_hold_many = rounds.hold_many
    raced: list[int] = []

    def racing_hold_many(session: Any, *, ctx: Any, holds: Any) -> Any:
        if not raced:  # a direct booking lands on the planned unit just before the hold
            booking = create_booking(session, ctx=ctx, principal=market["other"].principal,
                                     request=BookingIn(resource_id=holds[0].resource_id,
                                                       unit_id=holds[0].unit_id, start=TEN,
                                                       end=TEN + HOUR))  # fmt: skip
            raced.append(booking.id)
        return real_hold_many(session, ctx=ctx, holds=holds)

    monkeypatch.setattr(rounds, "hold_many", racing_hold_many)
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        assert result.round.lost_races == 1 and len(result.matches) == 1
        assert result.matches[0].unit_id != s.get(Booking, raced[0]).unit_id  # type: ignore[union-attr]
    del demand_id


def test_fairness_cap_limits_one_providers_share(platform: Platform, market: dict) -> None:
    ids = [post(platform, market["demander"], deadline=TEN + HOUR) for _ in range(2)]
    spec = RoundIn(fairness_share=0.5, weights=WeightsIn(per_km=0))
    with platform.db.write() as s:
        result = run_round(s, ctx=platform.ctx, principal=market["operator"].principal, spec=spec)
        providers = sorted(m.provider_id for m in result.matches)
        assert providers == sorted([market["provider"].id, market["rival"].id])
        solver = result.round.solvers["unit_assignment"]
        assert solver["objective"] > solver["objective_without_cap"]
    del ids


def test_fairness_cap_reason_when_the_capped_provider_was_the_only_one(
    platform: Platform, market: dict
) -> None:
    # Only the near provider is in a 1 km radius; a cap of one match keeps the second demand out.
    ids = [
        post(platform, market["demander"], deadline=TEN + HOUR, max_distance_km=1) for _ in range(2)
    ]
    with platform.db.write() as s:
        result = run_round(s, ctx=platform.ctx, principal=market["operator"].principal,
                           spec=RoundIn(fairness_share=0.5))  # fmt: skip
        assert [u.reason for u in result.unmatched] == ["fairness_cap"]
    del ids


def test_the_scheduled_round_matches_as_the_platform(platform: Platform, market: dict) -> None:
    for _ in range(2):
        post(platform, market["demander"], deadline=TEN + HOUR)
    assert match_round_once(platform) == 2
    assert match_round_once(platform) == 0  # nothing left to match, and no empty round kept
    with platform.db.read() as s:
        (only,) = s.scalars(select(MatchRound)).all()
        assert (only.kind, only.started_by, only.matched) == ("batch", None, 2)


def test_demands_expire_at_their_deadline_without_waiting_for_a_round(
    platform: Platform, market: dict
) -> None:
    soon = post(platform, market["demander"], deadline=TEN + HOUR)
    later = post(platform, market["demander"], deadline=TEN + 3 * HOUR)
    platform.ctx.clock.set(TEN + 2 * HOUR)  # type: ignore[attr-defined]
    assert expire_demands_once(platform) == 1
    with platform.db.read() as s:
        assert s.get(Demand, soon).status == "expired"  # type: ignore[union-attr]
        assert s.get(Demand, later).status == "open"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(MatchRound)) == 0


def test_the_platforms_rounds_record_a_repeated_miss_once(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"], max_price_minor=10)
    for _ in range(3):
        match_round_once(platform)
    with platform.db.write() as s:  # an operator's round records every miss
        run_round(s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn())
    with platform.db.read() as s:
        why = explain_demand(s, principal=market["demander"].principal, demand_id=demand_id)
        rounds = s.scalars(select(MatchRound.started_by).order_by(MatchRound.id)).all()
    assert rounds == [None, None, None, market["operator"].id]
    assert [u.reason for u in why.unmatched] == ["above_price_ceiling"] * 2
    assert why.demand.last_reason == "above_price_ceiling"


def test_only_operators_run_rounds(platform: Platform, market: dict) -> None:
    with platform.db.write() as s, pytest.raises(ForbiddenError):
        run_round(s, ctx=platform.ctx, principal=market["demander"].principal, spec=RoundIn())


def quote_on(platform: Platform, market: dict, demand_id: int, price: int = 3500) -> int:
    with platform.db.write() as s:
        spec = QuoteIn(resource_id=market["chargers"], price_minor=price, quantity=1,
                       start=TEN + HOUR, end=TEN + 2 * HOUR)  # fmt: skip
        return create_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                            demand_id=demand_id, spec=spec).id  # fmt: skip


def test_quote_counter_accept_becomes_a_booking(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"])
    quote_id = quote_on(platform, market, demand_id)
    with platform.db.write() as s:
        counter = counter_quote(s, ctx=platform.ctx, principal=market["demander"].principal,
                                quote_id=quote_id, spec=CounterIn(price_minor=3000))  # fmt: skip
        counter_id = counter.id
    with platform.db.write() as s, pytest.raises(ConflictError) as own:
        accept_quote(
            s, ctx=platform.ctx, principal=market["demander"].principal, quote_id=counter_id
        )
    assert own.value.code == "forbidden_transition"
    with platform.db.write() as s:
        quote, match = accept_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                                    quote_id=counter_id)  # fmt: skip
        booking = s.get(Booking, quote.booking_id)
        assert booking is not None and booking.status == "confirmed"  # instant-book resource
        assert booking.demander_id == market["demander"].id
        assert booking.price_minor == 3000  # the agreed price, not the list price
        assert match.price_minor == 3000 and s.get(Quote, quote_id).status == "countered"  # type: ignore[union-attr]
        assert s.get(Demand, demand_id).status == "matched"  # type: ignore[union-attr]
        matched = s.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.kind == "demand.event")).all()[-1]  # fmt: skip
    assert '"event":"match_full"' in matched and '"actor_role":"provider"' in matched
    assert "quote.event" in ledger_kinds(platform)


def test_accepting_a_quote_whose_capacity_is_gone_rolls_back(
    platform: Platform, market: dict
) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s:
        spec = QuoteIn(resource_id=market["chargers"], price_minor=3500, quantity=1,
                       start=TEN + HOUR, end=TEN + 2 * HOUR,
                       unit_id=platform_unit(s, market["chargers"]))  # fmt: skip
        quote_id = create_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                                demand_id=demand_id, spec=spec).id  # fmt: skip
        create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                       request=BookingIn(resource_id=market["chargers"], unit_id=spec.unit_id,
                                         start=TEN + HOUR, end=TEN + 2 * HOUR))  # fmt: skip
    before = len(ledger_kinds(platform))
    with pytest.raises(ConflictError) as taken, platform.db.write() as s:
        accept_quote(s, ctx=platform.ctx, principal=market["demander"].principal, quote_id=quote_id)
    assert taken.value.code == "capacity_conflict"
    with platform.db.read() as s:
        assert s.get(Quote, quote_id).status == "offered"  # type: ignore[union-attr]
        assert s.get(Demand, demand_id).matched_quantity == 0  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Match)) == 0
    assert len(ledger_kinds(platform)) == before


def platform_unit(session: Any, resource_id: int) -> int:
    return session.scalars(
        select(Unit.id).where(Unit.resource_id == resource_id).order_by(Unit.id)
    ).first()  # type: ignore[no-any-return]


def test_quotes_need_the_providers_own_resource(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s, pytest.raises(ForbiddenError):
        spec = QuoteIn(
            resource_id=market["far"], price_minor=1, quantity=1, start=TEN, end=TEN + HOUR
        )
        create_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                     demand_id=demand_id, spec=spec)  # fmt: skip
    quote_id = quote_on(platform, market, demand_id)
    with platform.db.write() as s:
        declined = respond_to_quote(s, ctx=platform.ctx, principal=market["demander"].principal,
                                    quote_id=quote_id, event=QuoteEvent.DECLINE)  # fmt: skip
        assert declined.status == "declined"


def split_order(platform: Platform, market: dict) -> int:
    """A splittable order of 3,000 pieces and two lines that make 2,000 and 1,000 of it."""
    day = {"slot_minutes": 1440, "min_duration_minutes": 1440, "booking_window_days": 60}
    line = {"category": "production_line", "price_unit": "piece", "price_minor": 2,
            "capacity_mode": "pooled", "instant_book": False,
            "attributes": {"products": ["mask"]}, "rules": day,
            "windows": [{"weekday": d, "start_minute": 0, "end_minute": 1440}
                        for d in range(7)]}  # fmt: skip
    a = make_resource(
        platform,
        market["provider"],
        charger_spec(**{**line, "name": "A", "units": [{"name": "a", "capacity": 1000}]}),
    )
    b = make_resource(platform, market["rival"],
                      charger_spec(**{**line, "name": "B", "price_minor": 3,
                                      "units": [{"name": "b", "capacity": 1000}]}))  # fmt: skip
    start = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Tuesday 00:00 Shanghai
    demand_id = post(platform, market["demander"], category="production_line",
                     attributes={"products": ["mask"]}, quantity=3000, quantity_unit="pieces",
                     earliest_start=start, deadline=start + timedelta(days=2), max_price_minor=3,
                     splittable=True, min_lot=500)  # fmt: skip
    market["lines"] = (a, b)
    return demand_id


def test_split_order_spreads_pieces_across_lines(platform: Platform, market: dict) -> None:
    demand_id = split_order(platform, market)
    a, b = market["lines"]
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        by_resource = {m.resource_id: m.quantity for m in result.matches}
        assert by_resource == {a: 2000, b: 1000}
        assert s.get(Demand, demand_id).status == "matched"  # type: ignore[union-attr]
        statuses = {s.get(Booking, m.booking_id).status for m in result.matches}  # type: ignore[union-attr]
        assert statuses == {"held"}


def test_a_match_whose_hold_expires_gives_the_demand_back_to_rounds(
    platform: Platform, market: dict
) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s:
        first = instant_match(s, ctx=platform.ctx, principal=market["demander"].principal,
                              demand_id=demand_id, weights=WeightsIn()).matches[0].id  # fmt: skip
    platform.ctx.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 1  # the hold lapses unconfirmed
    with platform.db.read() as s:
        why = explain_demand(s, principal=market["demander"].principal, demand_id=demand_id)
        assert (why.demand.status, why.demand.matched_quantity) == ("open", 0)
        assert [(m.id, m.lapsed) for m in why.matches] == [(first, "expired")]
        reopened = s.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.kind == "demand.event")).all()[-1]  # fmt: skip
    assert '"event":"reopen"' in reopened and '"lapsed":"expired"' in reopened
    assert match_round_once(platform) == 1  # the next round matches it again
    with platform.db.read() as s:
        assert s.get(Demand, demand_id).status == "matched"  # type: ignore[union-attr]
        assert [m.lapsed for m in s.scalars(select(Match).order_by(Match.id))] == ["expired", None]
    # A second hold left unconfirmed: the demander is not answering, and rounds stop holding
    # capacity for it.
    platform.ctx.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 1
    with platform.db.read() as s:
        assert s.get(Demand, demand_id).status == "expired"  # type: ignore[union-attr]
        gave_up = s.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.kind == "demand.event")).all()[-1]  # fmt: skip
    assert '"event":"expire"' in gave_up and '"unconfirmed_holds":2' in gave_up
    assert match_round_once(platform) == 0


def test_a_cancelled_part_of_a_split_order_is_matched_again_and_closed_demands_stay_closed(
    platform: Platform, market: dict
) -> None:
    demand_id = split_order(platform, market)
    with platform.db.write() as s:
        result = run_round(
            s, ctx=platform.ctx, principal=market["operator"].principal, spec=RoundIn()
        )
        part = max(result.matches, key=lambda m: m.quantity)
    with platform.db.write() as s:
        transition_booking(s, ctx=platform.ctx, principal=market["demander"].principal,
                           booking_id=part.booking_id, event=Event.CANCEL)  # fmt: skip
    with platform.db.read() as s:
        demand = s.get(Demand, demand_id)
        assert demand is not None
        assert (demand.status, demand.matched_quantity) == ("partially_matched", 1000)
        assert s.get(Match, part.id).lapsed == "cancelled"  # type: ignore[union-attr]
    with platform.db.write() as s:
        change_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                      demand_id=demand_id, event=DemandEvent.CLOSE)  # fmt: skip
        (rest,) = s.scalars(select(Match).where(Match.lapsed.is_(None))).all()
        transition_booking(s, ctx=platform.ctx, principal=market["demander"].principal,
                           booking_id=rest.booking_id, event=Event.CANCEL)  # fmt: skip
    with platform.db.read() as s:
        demand = s.get(Demand, demand_id)
        assert demand is not None and (demand.status, demand.matched_quantity) == ("closed", 1000)
        assert s.get(Match, rest.id).lapsed == "cancelled"  # type: ignore[union-attr]


def test_a_quote_for_hours_holds_a_window_of_that_many_hours(
    platform: Platform, market: dict
) -> None:
    # A one-hour quote on a four-hour window would have counted four hours as matched (or four
    # hours on a one-hour window, with one hour booked).
    demand_id = post(platform, market["demander"], quantity=2, deadline=TEN + 6 * HOUR)
    for hours in (1, 3):
        with platform.db.write() as s, pytest.raises(InvalidInputError) as bad:
            spec = QuoteIn(resource_id=market["chargers"], price_minor=3500, quantity=2,
                           start=TEN, end=TEN + hours * HOUR)  # fmt: skip
            create_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                         demand_id=demand_id, spec=spec)  # fmt: skip
        assert bad.value.code == "invalid_window"
    with platform.db.write() as s:
        spec = QuoteIn(resource_id=market["chargers"], price_minor=3500, quantity=2,
                       start=TEN, end=TEN + 2 * HOUR)  # fmt: skip
        create_quote(s, ctx=platform.ctx, principal=market["provider"].principal,
                     demand_id=demand_id, spec=spec)  # fmt: skip


def test_a_provider_follows_the_demands_it_dealt_on_after_they_leave_the_market(
    platform: Platform, market: dict
) -> None:
    demand_id = post(platform, market["demander"])
    quote_id = quote_on(platform, market, demand_id)
    with platform.db.write() as s:
        accept_quote(s, ctx=platform.ctx, principal=market["demander"].principal,
                     quote_id=quote_id)  # fmt: skip
    with platform.db.read() as s:
        why = explain_demand(s, principal=market["provider"].principal, demand_id=demand_id)
        assert why.demand.status == "matched" and len(why.matches) == 1
        assert [q.id for q in list_quotes(s, principal=market["provider"].principal,
                                          demand_id=demand_id)] == [quote_id]  # fmt: skip
        with pytest.raises(NotFoundError):  # a rival never dealt on it
            explain_demand(s, principal=market["rival"].principal, demand_id=demand_id)


def test_quotes_left_unanswered_expire_when_their_demand_leaves_the_market(
    platform: Platform, market: dict
) -> None:
    taken = post(platform, market["demander"])
    chosen, other = quote_on(platform, market, taken), quote_on(platform, market, taken, 3600)
    gone = post(platform, market["demander"])
    dropped = quote_on(platform, market, gone)
    with platform.db.write() as s:
        accept_quote(s, ctx=platform.ctx, principal=market["demander"].principal,
                     quote_id=chosen)  # fmt: skip
        change_demand(s, ctx=platform.ctx, principal=market["demander"].principal,
                      demand_id=gone, event=DemandEvent.WITHDRAW)  # fmt: skip
    with platform.db.read() as s:
        statuses = {q: s.get(Quote, q).status for q in (chosen, other, dropped)}  # type: ignore[union-attr]
        events = s.scalars(select(LedgerEntry.payload).where(
            LedgerEntry.kind == "quote.event")).all()[-2:]  # fmt: skip
    assert statuses == {chosen: "accepted", other: "expired", dropped: "expired"}
    assert all('"event":"expire"' in e for e in events)
