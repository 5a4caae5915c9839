"""Submit-to-checkpoint latency: from a booking's 201 to a receipt that proves its entry.

A real server signs checkpoints on its interval (default 1 s); a client books one slot at a
time, then polls the booking's evidence until its entries are covered by a signed checkpoint.
Run: .venv/bin/python bench/checkpoint_latency.py [--bookings N] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.pgserver import PgServer, find_bindir
from tests.support.server import (
    charger_spec,
    create_market,
    expect,
    http_client,
    next_local,
    serve_with_operator,
)

POLL_SECONDS = 0.02


def measure(url: str, bookings: int) -> list[float]:
    server, operator = serve_with_operator(url)
    latencies = []
    with server, http_client(server.base_url) as client:
        market = create_market(client, operator)
        provider = {"Authorization": f"Bearer {market.provider.key}", "Idempotency-Key": "r"}
        resource = expect(client.post("/v1/resources", headers=provider, json=charger_spec(1)), 201)
        demander = {"Authorization": f"Bearer {market.demander.key}"}
        start = next_local(0, 0)
        for i in range(bookings):
            slot = start + timedelta(minutes=15 * i)
            body = {
                "resource_id": resource["id"],
                "start": slot.isoformat(),
                "end": (slot + timedelta(minutes=15)).isoformat(),
            }
            headers = {**demander, "Idempotency-Key": f"b{i}"}
            booking = expect(client.post("/v1/bookings", headers=headers, json=body), 201)
            booked = time.perf_counter()
            path = f"/v1/bookings/{booking['id']}/evidence"
            while client.get(path, headers=demander).status_code != 200:
                time.sleep(POLL_SECONDS)
            latencies.append(time.perf_counter() - booked)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "sqlite":
            latencies = measure(f"sqlite:///{tmp}/latency.sqlite3", args.bookings)
        else:
            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("PostgreSQL binaries not found")
            server = PgServer(bindir, durable=True).start()
            try:
                server.sql("CREATE DATABASE bench")
                latencies = measure(server.url("bench"), args.bookings)
            finally:
                server.stop()
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    load = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cpus, load {load[0]:.1f}; "
        f"{args.database}, {len(latencies)} bookings, checkpoint interval 1 s"
    )
    print(
        f"submit-to-checkpoint: median {statistics.median(latencies):.3f} s, "
        f"p99 {p99:.3f} s, max {latencies[-1]:.3f} s"
    )


if __name__ == "__main__":
    main()
