"""Resources and their units: listing spare capacity, changing it, reading it back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from sparecap.db.models import AvailabilityWindow, Resource, Unit
from sparecap.domain.availability import BookingRules, WeeklyWindow
from sparecap.domain.categories import AttributeValidationError, validate_attributes
from sparecap.domain.geo import valid_point
from sparecap.domain.money import MAX_MINOR, MINOR_UNIT_EXPONENT
from sparecap.services.categories import get_category, schema_of
from sparecap.services.context import ServiceContext
from sparecap.services.errors import InvalidInputError, NotFoundError
from sparecap.services.principals import Principal, Role

_ZONES = available_timezones()
# Ten years: the furthest ahead a provider may open its resource to bookings.
MAX_BOOKING_WINDOW_DAYS = 3660

PriceUnit = Literal["hour", "day", "piece"]
CapacityMode = Literal["exclusive", "pooled"]


class UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(default=1, ge=1, le=10**9)
    capacity_unit: str = Field(default="unit", max_length=32)


class WindowIn(BaseModel):
    """Open on `weekday` (0 Monday … 6 Sunday) from start to end minute, local wall clock."""

    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6)
    start_minute: int = Field(ge=0, lt=1440)
    end_minute: int = Field(gt=0, le=1440)

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.end_minute <= self.start_minute:
            raise ValueError("end_minute must be after start_minute")
        return self

    def to_domain(self) -> WeeklyWindow:
        return WeeklyWindow(self.weekday, self.start_minute, self.end_minute)


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_minutes: int = Field(default=15, ge=1, le=1440)
    min_duration_minutes: int = Field(default=15, ge=1)
    max_duration_minutes: int | None = Field(default=None, ge=1)
    min_notice_minutes: int = Field(default=0, ge=0)
    booking_window_days: int | None = Field(default=90, ge=1, le=MAX_BOOKING_WINDOW_DAYS)
    buffer_before_minutes: int = Field(default=0, ge=0, le=1440)
    buffer_after_minutes: int = Field(default=0, ge=0, le=1440)

    @model_validator(mode="after")
    def _consistent(self) -> RulesIn:
        try:
            self.to_domain()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_domain(self) -> BookingRules:
        return BookingRules(
            slot_minutes=self.slot_minutes,
            min_duration=timedelta(minutes=self.min_duration_minutes),
            max_duration=(
                timedelta(minutes=self.max_duration_minutes)
                if self.max_duration_minutes is not None
                else None
            ),
            min_notice=timedelta(minutes=self.min_notice_minutes),
            booking_window=(
                timedelta(days=self.booking_window_days)
                if self.booking_window_days is not None
                else None
            ),
            buffer_before=timedelta(minutes=self.buffer_before_minutes),
            buffer_after=timedelta(minutes=self.buffer_after_minutes),
        )


class ResourceIn(BaseModel):
    """Everything that describes a listing. Validated here, so API and CSV import agree."""

    model_config = ConfigDict(extra="forbid")

    category: str
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    lat: float
    lon: float
    address: str = Field(default="", max_length=300)
    timezone: str
    currency: str
    price_minor: int = Field(ge=0, le=MAX_MINOR)
    price_unit: PriceUnit = "hour"
    instant_book: bool = True
    capacity_mode: CapacityMode = "exclusive"
    units: list[UnitIn] = Field(min_length=1, max_length=1000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    rules: RulesIn = Field(default_factory=RulesIn)
    windows: list[WindowIn] = Field(default_factory=list, max_length=200)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _ZONES:
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in MINOR_UNIT_EXPONENT:
            raise ValueError(f"unknown currency {value!r}; known: {sorted(MINOR_UNIT_EXPONENT)}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ResourceIn:
        if not valid_point(self.lat, self.lon):
            raise ValueError("lat must be within ±90 and lon within ±180")
        names = [u.name for u in self.units]
        if len(set(names)) != len(names):
            raise ValueError("unit names must be unique within a resource")
        if self.capacity_mode == "exclusive" and any(u.capacity != 1 for u in self.units):
            raise ValueError("exclusive units take one booking at a time: capacity must be 1")
        return self


def _check_attributes(session: Session, category_code: str, attributes: dict[str, Any]) -> int:
    category = get_category(session, code=category_code)
    try:
        validate_attributes(schema_of(category), attributes)
    except AttributeValidationError as exc:
        raise InvalidInputError(
            f"attributes do not fit category {category_code!r}: {exc}",
            code="invalid_attributes",
            problems=exc.problems,
        ) from exc
    return category.id


def create_resource(
    session: Session, *, ctx: ServiceContext, principal: Principal, spec: ResourceIn
) -> Resource:
    principal.require(Role.PROVIDER, Role.OPERATOR)
    category_id = _check_attributes(session, spec.category, spec.attributes)
    resource = Resource(
        provider_id=principal.participant_id,
        category_id=category_id,
        created_at=ctx.clock.now(),
        **_columns(spec),
    )
    exclusive = spec.capacity_mode == "exclusive"
    resource.units = [
        Unit(name=u.name, exclusive=exclusive, capacity=u.capacity, capacity_unit=u.capacity_unit)
        for u in spec.units
    ]
    resource.windows = [
        AvailabilityWindow(weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute)
        for w in spec.windows
    ]
    session.add(resource)
    session.flush()
    return resource


# Columns a resource shares one to one with its ResourceIn.
_SCALARS = (
    "name", "description", "lat", "lon", "address", "timezone", "currency",
    "price_minor", "price_unit", "instant_book", "capacity_mode", "attributes",
)  # fmt: skip


def _columns(spec: ResourceIn) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in _SCALARS} | spec.rules.model_dump()


class ResourceUpdate(BaseModel):
    """Fields a provider may change on a live listing. Capacity model and units stay fixed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    address: str | None = Field(default=None, max_length=300)
    price_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    instant_book: bool | None = None
    active: bool | None = None
    attributes: dict[str, Any] | None = None
    rules: RulesIn | None = None


def update_resource(
    session: Session, *, principal: Principal, resource_id: int, changes: ResourceUpdate
) -> Resource:
    resource = get_resource_for_change(session, principal=principal, resource_id=resource_id)
    if changes.attributes is not None:
        _check_attributes(session, resource.category.code, changes.attributes)
        resource.attributes = changes.attributes
    for name in ("name", "description", "address", "price_minor", "instant_book", "active"):
        value = getattr(changes, name)
        if value is not None:
            setattr(resource, name, value)
    if changes.rules is not None:
        for key, value in changes.rules.model_dump().items():
            setattr(resource, key, value)
    session.flush()
    return resource


def get_resource(session: Session, *, resource_id: int) -> Resource:
    # The weekly plan comes along in the same query: every booking check reads it.
    resource = session.get(Resource, resource_id, options=[joinedload(Resource.windows)])
    if resource is None:
        raise NotFoundError(f"resource {resource_id} not found", code="unknown_resource")
    return resource


def get_resource_for_change(
    session: Session, *, principal: Principal, resource_id: int
) -> Resource:
    """The resource, if the caller may change it: its own provider or an operator."""
    principal.require(Role.PROVIDER, Role.OPERATOR)
    resource = get_resource(session, resource_id=resource_id)
    principal.require_owner_or_operator(resource.provider_id, "resource")
    return resource


# Loader options for reading whole listings (API output, export) in a fixed number of queries.
WITH_DETAILS = (
    selectinload(Resource.units),
    selectinload(Resource.windows),
    selectinload(Resource.exceptions),
)
# What free-time computations read of many resources at once (units and the weekly plan; they
# read the exceptions of their own span, not a resource's whole history of them).
WITH_PLAN = (selectinload(Resource.units), selectinload(Resource.windows))


def list_resources(
    session: Session,
    *,
    provider_id: int | None = None,
    category: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Resource]:
    query = select(Resource).options(*WITH_DETAILS).order_by(Resource.id).limit(limit)
    query = query.offset(offset)
    if provider_id is not None:
        query = query.where(Resource.provider_id == provider_id)
    if category is not None:
        query = query.where(Resource.category_id == get_category(session, code=category).id)
    return list(session.scalars(query))


def rules_of(resource: Resource) -> BookingRules:
    return RulesIn.model_validate(resource, from_attributes=True).to_domain()


def zone_of(resource: Resource) -> ZoneInfo:
    return ZoneInfo(resource.timezone)


def spec_of(resource: Resource) -> ResourceIn:
    """The resource as the input that would create it again (for export)."""
    return ResourceIn(
        category=resource.category.code,
        units=[UnitIn.model_validate(u, from_attributes=True) for u in resource.units],
        rules=RulesIn.model_validate(resource, from_attributes=True),
        windows=[WindowIn.model_validate(w, from_attributes=True) for w in resource.windows],
        **{k: getattr(resource, k) for k in _SCALARS},
    )


def add_unit(session: Session, *, principal: Principal, resource_id: int, unit: UnitIn) -> Unit:
    resource = get_resource_for_change(session, principal=principal, resource_id=resource_id)
    exclusive = resource.capacity_mode == "exclusive"
    if exclusive and unit.capacity != 1:
        raise InvalidInputError("exclusive units take one booking at a time: capacity must be 1")
    if any(u.name == unit.name for u in resource.units):
        raise InvalidInputError(f"resource {resource_id} already has a unit named {unit.name!r}")
    row = Unit(
        name=unit.name,
        exclusive=exclusive,
        capacity=unit.capacity,
        capacity_unit=unit.capacity_unit,
    )
    resource.units.append(row)
    session.flush()
    return row
