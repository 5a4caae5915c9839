"""A batch matching round on a live database: 10,000 open demands x 10,000 units, holds included.

Run: .venv/bin/python bench/matching_round.py [--demands 10000] [--units 10000] [--no-postgres]

The market: 2,000 charging hubs of 5 connectors each, scattered over a 40 km square around
Shenzhen, open 08:00-20:00; demands for one hour between 10:00 and 14:00 on one day, within
5 km, some with a price ceiling under every hub's price. The seeding writes rows directly
(it is not what is measured); the round is the one use case `run_round`, in one transaction:
candidates from the database, the solve, and the holds through the booking service's batch path.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the PostgreSQL helper lives in tests/support

from sqlalchemy import func, insert, select, text  # noqa: E402
from tests.support.pgserver import PgServer, find_bindir  # noqa: E402

from sparecap.bootstrap import Platform, Settings, build_platform  # noqa: E402
from sparecap.db.demands import Demand  # noqa: E402
from sparecap.db.models import AvailabilityWindow, Category, Participant, Resource, Unit  # noqa: E402
from sparecap.domain.clock import FixedClock  # noqa: E402
from sparecap.services.principals import Principal, Role  # noqa: E402
from sparecap.services.rounds import RoundIn, run_round  # noqa: E402

UNITS_PER_HUB = 5
CENTRE = (22.543, 114.058)  # Shenzhen Civic Centre
SPREAD_DEG = 0.18  # about 20 km each way
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
DAY = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shenzhen
OVERLAPS = text(
    "SELECT count(*) FROM bookings a JOIN bookings b"
    " ON a.unit_id = b.unit_id AND a.id < b.id"
    " AND a.block_start < b.block_end AND b.block_start < a.block_end"
    " WHERE a.status IN ('held','requested','confirmed','in_use')"
    " AND b.status IN ('held','requested','confirmed','in_use')"
)


def seed(platform: Platform, demands: int, units: int, rng: random.Random) -> None:
    hubs = units // UNITS_PER_HUB
    with platform.db.write() as s:
        cat = s.scalar(select(Category.id).where(Category.code == "ev_charger"))
        people = [{"kind": "organisation", "name": f"p{i}", "roles": ["provider"],
                   "verification_level": 0, "created_at": NOW} for i in range(200)]  # fmt: skip
        people.append({"kind": "organisation", "name": "demanders", "roles": ["demander"],
                       "verification_level": 0, "created_at": NOW})  # fmt: skip
        s.execute(insert(Participant), people)
        demander = s.scalar(select(func.max(Participant.id)))
        s.execute(insert(Resource), [_hub(i, cat, rng) for i in range(hubs)])
        ids = list(s.scalars(select(Resource.id).order_by(Resource.id)))
        s.execute(insert(Unit), [{"resource_id": r, "name": f"c{k}", "exclusive": True,
                                  "capacity": 1, "capacity_unit": "connector"}
                                 for r in ids for k in range(UNITS_PER_HUB)])  # fmt: skip
        s.execute(insert(AvailabilityWindow), [{"resource_id": r, "weekday": d,
                                                "start_minute": 480, "end_minute": 1200}
                                               for r in ids for d in range(7)])  # fmt: skip
        s.execute(insert(Demand), [_demand(i, cat, demander, rng) for i in range(demands)])


def _hub(i: int, cat: int | None, rng: random.Random) -> dict[str, object]:
    return {"provider_id": 1 + i % 200, "category_id": cat, "name": f"hub {i}",
            "description": "", "lat": CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG),
            "lon": CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG), "address": "",
            "timezone": "Asia/Shanghai", "currency": "CNY",
            "price_minor": rng.randrange(3000, 6000, 100), "price_unit": "hour",
            "instant_book": True, "capacity_mode": "exclusive",
            "attributes": {"kw": rng.choice([60, 120, 180]), "connector": "gbt_dc"},
            "slot_minutes": 15, "min_duration_minutes": 15, "max_duration_minutes": None,
            "min_notice_minutes": 0, "booking_window_days": 60, "buffer_before_minutes": 0,
            "buffer_after_minutes": 0, "active": True, "created_at": NOW}  # fmt: skip


def _demand(i: int, cat: int | None, demander: int | None, rng: random.Random) -> dict[str, object]:
    start = DAY + timedelta(hours=rng.randrange(0, 4))
    return {"demander_id": demander, "category_id": cat, "title": f"d{i}",
            "attributes": {"kw": rng.choice([50, 100])}, "quantity": 1, "quantity_unit": "hours",
            "matched_quantity": 0, "earliest_start": start, "deadline": start + timedelta(hours=2),
            "lat": CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG),
            "lon": CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG), "max_distance_km": 5.0,
            "max_price_minor": rng.choice([3500, 5000, 7000]), "currency": "CNY",
            "splittable": False, "min_lot": 1, "status": "open",
            "created_at": NOW, "updated_at": NOW}  # fmt: skip


def measure(url: str, label: str, demands: int, units: int, share: float | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sparecap-round-"))
    plat = build_platform(
        Settings(database_url=url, ledger_key_path=folder / "ledger.key"), clock=FixedClock(NOW)
    )
    try:
        seed(plat, demands, units, random.Random(7))
        operator = Principal(1, frozenset({Role.OPERATOR}))
        started = time.perf_counter()
        with plat.db.write() as s:
            result = run_round(s, ctx=plat.ctx, principal=operator,
                               spec=RoundIn(fairness_share=share, limit=demands))  # fmt: skip
            rnd = result.round
            summary = (rnd.demands, rnd.matched, rnd.objective, rnd.lost_races, dict(rnd.solvers))
        seconds = time.perf_counter() - started
        with plat.db.read() as s:
            overlaps = s.scalar(OVERLAPS)
        solver = summary[4].get("unit_assignment", {})
        phases = summary[4].get("phase_seconds", {})
        cells = [label, share or "-", *summary[:3], solver.get("objective_without_cap", "-"),
                 phases.get("candidates"), phases.get("solve"), phases.get("holds"),
                 f"{seconds:.2f}", overlaps]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    finally:
        plat.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demands", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print(
        "| database | fairness share | demands | matched | objective | objective without cap "
        "| candidates s | solve s | holds s | round s (with commit) | overlapping bookings |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for share in (None, 0.002):
            url = f"sqlite:///{tmp}/round-{share}.sqlite3"
            measure(url, "SQLite", args.demands, args.units, share)
    bindir = None if args.no_postgres else find_bindir()
    if bindir is None:
        print("PostgreSQL: skipped (no server binaries, or --no-postgres)")
        return
    server = PgServer(bindir, durable=True).start()
    try:
        for n, share in enumerate((None, 0.002)):
            server.sql(f"CREATE DATABASE round{n}")
            measure(server.url(f"round{n}"), "PostgreSQL", args.demands, args.units, share)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
