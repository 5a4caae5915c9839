"""Benchmark: inclusion/consistency proof generation on the in-memory tree and verification rate.

Run: .venv/bin/python bench/ledger_proofs.py [--samples N]
Not a test: it prints a table and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import leaf_hash, verify_inclusion

SIZES = (10_000, 100_000, 1_000_000)


def _median_us(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return statistics.median(ordered) / 1000, p95 / 1000


def _time_each(fn: Callable[[int, int], object], args: list[tuple[int, int]]) -> list[int]:
    """Wall time of each call, so the median is per proof rather than an average."""
    out: list[int] = []
    for a, b in args:
        start = time.perf_counter_ns()
        fn(a, b)
        out.append(time.perf_counter_ns() - start)
    return out


def bench_size(size: int, samples: int, rng: random.Random) -> tuple[MemoryTree, str]:
    tree = MemoryTree()
    start = time.perf_counter()
    for i in range(size):
        tree.append(i.to_bytes(8, "big"))
    build_s = time.perf_counter() - start
    incl = [(rng.randrange(size), size) for _ in range(samples)]
    incl_med, incl_p95 = _median_us(_time_each(tree.inclusion_proof, incl))
    cons = [(rng.randrange(1, size), size) for _ in range(samples)]
    cons_med, cons_p95 = _median_us(_time_each(tree.consistency_proof, cons))
    row = (
        f"| {size:>9,} | {build_s:8.2f} | {incl_med:9.1f} | {incl_p95:8.1f} "
        f"| {cons_med:9.1f} | {cons_p95:8.1f} | {len(tree.inclusion_proof(0)):>5} |"
    )
    return tree, row


def bench_verify(tree: MemoryTree, seconds: float, rng: random.Random) -> tuple[int, float]:
    size = tree.size
    root = tree.root()
    cases = []
    for _ in range(1000):
        index = rng.randrange(size)
        cases.append((leaf_hash(index.to_bytes(8, "big")), index, tree.inclusion_proof(index)))
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for leaf, index, proof in cases:
            verify_inclusion(leaf, index, size, proof, root)
        done += len(cases)
    return done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5000, help="proofs timed per size")
    parser.add_argument("--verify-seconds", type=float, default=5.0)
    args = parser.parse_args()
    rng = random.Random(6962)

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print(f"date:    {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine: {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"cpus:    os.cpu_count()={os.cpu_count()} usable={affinity} (benchmark uses one core)")
    print(f"python:  {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"samples: {args.samples} proofs per size, per-proof wall time, in-memory store\n")
    print("inclusion (incl) and consistency-to-head (cons) proof generation, median and p95 µs")
    print("| entries   | build s  | incl med  | incl p95 | cons med  | cons p95 | path  |")
    print("|-----------|----------|-----------|----------|-----------|----------|-------|")
    tree = MemoryTree()
    for size in SIZES:
        tree, row = bench_size(size, args.samples, rng)
        print(row, flush=True)
    done, elapsed = bench_verify(tree, args.verify_seconds, rng)
    print(
        f"\ninclusion-proof verification at {tree.size:,} entries (depth "
        f"{(tree.size - 1).bit_length()}), one core: {done / elapsed:,.0f} proofs/s "
        f"({done:,} in {elapsed:.1f} s, {elapsed / done * 1e6:.1f} µs each)"
    )


if __name__ == "__main__":
    main()
