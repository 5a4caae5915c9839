"""The demo's matching (撮合): demands posted by the appliance maker and Driver Zhang, one batch
round run by the operator, each match with its cost and each miss with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.domain.names import REASONS, Text, in_every_language
from sparecap.services.context import ServiceContext
from sparecap.services.demands import DemandIn, post_demand
from sparecap.services.principals import Principal
from sparecap.services.rounds import RoundIn, run_round

HOUR = timedelta(hours=1)
STORY: dict[str, Text] = {
    "held": {
        "en": "{demand} -> {resource}, {day} {time}, held at {price} {currency} "
        "(cost in minor units: {cost})",
        "zh-CN": "{demand} → {resource}，{day} {time}，暂留价格 {price} {currency}"
        "（成本，以最小货币单位计：{cost}）",
    },
    "missed": {"en": "{demand}: not matched, {reason}", "zh-CN": "{demand}：未撮合，{reason}"},
}
WEEKDAYS: Text = {
    "en": "Mon Tue Wed Thu Fri Sat Sun",
    "zh-CN": "周一 周二 周三 周四 周五 周六 周日",
}
SEPARATORS: Text = {"en": ", ", "zh-CN": "，"}
COST_PARTS: dict[str, Text] = {
    "price": {"en": "price", "zh-CN": "价格"},
    "distance": {"en": "distance", "zh-CN": "距离"},
    "delay": {"en": "delay", "zh-CN": "延迟"},
    "total": {"en": "total", "zh-CN": "合计"},
}


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
) -> list[dict[str, str]]:
    """Post the demands, run one round as the operator, and tell what it did, in every
    language."""
    for who, spec in _demands(monday):
        post_demand(session, ctx=ctx, principal=principals[who], spec=DemandIn(**spec))
    result = run_round(session, ctx=ctx, principal=principals["operator"], spec=RoundIn())
    zone = ZoneInfo("Asia/Shanghai")
    story = []
    for m in result.matches:
        demand, resource = session.get(Demand, m.demand_id), session.get(Resource, m.resource_id)
        assert demand is not None and resource is not None
        start = m.start_at.astimezone(zone)
        story.append(in_every_language(
            STORY["held"], demand=demand.title, resource=resource.name,
            day={k: v.split()[start.weekday()] for k, v in WEEKDAYS.items()},
            time=f"{start:%H:%M}", price=f"{m.price_minor / 100:.2f}", currency=m.currency,
            cost={lang: SEPARATORS[lang].join(f"{COST_PARTS[k][lang]} {v}"
                                              for k, v in m.cost.items())
                  for lang in SEPARATORS},
        ))  # fmt: skip
    for u in result.unmatched:
        demand = session.get(Demand, u.demand_id)
        assert demand is not None
        reason = {lang: f"{name}（{u.reason}）" if lang == "zh-CN" else u.reason
                  for lang, name in REASONS[u.reason].items()}  # fmt: skip
        story.append(in_every_language(STORY["missed"], demand=demand.title, reason=reason))
    return story
