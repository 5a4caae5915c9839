"""The demo market: one city's spare capacity, its providers and demanders, a few bookings.

Shenzhen, because the policy study's examples (mask lines turned over in 2020, shared chargers,
battery-swap stations) all stand there. Everything goes through the ordinary use cases, so the
demo obeys the same rules as real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sparecap.domain.bookings import Event
from sparecap.services.bookings import BookingIn, create_booking, transition_booking
from sparecap.services.context import ServiceContext
from sparecap.services.demo_matching import seed_matching
from sparecap.services.demo_money import seed_money, set_demo_terms
from sparecap.services.participants import (
    create_participant,
    get_participant,
    issue_api_key,
    principal_of,
)
from sparecap.services.resources import ResourceIn, create_resource

ZONE = "Asia/Shanghai"
WEEKDAYS = range(5)
EVERY_DAY = range(7)


def _plan(days: range, start_hour: int, end_hour: int) -> list[dict[str, int]]:
    return [
        {"weekday": d, "start_minute": start_hour * 60, "end_minute": end_hour * 60} for d in days
    ]


PARTICIPANTS: list[dict[str, Any]] = [
    {"key": "operator", "name": "深圳共享产能平台 Shenzhen Sharing", "kind": "organisation",
     "roles": ["operator"], "verification_level": 3},
    {"key": "auditor", "name": "市场监管观察员 Market Regulator Observer", "kind": "organisation",
     "roles": ["auditor"], "verification_level": 3},
    {"key": "textiles", "name": "龙岗医用纺织 Longgang Medical Textiles", "kind": "organisation",
     "roles": ["provider"], "verification_level": 2},
    {"key": "cnc", "name": "宝安精密数控 Bao'an Precision CNC", "kind": "organisation",
     "roles": ["provider"], "verification_level": 2},
    {"key": "parking", "name": "福田大厦停车场 Futian Tower Parking", "kind": "organisation",
     "roles": ["provider"], "verification_level": 2},
    {"key": "charging", "name": "南山绿色充电 Nanshan Green Charging", "kind": "organisation",
     "roles": ["provider"], "verification_level": 2},
    {"key": "swap", "name": "前海换电站 Qianhai Battery Swap", "kind": "organisation",
     "roles": ["provider"], "verification_level": 2},
    {"key": "liwei", "name": "李伟 Li Wei (CAD drafting)", "kind": "person",
     "roles": ["provider", "demander"], "verification_level": 1},
    {"key": "chenjing", "name": "陈静 Chen Jing (QC inspector)", "kind": "person",
     "roles": ["provider"], "verification_level": 1},
    {"key": "appliances", "name": "深圳小家电 Shenzhen Small Appliances", "kind": "organisation",
     "roles": ["demander"], "verification_level": 2},
    {"key": "clinic", "name": "社区健康诊所 Community Clinic", "kind": "organisation",
     "roles": ["demander"], "verification_level": 2},
    {"key": "driver", "name": "张师傅 Driver Zhang", "kind": "person",
     "roles": ["demander"], "verification_level": 1},
]  # fmt: skip

BASE: dict[str, Any] = {"timezone": ZONE, "currency": "CNY"}

RESOURCES: list[tuple[str, dict[str, Any]]] = [
    ("textiles", {"category": "production_line", "name": "口罩生产线 Mask line A",
      "lat": 22.7207, "lon": 114.2468, "address": "龙岗区宝龙工业城", "price_minor": 12,
      "price_unit": "piece", "instant_book": False, "capacity_mode": "pooled",
      "units": [{"name": "line-a", "capacity": 20000, "capacity_unit": "masks/day"}],
      "attributes": {"products": ["surgical_mask", "kn95"], "certifications": ["GB 19083",
      "YY 0469"], "output_unit": "pieces"},
      "rules": {"slot_minutes": 1440, "min_duration_minutes": 1440, "booking_window_days": 60},
      "windows": _plan(EVERY_DAY, 0, 24)}),
    ("textiles", {"category": "production_line", "name": "防护服生产线 Protective-suit line",
      "lat": 22.7215, "lon": 114.2475, "address": "龙岗区宝龙工业城", "price_minor": 2800,
      "price_unit": "piece", "instant_book": False, "capacity_mode": "pooled",
      "units": [{"name": "suit-line", "capacity": 3000, "capacity_unit": "suits/day"}],
      "attributes": {"products": ["protective_suit"], "certifications": ["GB 19082"]},
      "rules": {"slot_minutes": 1440, "min_duration_minutes": 1440, "booking_window_days": 60},
      "windows": _plan(WEEKDAYS, 0, 24)}),
    ("cnc", {"category": "machine_tool", "name": "五轴数控加工中心 5-axis CNC mill",
      "lat": 22.5553, "lon": 113.8838, "address": "宝安区福永街道", "price_minor": 28000,
      "price_unit": "hour", "instant_book": False, "capacity_mode": "exclusive",
      "units": [{"name": "dmu-50"}, {"name": "dmu-65"}],
      "attributes": {"machine_type": "cnc_mill", "axes": 5, "max_workpiece_mm": 650,
      "materials": ["aluminium", "steel", "titanium"]},
      "rules": {"slot_minutes": 60, "min_duration_minutes": 120, "min_notice_minutes": 720,
      "buffer_after_minutes": 60}, "windows": _plan(WEEKDAYS, 8, 22)}),
    ("parking", {"category": "parking_bay", "name": "福田大厦白天车位 Daytime bays",
      "lat": 22.5410, "lon": 114.0560, "address": "福田区深南大道", "price_minor": 800,
      "price_unit": "hour", "capacity_mode": "pooled",
      "units": [{"name": "level-b2", "capacity": 40, "capacity_unit": "bays"}],
      "attributes": {"covered": True, "ev_ready": False, "max_height_m": 2.1, "vehicle": "car"},
      "rules": {"slot_minutes": 30, "min_duration_minutes": 60, "max_duration_minutes": 600},
      "windows": _plan(WEEKDAYS, 8, 19)}),
    ("charging", {"category": "ev_charger", "name": "南山科技园快充 Science Park fast chargers",
      "lat": 22.5405, "lon": 113.9530, "address": "南山区科技园", "price_minor": 4500,
      "price_unit": "hour", "capacity_mode": "exclusive",
      "units": [{"name": "dc-1"}, {"name": "dc-2"}, {"name": "dc-3"}, {"name": "dc-4"}],
      "attributes": {"kw": 120, "connector": "gbt_dc"},
      "rules": {"slot_minutes": 15, "min_duration_minutes": 15, "max_duration_minutes": 180,
      "buffer_after_minutes": 5}, "windows": _plan(EVERY_DAY, 0, 24)}),
    ("swap", {"category": "battery_swap", "name": "前海换电站 Qianhai swap station",
      "lat": 22.5330, "lon": 113.8950, "address": "前海深港合作区", "price_minor": 3000,
      "price_unit": "hour", "capacity_mode": "pooled",
      "units": [{"name": "swap-lanes", "capacity": 3, "capacity_unit": "lanes"}],
      "attributes": {"battery_models": ["CATL-EVOGO-25", "NIO-75"], "swaps_per_hour": 12},
      "rules": {"slot_minutes": 15, "min_duration_minutes": 15, "max_duration_minutes": 30},
      "windows": _plan(EVERY_DAY, 6, 23)}),
    ("liwei", {"category": "worker_hours", "name": "李伟 CAD 制图闲时 CAD drafting hours",
      "lat": 22.5470, "lon": 114.0850, "address": "罗湖区（远程）", "price_minor": 15000,
      "price_unit": "hour", "instant_book": False, "capacity_mode": "exclusive",
      "units": [{"name": "li-wei"}],
      "attributes": {"skills": ["cad", "solidworks", "dfm_review"], "languages": ["zh", "en"]},
      "rules": {"slot_minutes": 60, "min_duration_minutes": 60, "max_duration_minutes": 240},
      "windows": _plan(WEEKDAYS, 19, 23) + _plan(range(5, 7), 9, 18)}),
    ("chenjing", {"category": "worker_hours", "name": "陈静 质检员闲时 QC inspection hours",
      "lat": 22.7190, "lon": 114.2400, "address": "龙岗区", "price_minor": 9000,
      "price_unit": "hour", "instant_book": False, "capacity_mode": "exclusive",
      "units": [{"name": "chen-jing"}],
      "attributes": {"skills": ["quality_inspection", "iso_9001"], "languages": ["zh", "en"],
      "certifications": ["ISO 9001 internal auditor"]},
      "rules": {"slot_minutes": 60, "min_duration_minutes": 120},
      "windows": _plan(range(5, 7), 8, 18)}),
]  # fmt: skip


@dataclass(frozen=True)
class DemoMarket:
    api_keys: dict[str, str]  # participant key -> API key in clear
    participant_ids: dict[str, int]
    resource_ids: list[int]
    booking_ids: list[int]
    # What the demo did, line by line, each line by language ("en", "zh-CN").
    money_story: list[dict[str, str]]
    matching_story: list[dict[str, str]]


def _next_weekday(now: datetime, weekday: int, zone: ZoneInfo) -> datetime:
    """Local midnight of the next given weekday, at least two days ahead."""
    day = now.astimezone(zone).date() + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone)


def seed_demo(session: Session, *, ctx: ServiceContext) -> DemoMarket:
    ids: dict[str, int] = {}
    keys: dict[str, str] = {}
    for spec in PARTICIPANTS:
        fields = {k: v for k, v in spec.items() if k != "key"}
        participant = create_participant(session, ctx=ctx, **fields)
        ids[spec["key"]] = participant.id
        keys[spec["key"]] = issue_api_key(session, ctx=ctx, participant_id=participant.id)
    principals = {key: principal_of(p) for key, p in _participants(session, ids).items()}

    resource_ids = [
        create_resource(
            session, ctx=ctx, principal=principals[owner], spec=ResourceIn(**BASE, **spec)
        ).id
        for owner, spec in RESOURCES
    ]
    set_demo_terms(session, ctx=ctx, charger_id=resource_ids[4])
    booking_ids = _seed_bookings(session, ctx, principals, resource_ids)
    story = seed_money(session, ctx=ctx, booking_ids=booking_ids)
    monday = _next_weekday(ctx.clock.now(), 0, ZoneInfo(ZONE))
    matching = seed_matching(session, ctx=ctx, principals=principals, monday=monday)
    return DemoMarket(keys, ids, resource_ids, booking_ids, story, matching)


def _participants(session: Session, ids: dict[str, int]) -> dict[str, Any]:
    return {key: get_participant(session, participant_id=pid) for key, pid in ids.items()}


def _seed_bookings(
    session: Session, ctx: ServiceContext, principals: dict[str, Any], resource_ids: list[int]
) -> list[int]:
    zone = ZoneInfo(ZONE)
    monday = _next_weekday(ctx.clock.now(), 0, zone)
    masks, suits, cnc, parking, chargers, swap, liwei, _chenjing = resource_ids
    plan = [
        # (demander, resource, start offset hours, hours, quantity, then)
        ("clinic", masks, 0, 72, 15000, [("textiles", Event.ACCEPT)]),
        ("appliances", suits, 24, 48, 1000, []),
        ("appliances", cnc, 9, 4, 1, [("cnc", Event.ACCEPT)]),
        ("driver", parking, 9, 8, 1, []),
        ("driver", chargers, 12, 1, 1, []),
        ("driver", swap, 30, 0.25, 1, []),
        ("appliances", liwei, 19, 3, 1, []),
    ]
    booking_ids = []
    for who, resource_id, offset_h, hours, quantity, then in plan:
        start = monday + timedelta(hours=offset_h)
        request = BookingIn(
            resource_id=resource_id,
            start=start,
            end=start + timedelta(hours=hours),
            quantity=quantity,
        )
        booking = create_booking(session, ctx=ctx, principal=principals[who], request=request)
        for actor, event in then:
            transition_booking(
                session, ctx=ctx, principal=principals[actor], booking_id=booking.id, event=event
            )
        booking_ids.append(booking.id)
    return booking_ids
