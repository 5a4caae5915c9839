"""Booking throughput of a real server on SQLite and PostgreSQL: rate, latency, safety, memory.

Run: .venv/bin/python bench/booking_throughput.py [--seconds N] [--clients 32]

For each database a real `sparecap serve` (--workers processes, default 2) takes bookings from
concurrent client threads, each with its own keep-alive connection. Phase "distinct" books
slots nobody else asks for; phase "10% collide" re-sends a tenth of its requests for a slot that
is already taken, so those must come back 409. Afterwards the database itself is asked for
overlapping blocking bookings on one unit: the answer must be 0.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the helpers live in tests/support, not in the package

import httpx  # noqa: E402
from sqlalchemy import bindparam, create_engine, text  # noqa: E402
from tests.support.pgserver import PgServer, find_bindir  # noqa: E402
from tests.support.server import (  # noqa: E402
    Member,
    ServerProcess,
    charger_spec,
    create_market,
    expect,
    http_client,
    next_local,
    serve_with_operator,
)

from sparecap.domain.bookings import BLOCKING  # noqa: E402

SLOT = timedelta(minutes=15)
# A charging hub of 20 connectors is a realistic listing; 200 units are ten of them.
UNITS_PER_RESOURCE = 20
WARMUP_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 60.0
KIB_PER_MIB = 1024

OVERLAPS = text(
    "SELECT count(*) FROM bookings a JOIN bookings b"
    " ON a.unit_id = b.unit_id AND a.id < b.id"
    " AND a.block_start < b.block_end AND b.block_start < a.block_end"
    " WHERE a.status IN :blocking AND b.status IN :blocking"
).bindparams(bindparam("blocking", expanding=True))
BLOCKING_ROWS = text("SELECT count(*) FROM bookings WHERE status IN :blocking").bindparams(
    bindparam("blocking", expanding=True)
)


@dataclass
class Slots:
    """Hands out (unit, start) pairs nobody has asked for, and remembers the ones booked."""

    units: list[int]
    base: datetime
    _next: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    booked: list[tuple[int, datetime]] = field(default_factory=list)

    def fresh(self) -> tuple[int, datetime]:
        with self._lock:
            n = next(self._next)
        # Fill every unit's first slot, then every unit's second, and so on: one day of 96
        # slots on 200 units holds 19,200 bookings, and the default booking window is 90 days.
        return self.units[n % len(self.units)], self.base + SLOT * (n // len(self.units))

    def taken(self, rng: random.Random) -> tuple[int, datetime] | None:
        with self._lock:
            return rng.choice(self.booked) if self.booked else None

    def remember(self, slot: tuple[int, datetime]) -> None:
        with self._lock:
            self.booked.append(slot)


@dataclass
class PhaseResult:
    name: str
    seconds: float
    created: int = 0
    expected_conflicts: int = 0
    unexpected_conflicts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    bench_cpu: float = 0.0
    postgres_cpu: float | None = None

    def percentile(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100)[p - 1]


@dataclass
class BackendResult:
    backend: str
    phases: list[PhaseResult]
    rss_start_mib: float
    rss_after_mib: float
    double_bookings: int
    blocking_rows: int
    created: int  # 201 answers ("201s"), warm-up included: each must be exactly one blocking row


class Load:
    """One phase: `clients` threads booking until the deadline, each on its own connection."""

    def __init__(
        self, base_url: str, demander: Member, slots: Slots, resource_of: dict[int, int]
    ) -> None:
        self.base_url, self.demander, self.slots = base_url, demander, slots
        self.resource_of = resource_of
        self.collide, self.seconds = 0.0, 0.0
        self.lock = threading.Lock()

    def run(self, name: str, clients: int, *, collide: float, seconds: float) -> PhaseResult:
        self.collide, self.seconds = collide, seconds
        result = PhaseResult(name, seconds)
        barrier = threading.Barrier(clients + 1)
        threads = [
            threading.Thread(target=self._client, args=(i, barrier, result), daemon=True)
            for i in range(clients)
        ]
        for t in threads:
            t.start()
        barrier.wait()  # every client connected; the clock starts now
        for t in threads:
            t.join()
        return result

    def _client(self, index: int, barrier: threading.Barrier, result: PhaseResult) -> None:
        rng = random.Random(index)
        with http_client(self.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            client.get("/healthz")
            barrier.wait()
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline:
                self._one(client, rng, result)

    def _one(self, client: httpx.Client, rng: random.Random, result: PhaseResult) -> None:
        taken = self.slots.taken(rng) if rng.random() < self.collide else None
        unit, start = taken or self.slots.fresh()
        body = {
            "resource_id": self.resource_of[unit],
            "unit_id": unit,
            "start": start.isoformat(),
            "end": (start + SLOT).isoformat(),
        }
        began = time.perf_counter()
        try:
            response = client.post("/v1/bookings", json=body, headers=self.demander.write_headers())
        except Exception as exc:  # a timeout or a dropped connection is a result, not a crash
            with self.lock:
                result.errors[type(exc).__name__] += 1
            return
        elapsed_ms = (time.perf_counter() - began) * 1000
        code = _error_code(response) if response.status_code >= 400 else ""
        with self.lock:
            result.latencies_ms.append(elapsed_ms)
            if response.status_code == 201:
                result.created += 1
            elif response.status_code == 409 and code == "capacity_conflict":
                if taken:
                    result.expected_conflicts += 1
                else:
                    result.unexpected_conflicts += 1
            else:
                result.errors[f"{response.status_code} {response.text[:160]}"] += 1
        if response.status_code == 201:
            self.slots.remember((unit, start))


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _cpu_ticks(stat: str) -> tuple[int, int]:
    """Parent pid and utime + stime from a /proc/<pid>/stat line (fields 4, 14, 15 of proc(5))."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _postgres_cpu(postmaster: int) -> float:
    """CPU seconds used so far by one PostgreSQL server: its postmaster and live children.

    Only this server's processes: other PostgreSQL servers may share the machine.
    """
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent, ticks = _cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
        except OSError:
            continue  # exited while we looked
        if postmaster in (int(pid), parent):
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def _list_units(client: httpx.Client, provider: Member, units: int) -> dict[int, int]:
    """Charger hubs adding up to `units` exclusive units; unit id -> resource id."""
    resource_of: dict[int, int] = {}
    for hub in range(0, units, UNITS_PER_RESOURCE):
        spec = charger_spec(min(UNITS_PER_RESOURCE, units - hub), name=f"Bench hub {hub}")
        resource = expect(
            client.post("/v1/resources", json=spec, headers=provider.write_headers()), 201
        )
        resource_of.update({u["id"]: resource["id"] for u in resource["units"]})
    return resource_of


def _phase(
    load: Load,
    server: ServerProcess,
    postmaster: int | None,
    *,
    name: str,
    args: argparse.Namespace,
    collide: float,
) -> PhaseResult:
    cpu0, bench0 = server.cpu_seconds(), time.process_time()
    pg0 = _postgres_cpu(postmaster) if postmaster else 0.0
    result = load.run(name, args.clients, collide=collide, seconds=args.seconds)
    result.server_cpu = server.cpu_seconds() - cpu0
    result.bench_cpu = time.process_time() - bench0
    result.postgres_cpu = _postgres_cpu(postmaster) - pg0 if postmaster else None
    return result


def run_backend(
    backend: str, url: str, args: argparse.Namespace, postmaster: int | None = None
) -> BackendResult:
    server, operator = serve_with_operator(url, workers=args.workers)
    with server, http_client(server.base_url) as client:
        rss_start = server.rss_kib() / KIB_PER_MIB
        market = create_market(client, operator)
        resource_of = _list_units(client, market.provider, args.units)
        slots = Slots(sorted(resource_of), next_local(0, 0))
        load = Load(server.base_url, market.demander, slots, resource_of)
        warmup = load.run("warm-up", args.clients, collide=0.0, seconds=WARMUP_SECONDS)
        phases = [
            _phase(load, server, postmaster, name=name, args=args, collide=collide)
            for name, collide in (("distinct", 0.0), (f"{args.collide:.0%} collide", args.collide))
        ]
        rss_after = server.rss_kib() / KIB_PER_MIB
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            blocking = sorted(s.value for s in BLOCKING)
            overlaps = conn.execute(OVERLAPS, {"blocking": blocking}).scalar_one()
            rows = conn.execute(BLOCKING_ROWS, {"blocking": blocking}).scalar_one()
    finally:
        engine.dispose()
    created = warmup.created + sum(p.created for p in phases)
    return BackendResult(backend, phases, rss_start, rss_after, overlaps, rows, created)


def demo_rss_mib(workdir: Path) -> float:
    """Resident memory of `sparecap demo` once it serves the seeded Shenzhen market."""
    with ServerProcess(["demo", "--path", str(workdir / "demo.sqlite3")]) as demo:
        return demo.rss_kib() / KIB_PER_MIB


@contextmanager
def postgres() -> Iterator[tuple[str, int]]:
    """A durable PostgreSQL server's bench database URL, and its postmaster's pid."""
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries not found (set SPARECAP_PG_BINDIR)")
    # durable: fsync and synchronous commit on, as in production; SQLite runs synchronous=FULL.
    server = PgServer(bindir, durable=True).start()
    try:
        server.sql("CREATE DATABASE bench")
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        yield server.url("bench"), postmaster
    finally:
        server.stop()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} × {model}, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}; load average {load} at report time"
    )


def report(results: list[BackendResult], demo_mib: float, args: argparse.Namespace) -> None:
    print(f"\n## Booking throughput ({datetime.now(UTC):%Y-%m-%d})\n")
    print(f"Machine: {machine()}.\n")
    print(f"{args.clients} client threads (own connection each, keep-alive), {args.units}")
    print(f"exclusive units, {args.seconds:g} s per phase, {args.workers} server worker processes.")
    print("Latency: every answered request (201 and 409), measured at the client.\n")
    print(
        "| database | phase | bookings/s | p50 ms | p99 ms | 409 expected | 409 unexpected"
        " | errors | server CPU | postgres CPU | client CPU |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for p in r.phases:
            pg = f"{p.postgres_cpu / p.seconds:.0%}" if p.postgres_cpu is not None else "-"
            print(
                f"| {r.backend} | {p.name} | {p.created / p.seconds:.1f} | {p.percentile(50):.0f}"
                f" | {p.percentile(99):.0f} | {p.expected_conflicts} | {p.unexpected_conflicts}"
                f" | {sum(p.errors.values())} | {p.server_cpu / p.seconds:.0%} | {pg}"
                f" | {p.bench_cpu / p.seconds:.0%} |"
            )
    print("\nCPU columns: CPU seconds per wall second (100% = one core).\n")
    print("| database | double bookings | blocking rows | 201s | RSS at start | RSS after run |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.backend} | {r.double_bookings} | {r.blocking_rows} | {r.created}"
            f" | {r.rss_start_mib:.0f} MiB | {r.rss_after_mib:.0f} MiB |"
        )
    print("\nBoth columns count the warm-up too; they must be equal (no lost, no phantom rows).")
    print(f"\n`sparecap demo` resident memory after startup with the demo data: {demo_mib:.0f} MiB")
    for r in results:
        for p in r.phases:
            for error, n in p.errors.most_common(5):
                print(f"\n{r.backend} {p.name}: {n} x {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent client threads")
    parser.add_argument("--units", type=int, default=200, help="exclusive units to book")
    parser.add_argument("--workers", type=int, default=2, help="server processes (2 cores)")
    parser.add_argument("--collide", type=float, default=0.10, help="share of colliding requests")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    args = parser.parse_args()
    results: list[BackendResult] = []
    with tempfile.TemporaryDirectory(prefix="sparecap-bench-") as tmp:
        workdir = Path(tmp)
        for backend in args.databases.split(","):
            print(f"{backend}: running…", file=sys.stderr)
            if backend == "sqlite":
                results.append(run_backend(backend, f"sqlite:///{workdir / 'bench.sqlite3'}", args))
            elif backend == "postgresql":
                with postgres() as (url, postmaster):
                    results.append(run_backend(backend, url, args, postmaster))
            else:
                parser.error(f"unknown database {backend!r}")
        demo_mib = demo_rss_mib(workdir)
    report(results, demo_mib, args)


if __name__ == "__main__":
    main()
