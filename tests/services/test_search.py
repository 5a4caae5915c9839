"""Search is served by the category/geo index, not a scan of every resource."""

from __future__ import annotations

from sqlalchemy import text

from sparecap.bootstrap import Platform
from sparecap.domain.geo import bounding_box
from tests.support.market import charger_spec, make_resource, party

QUERY = (
    "SELECT id FROM resources WHERE category_id = :c AND active AND lat BETWEEN :a AND :b"
    " AND lon BETWEEN :d AND :e AND price_minor <= :p"
)


def test_the_search_query_uses_the_geo_index(platform: Platform) -> None:
    owner = party(platform, "Provider", "provider")
    for i in range(30):
        make_resource(platform, owner, charger_spec(name=f"c{i}", lat=30 + i * 0.1))
    box = bounding_box(31.23, 121.47, 10)
    params = {"c": 4, "a": box.min_lat, "b": box.max_lat, "d": box.min_lon, "e": box.max_lon,
              "p": 5000}  # fmt: skip
    with platform.db.read() as s:
        if platform.db.is_sqlite:
            plan = " ".join(str(r) for r in s.execute(text("EXPLAIN QUERY PLAN " + QUERY), params))
        else:
            # A table this small is cheaper to scan; forbid that to see which index serves it.
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(r[0] for r in s.execute(text("EXPLAIN " + QUERY), params))
    assert "ix_resources_category_geo" in plan, plan
