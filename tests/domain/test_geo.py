"""Distances and the bounding boxes the search index narrows by."""

import math

from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.geo import EARTH_RADIUS_KM, bounding_box, haversine_km


def destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point `km` away on a great circle (spherical destination formula)."""
    d, b = km / EARTH_RADIUS_KM, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def test_known_distance_shenzhen_to_guangzhou() -> None:
    # Civic centres about 104 km apart.
    assert 100 < haversine_km(22.543, 114.058, 23.129, 113.264) < 108


@given(
    st.floats(-85, 85),
    st.floats(-179.9, 179.9),
    st.floats(0, 360),
    st.floats(0.1, 500),
    st.floats(0, 1),
)
def test_every_point_within_the_radius_lies_in_the_box(
    lat: float, lon: float, bearing: float, radius: float, fraction: float
) -> None:
    point = destination(lat, lon, bearing, radius * fraction * 0.999)
    box = bounding_box(lat, lon, radius)
    assert box.min_lat <= point[0] <= box.max_lat
    assert box.min_lon <= point[1] <= box.max_lon
