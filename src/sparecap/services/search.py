"""Search across resources: category, attributes, radius, free time and price ceiling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.models import Resource
from sparecap.domain.availability import Interval
from sparecap.domain.categories import satisfies
from sparecap.domain.geo import bounding_box, haversine_km, valid_point
from sparecap.services.availability import UnitFreeTime, free_time
from sparecap.services.categories import get_category, schema_of
from sparecap.services.context import ServiceContext
from sparecap.services.errors import InvalidInputError
from sparecap.services.resources import WITH_DETAILS

MAX_RADIUS_KM = 500.0


@dataclass(frozen=True, slots=True)
class SearchHit:
    resource: Resource
    distance_km: float | None
    free: list[UnitFreeTime]


def search_resources(
    session: Session,
    *,
    ctx: ServiceContext,
    category: str,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    attributes: dict[str, Any] | None = None,
    window: Interval | None = None,
    quantity: int = 1,
    max_price_minor: int | None = None,
    currency: str | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Active resources that fit, nearest first (or by id without a point).

    The database narrows by category and a latitude/longitude box on the composite index
    ix_resources_category_geo; exact distance, attributes and free time are checked only for
    the rows that index returns. With a window, a resource is a hit only if some unit has a free
    stretch covering the whole window.
    """
    cat = get_category(session, code=category)
    query = select(Resource).options(*WITH_DETAILS)
    query = query.where(Resource.category_id == cat.id, Resource.active.is_(True))
    near = _near(lat, lon, radius_km)
    if near is not None:
        box = bounding_box(near[0], near[1], near[2])
        query = query.where(
            Resource.lat.between(box.min_lat, box.max_lat),
            Resource.lon.between(box.min_lon, box.max_lon),
        )
    if max_price_minor is not None:
        query = query.where(Resource.price_minor <= max_price_minor)
    if currency is not None:
        query = query.where(Resource.currency == currency)
    schema = schema_of(cat)
    hits: list[SearchHit] = []
    for resource in session.scalars(query.order_by(Resource.id)):
        distance = None
        if near is not None:
            distance = haversine_km(near[0], near[1], resource.lat, resource.lon)
            if distance > near[2]:
                continue
        if attributes and not satisfies(schema, resource.attributes, attributes):
            continue
        free: list[UnitFreeTime] = []
        if window is not None:
            free = _covering(session, ctx, resource, window, quantity)
            if not free:
                continue
        hits.append(SearchHit(resource, distance, free))
    hits.sort(key=lambda h: (h.distance_km or 0.0, h.resource.id))
    return hits[:limit]


def _near(
    lat: float | None, lon: float | None, radius_km: float | None
) -> tuple[float, float, float] | None:
    given = [v is not None for v in (lat, lon, radius_km)]
    if not any(given):
        return None
    if not all(given):
        raise InvalidInputError("lat, lon and radius_km go together", code="invalid_search")
    assert lat is not None and lon is not None and radius_km is not None
    if not valid_point(lat, lon) or not 0 < radius_km <= MAX_RADIUS_KM:
        raise InvalidInputError(
            f"need a valid point and 0 < radius_km <= {MAX_RADIUS_KM}", code="invalid_search"
        )
    return lat, lon, radius_km


def _covering(
    session: Session, ctx: ServiceContext, resource: Resource, window: Interval, quantity: int
) -> list[UnitFreeTime]:
    units = free_time(session, ctx=ctx, resource=resource, span=window, quantity=quantity)
    return [
        UnitFreeTime(u.unit_id, u.unit_name, u.capacity, [w])
        for u in units
        for w in u.windows
        if w.contains(window)
    ]
