"""Search for free capacity across resources."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from sparecap.api.deps import PlatformDep, PrincipalDep
from sparecap.api.schemas import ResourceOut, SearchHitOut, UnitFreeOut
from sparecap.services.availability import query_span
from sparecap.services.errors import InvalidInputError
from sparecap.services.search import search_resources

router = APIRouter(prefix="/v1/search", tags=["search"])


def _attributes(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidInputError(
            'attributes must be a JSON object, e.g. {"kw": 60}', code="invalid_search"
        )
    return parsed


@router.get("", response_model=list[SearchHitOut])
def search(
    platform: PlatformDep,
    _principal: PrincipalDep,
    category: str,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    quantity: Annotated[int, Query(ge=1)] = 1,
    max_price_minor: Annotated[int | None, Query(ge=0)] = None,
    currency: str | None = None,
    attributes: Annotated[
        str | None, Query(description='JSON object of required attributes: {"kw": 60}')
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SearchHitOut]:
    """Resources of a category near a point whose free time covers [start, end).

    Numbers in `attributes` are minimums, lists must be contained, other values must match.
    `max_price_minor` caps the unit price (per hour, day or piece) in minor units.
    """
    if (start is None) != (end is None):
        raise InvalidInputError("start and end go together", code="invalid_search")
    window = query_span(start, end) if start is not None and end is not None else None
    with platform.db.read() as session:
        hits = search_resources(
            session,
            ctx=platform.ctx,
            category=category,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            attributes=_attributes(attributes),
            window=window,
            quantity=quantity,
            max_price_minor=max_price_minor,
            currency=currency,
            limit=limit,
        )
        return [
            SearchHitOut(
                resource=ResourceOut.of(h.resource),
                distance_km=round(h.distance_km, 3) if h.distance_km is not None else None,
                free_units=[UnitFreeOut.of(u) for u in h.free],
            )
            for h in hits
        ]
