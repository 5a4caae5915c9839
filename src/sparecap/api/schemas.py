"""Response shapes of the HTTP API (request shapes live with their use cases in services/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from sparecap.db.models import Booking, BookingEvent, Resource
from sparecap.domain.availability import Interval
from sparecap.domain.money import Money
from sparecap.services.availability import UnitFreeTime
from sparecap.services.resources import RulesIn, WindowIn


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ParticipantOut(Out):
    id: int
    kind: str
    name: str
    roles: list[str]
    verification_level: int
    created_at: datetime


class ApiKeyOut(BaseModel):
    participant_id: int
    api_key: str
    note: str = "Shown once: only its hash is stored."


class CategoryOut(Out):
    code: str
    name_en: str
    name_zh: str
    attribute_schema: dict[str, Any]
    builtin: bool


class UnitOut(Out):
    id: int
    name: str
    exclusive: bool
    capacity: int
    capacity_unit: str


class ExceptionOut(Out):
    id: int
    start_at: datetime
    end_at: datetime
    kind: str
    note: str


class WindowOut(BaseModel):
    start: datetime
    end: datetime

    @classmethod
    def of(cls, interval: Interval) -> WindowOut:
        return cls(start=interval.start, end=interval.end)


class ResourceOut(Out):
    id: int
    provider_id: int
    category: str
    name: str
    description: str
    lat: float
    lon: float
    address: str
    timezone: str
    currency: str
    price_minor: int
    price_unit: str
    price_display: str
    instant_book: bool
    capacity_mode: str
    attributes: dict[str, Any]
    rules: RulesIn
    units: list[UnitOut]
    weekly_plan: list[WindowIn]
    exceptions: list[ExceptionOut]
    active: bool

    @classmethod
    def of(cls, r: Resource) -> ResourceOut:
        return cls(
            **{k: getattr(r, k) for k in _RESOURCE_FIELDS},
            category=r.category.code,
            price_display=Money(r.price_minor, r.currency).format() + f" / {r.price_unit}",
            rules=RulesIn.model_validate(r, from_attributes=True),
            units=[UnitOut.model_validate(u) for u in r.units],
            weekly_plan=[WindowIn.model_validate(w, from_attributes=True) for w in r.windows],
            exceptions=[ExceptionOut.model_validate(e) for e in r.exceptions],
        )


_RESOURCE_FIELDS = (
    "id", "provider_id", "name", "description", "lat", "lon", "address", "timezone", "currency",
    "price_minor", "price_unit", "instant_book", "capacity_mode", "attributes", "active",
)  # fmt: skip


class BookingEventOut(Out):
    event: str
    from_status: str | None
    to_status: str
    actor_id: int | None
    actor_role: str
    override: bool
    reason: str
    start_at: datetime
    end_at: datetime
    at: datetime


class BookingOut(Out):
    id: int
    resource_id: int
    unit_id: int
    demander_id: int
    status: str
    quantity: int
    start_at: datetime
    end_at: datetime
    block_start: datetime
    block_end: datetime
    price_minor: int
    currency: str
    price_display: str
    timer_due_at: datetime | None
    timer_event: str | None
    note: str
    created_at: datetime
    updated_at: datetime
    events: list[BookingEventOut] | None = None

    @classmethod
    def of(cls, b: Booking, events: list[BookingEvent] | None = None) -> BookingOut:
        return cls.model_validate(
            {
                **{k: getattr(b, k) for k in cls.model_fields if hasattr(b, k) and k != "events"},
                "price_display": Money(b.price_minor, b.currency).format(),
                "events": [BookingEventOut.model_validate(e) for e in events]
                if events is not None
                else None,
            }
        )


class UnitFreeOut(BaseModel):
    unit_id: int
    unit_name: str
    capacity: int
    free: list[WindowOut]

    @classmethod
    def of(cls, u: UnitFreeTime) -> UnitFreeOut:
        return cls(
            unit_id=u.unit_id,
            unit_name=u.unit_name,
            capacity=u.capacity,
            free=[WindowOut.of(w) for w in u.windows],
        )


class FreeTimeOut(BaseModel):
    resource_id: int
    timezone: str
    query: WindowOut
    units: list[UnitFreeOut]


class SearchHitOut(BaseModel):
    resource: ResourceOut
    distance_km: float | None
    free_units: list[UnitFreeOut]


class StatusOut(BaseModel):
    participants: int
    resources: int
    units: int
    bookings: int
    bookings_by_status: dict[str, int]
    database: str
