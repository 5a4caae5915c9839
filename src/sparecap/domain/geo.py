"""Distances on the Earth and the bounding boxes that let an index find what is near."""

from __future__ import annotations

import math
from dataclasses import dataclass

# IUGG mean Earth radius (Moritz, "Geodetic Reference System 1980"), in kilometres.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Box:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> Box:
    """A box containing every point within radius_km (it over-covers; filter by distance after).

    Near the poles or across the antimeridian the longitude span widens to the whole circle,
    which keeps the box correct at the price of a wider index range.
    """
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    if cos_lat < 1e-6 or abs(lat) + dlat >= 90:
        return Box(max(-90.0, lat - dlat), min(90.0, lat + dlat), -180.0, 180.0)
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat))
    if lon - dlon < -180 or lon + dlon > 180:
        return Box(lat - dlat, lat + dlat, -180.0, 180.0)
    return Box(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def valid_point(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0
