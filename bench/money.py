"""The money flow at scale: settling 100,000 completed bookings in one batch, and reconciling a
journal of 1,000,000 lines, on SQLite (synchronous=FULL) and PostgreSQL (durable).

Settlement: bookings, their terms, payments (sandbox, captured) are bulk-inserted, and their
escrow is funded through the real `post_entries` (so each fund entry is on the ledger), then
only the release is timed: `settle_due` in a loop, one write transaction of `--limit` each,
until nothing is due; `reconcile` must then report ok. Peak RSS is that of a fresh process that
only settles (and reconciles), so setting up does not count.

Reconciliation: a separate database with top-ups into `--wallets` wallets and 2-line transfers
between them, `--lines` lines in all, bulk-inserted with a matching `ledger_entries` row per
journal entry (kind and seq only matter to reconcile; those rows are not a valid Merkle log).
`reconcile` is timed `--repeat` times; the median is reported, and each check's own time.

Run: .venv/bin/python bench/money.py [--bookings N] [--lines N] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as py_platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the helpers live in tests/support, not in the package

from sqlalchemy import Table, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from tests.support.market import charger_spec  # noqa: E402
from tests.support.pgserver import PgServer, find_bindir  # noqa: E402

from sparecap.bootstrap import Platform, Settings, build_platform  # noqa: E402
from sparecap.db.bulk import insert_rows  # noqa: E402
from sparecap.db.models import Booking, LedgerEntry, Participant, Unit  # noqa: E402
from sparecap.db.money import (  # noqa: E402
    Account,
    BookingTerms,
    JournalEntry,
    JournalLine,
    Payment,
)
from sparecap.domain.availability import Interval  # noqa: E402
from sparecap.domain.clock import FixedClock  # noqa: E402
from sparecap.domain.journal import clearing, escrow, spread  # noqa: E402
from sparecap.domain.money import Money  # noqa: E402
from sparecap.domain.quotes import Fee, FeeSchedule, Tax, quote  # noqa: E402
from sparecap.domain.tariffs import Dimension, Usage, flat_rate, price  # noqa: E402
from sparecap.services import reconcile as reconcile_module  # noqa: E402
from sparecap.services.journal import Draft, post_entries  # noqa: E402
from sparecap.services.participants import create_participant, principal_of  # noqa: E402
from sparecap.services.reconcile import reconcile  # noqa: E402
from sparecap.services.resources import ResourceIn, create_resource  # noqa: E402
from sparecap.services.settlement import settle_due  # noqa: E402
from sparecap.services.terms import PolicyIn, fee_snapshot, quote_json  # noqa: E402

# Completed bookings in the past; the settling clock stands after every dispute window.
BASE = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CURRENCY = "CNY"
PRICE_MINOR = 4000  # the charger spec's 40.00 CNY an hour
UNITS = 20  # one hub of 20 connectors; each unit's bookings follow each other hour by hour
LOAD_CHUNK = 10_000
FUND_CHUNK = 5_000
# Fees so every release has all four lines: provider, platform (commission + fee), tax.
FEES = FeeSchedule(
    provider_commission=Fee(percent_bp=1_000), demander_fee=Fee(percent_bp=200), tax=Tax(600)
)
TOP_UP_MINOR = 10**12  # per wallet, far above what its transfers can take out


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_platform(url: str, key: Path) -> Platform:
    settings = Settings(database_url=url, ledger_key_path=key, sqlite_synchronous="FULL")
    return build_platform(settings, clock=FixedClock(NOW))


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _fix_sequences(session: Session, tables: list[str]) -> None:
    """Ids were given explicitly; move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
            )
        )


# --- settlement -------------------------------------------------------------------------------


def build_settlement_state(platform: Platform, bookings: int) -> None:
    """`bookings` completed, paid, escrowed bookings whose dispute window has passed."""
    ctx = platform.ctx
    with platform.db.write() as s:
        provider = create_participant(
            s, ctx=ctx, name="Bench provider", kind="organisation", roles=["provider"]
        )
        demander = create_participant(
            s, ctx=ctx, name="Bench demander", kind="organisation", roles=["demander"]
        )
        spec = charger_spec(units=[{"name": f"c{i}"} for i in range(UNITS)], name="Bench hub")
        hub = create_resource(s, ctx=ctx, principal=principal_of(provider), spec=ResourceIn(**spec))
        units = list(s.scalars(select(Unit.id).where(Unit.resource_id == hub.id)))
        demander_id, resource_id = demander.id, hub.id
    tariff = flat_rate(CURRENCY, Dimension.TIME, PRICE_MINOR)
    lines = price(tariff, Interval(BASE, BASE + HOUR), ZoneInfo("Asia/Shanghai"), Usage(), 1)
    offer = quote(lines, CURRENCY, FEES)
    policy = PolicyIn().model_dump(mode="json")
    terms = {"tariff": None, "policy": policy, "fees": fee_snapshot(FEES)}
    snapshot = quote_json(offer)
    total = offer.total.minor
    for first in range(0, bookings, LOAD_CHUNK):
        ids = range(first + 1, min(first + LOAD_CHUNK, bookings) + 1)
        with platform.db.write() as s:
            _insert_bookings(s, ids, units, resource_id, demander_id)
            _insert_payments(s, ids, demander_id, total)
            s.execute(
                insert(BookingTerms),
                [
                    {
                        "booking_id": i,
                        "terms": terms,
                        "quote": snapshot,
                        "currency": CURRENCY,
                        "total_minor": total,
                        "deposit_minor": 0,
                        "money_status": "escrowed",
                        "payment_id": i,
                        "completed_at": _start(i, units) + HOUR,
                        "release_due_at": _start(i, units) + HOUR + timedelta(days=3),
                        "created_at": BASE - timedelta(days=1),
                    }
                    for i in ids
                ],
            )
    with platform.db.write() as s:
        _fix_sequences(s, ["bookings", "payments"])
    for first in range(0, bookings, FUND_CHUNK):
        drafts = [
            Draft(
                "escrow.fund",
                spread(clearing("sandbox"), [(escrow(i), Money(total, CURRENCY))]),
                booking_id=i,
                payment_id=i,
            )
            for i in range(first + 1, min(first + FUND_CHUNK, bookings) + 1)
        ]
        with platform.db.write() as s:
            post_entries(s, drafts=drafts, at=BASE, salt=ctx.ledger_salt)
    analyze(platform)


def _start(booking_id: int, units: list[int]) -> datetime:
    return BASE + HOUR * ((booking_id - 1) // len(units))


def _insert_bookings(
    s: Session, ids: range, units: list[int], resource_id: int, demander_id: int
) -> None:
    rows = []
    for i in ids:
        start = _start(i, units)
        rows.append(
            {
                "id": i,
                "resource_id": resource_id,
                "unit_id": units[(i - 1) % len(units)],
                "demander_id": demander_id,
                "status": "completed",
                "exclusive": True,
                "quantity": 1,
                "start_at": start,
                "end_at": start + HOUR,
                "block_start": start,
                "block_end": start + HOUR,
                "price_minor": PRICE_MINOR,
                "currency": CURRENCY,
                "instant_book": True,
                "timer_due_at": None,
                "timer_event": None,
                "note": "",
                "created_at": BASE - timedelta(days=1),
                "updated_at": start + HOUR,
            }
        )
    s.execute(insert(Booking), rows)


def _insert_payments(s: Session, ids: range, demander_id: int, total: int) -> None:
    s.execute(
        insert(Payment),
        [
            {
                "id": i,
                "participant_id": demander_id,
                "booking_id": i,
                "purpose": "booking",
                "provider": "sandbox",
                "provider_ref": f"bench-{i}",
                "instrument": "sandbox:ok",
                "amount_minor": total,
                "refunded_minor": 0,
                "currency": CURRENCY,
                "status": "captured",
                "failure": "",
                "created_at": BASE - timedelta(days=1),
                "updated_at": BASE - timedelta(days=1),
            }
            for i in ids
        ],
    )


def settle_all(platform: Platform, limit: int) -> dict[str, Any]:
    """Time `settle_due` until nothing is due, then reconcile."""
    batches: list[float] = []
    settled = 0
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        with platform.db.write() as s:
            n = settle_due(s, ctx=platform.ctx, limit=limit)
        if n == 0:
            break
        batches.append(time.perf_counter() - t0)
        settled += n
    seconds = time.perf_counter() - began
    t0 = time.perf_counter()
    with platform.db.read() as s:
        report = reconcile(s)
    return {
        "settled": settled,
        "seconds": seconds,
        "batch_median": statistics.median(batches) if batches else 0.0,
        "rss_mib": rss_mib(),
        "reconcile_seconds": time.perf_counter() - t0,
        "reconcile_ok": report.ok,
        "problems": report.problems[:5],
        "lines": report.lines,
    }


# --- reconciliation ---------------------------------------------------------------------------


def build_journal(platform: Platform, lines: int, wallets: int) -> None:
    """Top-ups into `wallets` wallets, then transfers between them: `lines` lines in all."""
    transfers = lines // 2 - wallets
    if transfers < 0:
        raise SystemExit("--lines must be at least twice --wallets")
    with platform.db.write() as s:
        s.execute(
            insert(Participant),
            [
                {
                    "id": p,
                    "kind": "person",
                    "name": f"P{p}",
                    "roles": ["demander"],
                    "verification_level": 0,
                    "created_at": BASE,
                }
                for p in range(1, wallets + 1)
            ],
        )
        s.execute(
            insert(Account),
            [
                {
                    "id": 1,
                    "code": "clearing:sandbox",
                    "kind": "clearing",
                    "currency": CURRENCY,
                    "participant_id": None,
                }
            ]
            + [
                {
                    "id": p + 1,
                    "code": f"wallet:{p}",
                    "kind": "wallet",
                    "currency": CURRENCY,
                    "participant_id": p,
                }
                for p in range(1, wallets + 1)
            ],
        )
        s.execute(
            insert(Payment),
            [
                {
                    "id": p,
                    "participant_id": p,
                    "booking_id": None,
                    "purpose": "topup",
                    "provider": "sandbox",
                    "provider_ref": f"topup-{p}",
                    "instrument": "",
                    "amount_minor": TOP_UP_MINOR,
                    "refunded_minor": 0,
                    "currency": CURRENCY,
                    "status": "captured",
                    "failure": "",
                    "created_at": BASE,
                    "updated_at": BASE,
                }
                for p in range(1, wallets + 1)
            ],
        )
        _fix_sequences(s, ["participants", "accounts", "payments"])
    entries = wallets + transfers
    for first in range(0, entries, 50_000):
        chunk = range(first, min(first + 50_000, entries))
        with platform.db.write() as s:
            conn = s.connection()
            entry_rows, line_rows, ledger_rows = [], [], []
            for n in chunk:
                entry_id = n + 1
                if n < wallets:
                    kind, source, target, amount, payment = "topup", 1, n + 2, TOP_UP_MINOR, n + 1
                else:
                    source = 2 + n % wallets
                    target = 2 + (n * 7 + 3) % wallets
                    if target == source:
                        target = 2 + (source - 1) % wallets
                    kind, amount, payment = "transfer", 1 + n % 997, None
                entry_rows.append((entry_id, kind, None, payment, None, "", n, BASE))
                line_rows.append((2 * n + 1, entry_id, source, CURRENCY, -amount))
                line_rows.append((2 * n + 2, entry_id, target, CURRENCY, amount))
                ledger_rows.append((n, "journal.entry", "journal", "{}", b"\0" * 32, BASE))
            insert_rows(conn, _table(LedgerEntry), LEDGER_COLUMNS, ledger_rows)
            insert_rows(conn, _table(JournalEntry), ENTRY_COLUMNS, entry_rows)
            insert_rows(conn, _table(JournalLine), LINE_COLUMNS, line_rows)
    with platform.db.write() as s:
        _fix_sequences(s, ["journal_entries", "journal_lines"])
    analyze(platform)


def analyze(platform: Platform) -> None:
    """Table statistics, as autovacuum would have them for tables this size: planned blind,
    PostgreSQL ran one reconciliation of 20,000 bookings for 69 s instead of 0.5 s."""
    with platform.db.write() as s:
        s.execute(text("ANALYZE"))


LEDGER_COLUMNS = ("seq", "kind", "subject", "payload", "leaf_hash", "created_at")
ENTRY_COLUMNS = (
    "id", "kind", "booking_id", "payment_id", "reverses_id", "memo", "ledger_seq", "created_at",
)  # fmt: skip
LINE_COLUMNS = ("id", "entry_id", "account_id", "currency", "amount_minor")
# Timed alone: the one pass of sums the balance checks share, and the checks of their own.
CHECKS = ("_account_sums", "_unbalanced", "_wrong_currency", "_escrow_mismatch", "_unlogged")


def time_reconcile(platform: Platform, repeat: int) -> dict[str, Any]:
    """Median of `repeat` whole reconciliations, and of each check run alone."""
    runs, ok, lines = [], False, 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        with platform.db.read() as s:
            report = reconcile(s)
        runs.append(time.perf_counter() - t0)
        ok, lines = report.ok, report.lines
        problems = report.problems[:5]
    per_check: dict[str, float] = {}
    for name in CHECKS:
        check = getattr(reconcile_module, name)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with platform.db.read() as s:
                check(s) if name == "_account_sums" else check(s, 20)
            times.append(time.perf_counter() - t0)
        per_check[name.lstrip("_")] = statistics.median(times)
    return {
        "median": statistics.median(runs),
        "runs": runs,
        "ok": ok,
        "lines": lines,
        "problems": problems,
        "checks": per_check,
        "rss_mib": rss_mib(),
    }


def count_lines(platform: Platform) -> int:
    with platform.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(JournalLine)) or 0)


# --- driver -----------------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> None:
    """In a fresh process, so its peak RSS is the timed work's alone: print one JSON line."""
    platform = open_platform(args.url, Path(args.key))
    try:
        if args.worker == "settle":
            result = settle_all(platform, args.limit)
        else:
            result = time_reconcile(platform, args.repeat)
    finally:
        platform.close()
    print(json.dumps(result))


def in_worker(kind: str, url: str, key: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--worker", kind, "--url", url, "--key", str(key),
        "--limit", str(args.limit), "--repeat", str(args.repeat),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def databases(names: list[str], workdir: Path) -> Iterator[list[tuple[str, str, str]]]:
    """(name, settlement database URL, journal database URL) for each database asked for."""
    found = []
    server = None
    if "sqlite" in names:
        found.append(
            ("sqlite", f"sqlite:///{workdir / 'settle.sqlite3'}", f"sqlite:///{workdir / 'j.db'}")
        )
    if "postgresql" in names:
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found (set SPARECAP_PG_BINDIR)")
        # durable: fsync and synchronous commit on, as in production.
        server = PgServer(bindir, durable=True).start()
        server.sql("CREATE DATABASE settle")
        server.sql("CREATE DATABASE journal")
        found.append(("postgresql", server.url("settle"), server.url("journal")))
    try:
        yield found
    finally:
        if server is not None:
            server.stop()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} × {model}, Python {py_platform.python_version()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000, help="bookings to settle")
    parser.add_argument("--limit", type=int, default=5_000, help="settlements per transaction")
    parser.add_argument("--lines", type=int, default=1_000_000, help="journal lines to reconcile")
    parser.add_argument("--wallets", type=int, default=1_000, help="wallets the lines move between")
    parser.add_argument("--repeat", type=int, default=3, help="reconciliations timed")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--worker", choices=["settle", "reconcile"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load {load()}")
    settled, reconciled = [], []
    with tempfile.TemporaryDirectory(prefix="sparecap-bench-") as tmp:
        key = Path(tmp) / "keys" / "ledger.key"
        with databases(args.databases.split(","), Path(tmp)) as urls:
            for name, settle_url, journal_url in urls:
                for url, build, size in (
                    (settle_url, build_settlement_state, args.bookings),
                    (journal_url, build_journal, args.lines),
                ):
                    print(f"{name}: building {build.__name__}({size:,})…", file=sys.stderr)
                    t0 = time.perf_counter()
                    platform = open_platform(url, key)
                    try:
                        if build is build_journal:
                            build_journal(platform, size, args.wallets)
                        else:
                            build_settlement_state(platform, size)
                    finally:
                        platform.close()
                    print(f"{name}: built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
                settled.append((name, in_worker("settle", settle_url, key, args)))
                reconciled.append((name, in_worker("reconcile", journal_url, key, args)))
    report(settled, reconciled, args)


def report(
    settled: list[tuple[str, dict[str, Any]]],
    reconciled: list[tuple[str, dict[str, Any]]],
    args: argparse.Namespace,
) -> None:
    print(f"\nSettlement: {args.bookings:,} completed bookings, `settle_due` limit {args.limit:,}")
    print("| database | settled | seconds | settlements/s | median batch s | peak RSS |"
          " reconcile s | reconcile ok |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in settled:
        print(
            f"| {name} | {r['settled']:,} | {r['seconds']:.1f} | {r['settled'] / r['seconds']:,.0f}"
            f" | {r['batch_median']:.2f} | {r['rss_mib']:.0f} MiB | {r['reconcile_seconds']:.1f}"
            f" | {r['reconcile_ok']} |"
        )
        if r["problems"]:
            print(f"{name} problems: {r['problems']}")
    print(f"\nReconciliation: median of {args.repeat}")
    checks = list(reconciled[0][1]["checks"]) if reconciled else []
    print("| database | lines | median s | ok | " + " | ".join(checks) + " | peak RSS |")
    print("|---|---:|---:|---|" + "---:|" * len(checks) + "---:|")
    for name, r in reconciled:
        per = " | ".join(f"{r['checks'][c]:.2f}" for c in checks)
        print(
            f"| {name} | {r['lines']:,} | {r['median']:.2f} | {r['ok']} | {per}"
            f" | {r['rss_mib']:.0f} MiB |"
        )
        if r["problems"]:
            print(f"{name} problems: {r['problems']}")
    print(f"\nload at the end {load()}")


if __name__ == "__main__":
    main()
