"""The database-backed ledger: appends per second, receipt latency by log size, memory.

Appends go through the real use case (`append_entry`), `--batch` entries per transaction, on
SQLite (synchronous=FULL) and PostgreSQL (durable). Receipts are timed against logs of 10k,
100k and 1M entries, bulk-loaded (entries and subtree hashes computed as append_entry would).
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert
from tests.support.pgserver import PgServer, find_bindir

from sparecap.bootstrap import Settings, build_platform
from sparecap.db.models import LedgerEntry, LedgerNode, LedgerState
from sparecap.domain.ledger.entries import append_leaf, entry_leaf
from sparecap.services.ledger import append_entry, receipt, sign_latest

AT = datetime(2026, 11, 28, tzinfo=UTC)
RECEIPT_SIZES = (10_000, 100_000, 1_000_000)
LOAD_CHUNK = 20_000


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_appends(url: str, key: Path, appends: int, batch: int) -> float:
    platform = build_platform(Settings(database_url=url, ledger_key_path=key))
    try:
        start = time.perf_counter()
        for first in range(0, appends, batch):
            with platform.db.write() as session:
                for i in range(first, min(first + batch, appends)):
                    append_entry(session, kind="bench", subject=f"bench:{i}", at=AT, data={"i": i})
        return appends / (time.perf_counter() - start)
    finally:
        platform.close()


def bulk_load(url: str, key: Path, size: int) -> None:
    """Fill an empty log with `size` entries fast, with exactly the rows append_entry writes."""
    platform = build_platform(Settings(database_url=url, ledger_key_path=key))
    edge: list[bytes] = []
    try:
        with platform.db.write() as session:
            session.execute(delete(LedgerNode))
            session.execute(delete(LedgerEntry))
        for first in range(0, size, LOAD_CHUNK):
            entries, nodes = [], []
            for seq in range(first, min(first + LOAD_CHUNK, size)):
                payload, leaf = entry_leaf({"v": 1, "kind": "bench", "data": {"i": seq}})
                edge, made = append_leaf(edge, seq, leaf)
                entries.append(
                    {
                        "seq": seq,
                        "kind": "bench",
                        "subject": f"bench:{seq}",
                        "payload": payload.decode(),
                        "leaf_hash": leaf,
                        "created_at": AT,
                    }
                )
                nodes += [{"level": n.level, "index": n.index, "hash": n.hash} for n in made]
            with platform.db.write() as session:
                session.execute(insert(LedgerEntry), entries)
                session.execute(insert(LedgerNode), nodes)
        with platform.db.write() as session:
            state = session.get(LedgerState, 1)
            assert state is not None
            state.size, state.frontier = size, [h.hex() for h in edge]
            sign_latest(session, signer=platform.ledger.signer, origin="bench.local/log", at=AT)
    finally:
        platform.close()


def time_receipts(url: str, key: Path, size: int, samples: int = 300) -> tuple[float, float]:
    platform = build_platform(Settings(database_url=url, ledger_key_path=key))
    times = []
    try:
        with platform.db.read() as session:
            for k in range(samples):
                seq = (k * 7_919_993) % size
                start = time.perf_counter()
                receipt(session, seq=seq)
                times.append(time.perf_counter() - start)
    finally:
        platform.close()
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="entries per transaction")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cpus; Python "
        f"{py_platform.python_version()}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print("| database | appends/s (batch) | receipt 10k med/p99 ms | 100k | 1M | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    with (
        tempfile.TemporaryDirectory() as tmp,
        databases(args.databases.split(","), Path(tmp)) as urls,
    ):
        key = Path(tmp) / "keys" / "ledger.key"
        for name, url in urls:
            rate = time_appends(url, key, args.appends, args.batch)
            cells = []
            for size in RECEIPT_SIZES:
                bulk_load(url, key, size)
                med, p99 = time_receipts(url, key, size)
                cells.append(f"{med:.2f} / {p99:.2f}")
            print(
                f"| {name} | {rate:,.0f} ({args.batch}) | {' | '.join(cells)} | {rss_mib():.0f} |"
            )


if __name__ == "__main__":
    main()
