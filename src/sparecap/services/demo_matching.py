"""The demo's matching (撮合): demands posted by the appliance maker and Driver Zhang, one batch
round run by the operator, each match with its cost and each miss with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.services.context import ServiceContext
from sparecap.services.demands import DemandIn, post_demand
from sparecap.services.principals import Principal
from sparecap.services.rounds import RoundIn, run_round

HOUR = timedelta(hours=1)


def _demands(monday: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(demander, demand) posted before the round; places are the demanders' own."""
    base = {"currency": "CNY", "quantity_unit": "hours"}
    return [
        ("appliances", {**base, "category": "machine_tool",
         "title": "五轴铣削外壳 5-axis milling of housings", "attributes": {"axes": 5},
         "quantity": 4, "earliest_start": monday + 14 * HOUR, "deadline": monday + 22 * HOUR,
         "lat": 22.6000, "lon": 113.8500, "max_distance_km": 30, "max_price_minor": 30000}),
        ("driver", {**base, "category": "ev_charger", "title": "科技园快充 Fast charge",
         "attributes": {"kw": 60}, "quantity": 1, "earliest_start": monday + 12 * HOUR,
         "deadline": monday + 15 * HOUR, "lat": 22.5430, "lon": 113.9500,
         "max_distance_km": 5, "max_price_minor": 5000}),
        # The Futian bays ask 8 CNY an hour: this ceiling is under it, so the round says so.
        ("driver", {**base, "category": "parking_bay", "title": "福田车位 Bay in Futian",
         "attributes": {}, "quantity": 2, "earliest_start": monday + 10 * HOUR,
         "deadline": monday + 12 * HOUR, "lat": 22.5420, "lon": 114.0550,
         "max_distance_km": 2, "max_price_minor": 500}),
    ]  # fmt: skip


def seed_matching(
    session: Session,
    *,
    ctx: ServiceContext,
    principals: dict[str, Principal],
    monday: datetime,
) -> list[str]:
    """Post the demands, run one round as the operator, and tell what it did."""
    for who, spec in _demands(monday):
        post_demand(session, ctx=ctx, principal=principals[who], spec=DemandIn(**spec))
    result = run_round(session, ctx=ctx, principal=principals["operator"], spec=RoundIn())
    zone = ZoneInfo("Asia/Shanghai")
    story = []
    for m in result.matches:
        demand, resource = session.get(Demand, m.demand_id), session.get(Resource, m.resource_id)
        assert demand is not None and resource is not None
        start = m.start_at.astimezone(zone)
        cost = ", ".join(f"{k} {v}" for k, v in m.cost.items())
        story.append(
            f"{demand.title} -> {resource.name}, {start:%a %H:%M}, held at "
            f"{m.price_minor / 100:.2f} {m.currency} (cost in minor units: {cost})"
        )
    for u in result.unmatched:
        demand = session.get(Demand, u.demand_id)
        assert demand is not None
        story.append(f"{demand.title}: not matched, {u.reason}")
    return story
