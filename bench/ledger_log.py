"""The database-backed ledger: sustained appends, proof and receipt latency by log size, memory.

Appends go through the real use case (`append_entry`), `--batch` entries per transaction, on
SQLite (synchronous=FULL) and PostgreSQL (durable), until the log holds `--appends` entries
(default 1M). The rate is reported over the whole run and for its slowest tenth (sustained).
Checkpoints are signed as the log passes 10k, 100k and 1M entries; inclusion proofs (proof
alone, and a whole receipt: entry + proof + checkpoint) are then timed against each of them.
Peak RSS is this process's, which appended and proved everything.
Run: .venv/bin/python bench/ledger_log.py [--appends N] [--batch B] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import platform as py_platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.pgserver import PgServer, find_bindir

from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.db.models import LedgerCheckpoint
from sparecap.services.ledger import append_entry, inclusion_proof_at, receipt, sign_latest

AT = datetime(2026, 11, 28, tzinfo=UTC)
PROOF_SIZES = (10_000, 100_000, 1_000_000)
WINDOWS = 10  # the run is cut into this many parts; the slowest one is the sustained rate


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def append_log(platform: Platform, appends: int, batch: int) -> tuple[float, float]:
    """Append `appends` entries; returns (overall rate, slowest window's rate)."""
    window = max(appends // WINDOWS, batch)
    rates: list[float] = []
    start = window_start = time.perf_counter()
    for first in range(0, appends, batch):
        with platform.db.write() as session:
            for i in range(first, min(first + batch, appends)):
                append_entry(session, kind="bench", subject=f"bench:{i}", at=AT, data={"i": i})
        done = min(first + batch, appends)
        if done in PROOF_SIZES:
            with platform.db.write() as session:
                sign_latest(session, signer=platform.ledger.signer, origin="bench.local", at=AT)
        if done % window == 0:
            now = time.perf_counter()
            rates.append(window / (now - window_start))
            window_start = now
    return appends / (time.perf_counter() - start), min(rates, default=0.0)


def time_each(call: Callable[[int], object], size: int, samples: int) -> tuple[float, float]:
    times = []
    for k in range(samples):
        seq = (k * 7_919_993) % size
        began = time.perf_counter()
        call(seq)
        times.append(time.perf_counter() - began)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


def time_proofs(platform: Platform, size: int, samples: int) -> tuple[str, str]:
    """(proof median/p99 ms, receipt median/p99 ms) against the checkpoint of `size`."""
    with platform.db.read() as session:
        checkpoint = session.get(LedgerCheckpoint, size)
        assert checkpoint is not None, f"no checkpoint at {size}"
        proof = time_each(
            lambda seq: inclusion_proof_at(session, seq=seq, size=size), size, samples
        )
        whole = time_each(
            lambda seq: receipt(session, seq=seq, checkpoint=checkpoint), size, samples
        )
    return f"{proof[0]:.3f} / {proof[1]:.3f}", f"{whole[0]:.2f} / {whole[1]:.2f}"


@contextmanager
def databases(names: list[str], workdir: Path) -> Iterator[list[tuple[str, str]]]:
    urls = []
    server = None
    if "sqlite" in names:
        urls.append(("sqlite", f"sqlite:///{workdir / 'ledger.sqlite3'}"))
    if "postgresql" in names:
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found")
        server = PgServer(bindir, durable=True).start()
        server.sql("CREATE DATABASE bench")
        urls.append(("postgresql", server.url("bench")))
    try:
        yield urls
    finally:
        if server is not None:
            server.stop()


def run(name: str, url: str, key: Path, args: argparse.Namespace) -> None:
    platform = build_platform(Settings(database_url=url, ledger_key_path=key))
    try:
        rate, slowest = append_log(platform, args.appends, args.batch)
        print(f"{name}: {rate:,.0f} appends/s overall, {slowest:,.0f}/s in the slowest tenth")
        for size in (s for s in PROOF_SIZES if s <= args.appends):
            proof, whole = time_proofs(platform, size, args.samples)
            print(f"| {name} | {size:,} | {proof} | {whole} |")
        print(f"{name}: peak RSS {rss_mib():.0f} MiB")
    finally:
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500, help="entries per transaction")
    parser.add_argument("--samples", type=int, default=1000, help="proofs timed per size")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cpus; Python "
        f"{py_platform.python_version()}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"batch {args.batch}"
    )
    print("| database | log size | proof med / p99 ms | receipt med / p99 ms |")
    print("|---|---:|---:|---:|")
    with (
        tempfile.TemporaryDirectory() as tmp,
        databases(args.databases.split(","), Path(tmp)) as urls,
    ):
        for name, url in urls:
            run(name, url, Path(tmp) / "keys" / "ledger.key", args)
    load = os.getloadavg()
    print(f"load at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
