"""Which resources lie near which demands: the category/geo index, then a grid join in memory.

One indexed query per category reads the resources inside the box around all the category's
demands (ix_resources_category_geo); the grid of domain/matching/candidates then pairs each
demand with its nearest resources without measuring every pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.domain.geo import EARTH_RADIUS_KM, bounding_box
from sparecap.domain.matching.candidates import nearby_candidates
from sparecap.domain.matching.core import FloatArray, IntArray

# Nearest resources kept per demand before the other filters. A demand that needs a 5 kW
# charger in a city of 1,000 chargers does not need all of them measured against its price.
NEAR_LIMIT = 64
# Resources kept for an "anywhere" demand, cheapest first (shipping is by courier).
ANYWHERE_LIMIT = 200
# The planar projection below is a little off far from its reference latitude; the grid looks
# this much further and haversine then decides exactly.
PROJECTION_SLACK = 1.02


@dataclass(frozen=True, slots=True, eq=False)
class NearPairs:
    """Pair k: the demand at position demand[k] of the list asked about may use resource id
    resource[k], which lies km[k] away (NaN when the demand has no location)."""

    demand: IntArray
    resource: IntArray
    km: FloatArray

    @property
    def size(self) -> int:
        return int(self.demand.size)


def resources_near(session: Session, *, category_id: int, demands: Sequence[Demand]) -> NearPairs:
    """Active resources of the category in range of each demand."""
    local = [i for i, d in enumerate(demands) if d.max_distance_km is not None]
    anywhere = [i for i, d in enumerate(demands) if d.max_distance_km is None]
    query = select(Resource.id, Resource.lat, Resource.lon, Resource.price_minor).where(
        Resource.category_id == category_id, Resource.active.is_(True)
    )
    if not anywhere:
        boxes = [bounding_box(d.lat, d.lon, d.max_distance_km) for d in demands]  # type: ignore[arg-type]
        query = query.where(
            Resource.lat.between(min(b.min_lat for b in boxes), max(b.max_lat for b in boxes)),
            Resource.lon.between(min(b.min_lon for b in boxes), max(b.max_lon for b in boxes)),
        )
    rows = session.execute(query.order_by(Resource.id)).all()
    ids = np.array([r.id for r in rows], np.int64)
    lat = np.array([r.lat for r in rows], np.float64)
    lon = np.array([r.lon for r in rows], np.float64)
    parts = [_empty()]
    if local and rows:
        parts.append(_local_pairs([demands[i] for i in local], np.array(local), ids, lat, lon))
    if anywhere and rows:
        keep = np.argsort(np.array([r.price_minor for r in rows]), kind="stable")[:ANYWHERE_LIMIT]
        d_lat, d_lon = _coordinates([demands[i] for i in anywhere])
        who = np.repeat(np.array(anywhere, np.int64), keep.size)
        k = np.tile(keep, len(anywhere))
        km = _haversine(np.repeat(d_lat, keep.size), np.repeat(d_lon, keep.size), lat[k], lon[k])
        parts.append(NearPairs(who, ids[k], km))
    return NearPairs(
        np.concatenate([p.demand for p in parts]),
        np.concatenate([p.resource for p in parts]),
        np.concatenate([p.km for p in parts]),
    )


def _empty() -> NearPairs:
    return NearPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


def _coordinates(demands: Sequence[Demand]) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes, NaN where a demand has none (haversine then gives NaN)."""
    lat = np.array([np.nan if d.lat is None else d.lat for d in demands], np.float64)
    lon = np.array([np.nan if d.lon is None else d.lon for d in demands], np.float64)
    return lat, lon


def _project(lat: FloatArray, lon: FloatArray, ref_lat: float) -> FloatArray:
    """Equirectangular km around ref_lat: exact enough at city scale, then checked exactly."""
    k = math.pi / 180 * EARTH_RADIUS_KM
    return np.stack([lon * k * math.cos(math.radians(ref_lat)), lat * k], axis=1)


def _local_pairs(
    demands: list[Demand], positions: IntArray, ids: IntArray, lat: FloatArray, lon: FloatArray
) -> NearPairs:
    d_lat, d_lon = _coordinates(demands)
    radius = np.array([d.max_distance_km for d in demands], dtype=np.float64)
    ref = float(np.mean(d_lat))
    found = nearby_candidates(
        _project(d_lat, d_lon, ref),
        _project(lat, lon, ref),
        radius=float(radius.max()) * PROJECTION_SLACK,
        max_candidates=NEAR_LIMIT,
    )
    di, ri = found.demand, found.unit
    km = _haversine(d_lat[di], d_lon[di], lat[ri], lon[ri])
    keep = km <= radius[di]
    return NearPairs(positions[di[keep]], ids[ri[keep]], km[keep])


def _haversine(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """domain.geo.haversine_km over arrays (the same formula, vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result
