"""Which resources lie near which demands: the category/geo index, then a grid join in memory.

One indexed query per category reads the resources inside the box around all the category's
demands (ix_resources_category_geo); the grid of domain/matching/candidates then pairs each
demand with its nearest resources without measuring every pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand
from sparecap.db.models import Resource
from sparecap.domain.geo import EARTH_RADIUS_KM, bounding_box, haversine_km
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

Pairs = dict[int, list[tuple[int, float | None]]]


def resources_near(session: Session, *, category_id: int, demands: Sequence[Demand]) -> Pairs:
    """Per demand id, (resource id, km or None) of active resources of the category in range."""
    anywhere = [d for d in demands if d.max_distance_km is None]
    local = [d for d in demands if d.max_distance_km is not None]
    query = select(Resource.id, Resource.lat, Resource.lon, Resource.price_minor).where(
        Resource.category_id == category_id, Resource.active.is_(True)
    )
    if not anywhere:
        boxes = [bounding_box(d.lat, d.lon, d.max_distance_km) for d in local]  # type: ignore[arg-type]
        query = query.where(
            Resource.lat.between(min(b.min_lat for b in boxes), max(b.max_lat for b in boxes)),
            Resource.lon.between(min(b.min_lon for b in boxes), max(b.max_lon for b in boxes)),
        )
    rows = session.execute(query.order_by(Resource.id)).all()
    if not rows:
        return {}
    ids = np.array([r.id for r in rows], np.int64)
    lat = np.array([r.lat for r in rows])
    lon = np.array([r.lon for r in rows])
    pairs: Pairs = {}
    if local:
        pairs.update(_local_pairs(local, ids, lat, lon))
    if anywhere:
        by_price = np.argsort(np.array([r.price_minor for r in rows]), kind="stable")
        keep = by_price[:ANYWHERE_LIMIT]
        for d in anywhere:
            pairs[d.id] = [(int(ids[k]), _km(d, lat[k], lon[k])) for k in keep]
    return pairs


def _km(demand: Demand, lat: float, lon: float) -> float | None:
    if demand.lat is None or demand.lon is None:
        return None
    return haversine_km(demand.lat, demand.lon, float(lat), float(lon))


def _project(lat: FloatArray, lon: FloatArray, ref_lat: float) -> FloatArray:
    """Equirectangular km around ref_lat: exact enough at city scale, then checked exactly."""
    k = math.pi / 180 * EARTH_RADIUS_KM
    return np.stack([lon * k * math.cos(math.radians(ref_lat)), lat * k], axis=1)


def _local_pairs(
    demands: list[Demand],
    ids: IntArray,
    lat: FloatArray,
    lon: FloatArray,
) -> Pairs:
    d_lat = np.array([d.lat for d in demands], dtype=np.float64)
    d_lon = np.array([d.lon for d in demands], dtype=np.float64)
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
    demand_ids = [d.id for d in demands]
    pairs: Pairs = {d: [] for d in demand_ids}
    for d, r, k in zip(di[keep].tolist(), ids[ri[keep]].tolist(), km[keep].tolist(), strict=True):
        pairs[demand_ids[d]].append((r, k))
    return pairs


def _haversine(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """domain.geo.haversine_km over arrays (the same formula, vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result
