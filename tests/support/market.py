"""Small builders for service and API tests: participants and resources with sane defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sparecap.bootstrap import Platform
from sparecap.services.participants import create_participant, issue_api_key, principal_of
from sparecap.services.principals import Principal
from sparecap.services.resources import ResourceIn, create_resource


@dataclass
class Party:
    id: int
    principal: Principal
    key: str


def party(platform: Platform, name: str, *roles: str) -> Party:
    with platform.db.write() as s:
        p = create_participant(
            s, ctx=platform.ctx, name=name, kind="organisation", roles=list(roles)
        )
        key = issue_api_key(s, ctx=platform.ctx, participant_id=p.id)
        return Party(p.id, principal_of(p), key)


def charger_spec(**overrides: Any) -> dict[str, Any]:
    """Two exclusive 60 kW connectors in Shanghai time, open 08:00-20:00 every day."""
    spec: dict[str, Any] = {
        "category": "ev_charger",
        "name": "Test chargers",
        "lat": 31.23,
        "lon": 121.47,
        "timezone": "Asia/Shanghai",
        "currency": "CNY",
        "price_minor": 4000,
        "price_unit": "hour",
        "capacity_mode": "exclusive",
        "units": [{"name": "c1"}, {"name": "c2"}],
        "attributes": {"kw": 60, "connector": "gbt_dc"},
        "rules": {"slot_minutes": 15, "min_duration_minutes": 15, "booking_window_days": 60},
        "windows": [{"weekday": d, "start_minute": 480, "end_minute": 1200} for d in range(7)],
    }
    spec.update(overrides)
    return spec


def bays_spec(capacity: int = 3, **overrides: Any) -> dict[str, Any]:
    return charger_spec(
        category="parking_bay",
        name="Test bays",
        capacity_mode="pooled",
        units=[{"name": "pool", "capacity": capacity, "capacity_unit": "bays"}],
        attributes={"covered": True},
        **overrides,
    )


def make_resource(platform: Platform, owner: Party, spec: dict[str, Any]) -> int:
    with platform.db.write() as s:
        r = create_resource(s, ctx=platform.ctx, principal=owner.principal, spec=ResourceIn(**spec))
        return r.id
