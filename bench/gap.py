"""Benchmark: generalised assignment (solve_gap) on OR-Library and on generated large instances.

Run: .venv/bin/python bench/gap.py [--sections small large generated] [--repeat N]
     [--limit-small S] [--limit-large S] [--limit-generated S] [--generated 40x1600:C ...]
Not a test: it prints tables and asserts nothing about time. Sections:
  small      OR-Library gap1..12, both senses (goal: each proven optimal within 1 s);
  large      OR-Library gapa..c, min (goal: each proven optimal within 15 s);
  generated  Chu-Beasley type C / D instances of the given size (goal: within 1 % of the
             optimum in 5 s, proven by the reported bound).
With --repeat N each problem is solved N times and the median time is shown.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

from sparecap.domain.matching.core import Sense
from sparecap.domain.matching.gap import GapInstance, GapResult, solve_gap
from sparecap.domain.matching.orlib import read_gap

ORLIB = Path(__file__).resolve().parents[1].parent / "shared" / "orlib"
Solve = Callable[[GapInstance, Sense, float], GapResult]


def engine(instance: GapInstance, sense: Sense, limit: float) -> GapResult:
    return solve_gap(instance, sense=sense, time_limit=limit)


def optima() -> dict[tuple[str, str, str], int]:
    with (ORLIB / "optima.csv").open(newline="", encoding="utf-8") as handle:
        return {
            (row["file"], row["index_in_file"], row["sense"]): int(row["value"])
            for row in csv.DictReader(handle)
        }


def generated(kind: str, agents: int, jobs: int, seed: int) -> GapInstance:
    """Chu and Beasley's (1997) recipes: capacity 80 % of an agent's total weight / agents.

    C: weights U[5, 25], costs U[10, 50] independent. D: weights U[1, 100], costs
    111 - weight + U[-10, 10], so a cheap pair is a heavy one (the harder type).
    """
    rng = np.random.default_rng(seed)
    if kind == "C":
        weights = rng.integers(5, 26, (agents, jobs))
        costs = rng.integers(10, 51, (agents, jobs))
    elif kind == "D":
        weights = rng.integers(1, 101, (agents, jobs))
        costs = 111 - weights + rng.integers(-10, 11, (agents, jobs))
    else:
        raise ValueError(f"unknown type {kind!r}")
    capacities = (0.8 * weights.sum(axis=1) / agents).astype(np.int64)
    return GapInstance.build(costs, weights, capacities)


def timed(
    solve: Solve, instance: GapInstance, sense: Sense, limit: float, repeat: int
) -> tuple[GapResult, float, int]:
    """The last result, the median wall time over repeat runs and how many runs were proven."""
    results = [solve(instance, sense, limit) for _ in range(repeat)]
    proven = sum(r.status.value == "optimal" for r in results)
    return results[-1], statistics.median(r.wall_seconds for r in results), proven


def bench_small(
    solve: Solve, best: dict[tuple[str, str, str], int], limit: float, repeat: int
) -> None:
    print(f"\n## OR-Library gap1..12 (5 problems each, limit {limit:g} s, median of {repeat})\n")
    print("| file | m x n | sense | proven | at optimum | max s | median s |")
    print("|---|---|---|---:|---:|---:|---:|")
    slowest = 0.0
    for number in range(1, 13):
        file = f"gap/gap{number}.txt"
        problems = read_gap(ORLIB / file)
        for sense in (Sense.MIN, Sense.MAX):
            runs = [timed(solve, p, sense, limit, repeat) for p in problems]
            hits = sum(
                r.objective == best[file, str(k), sense.value] for k, (r, _, _) in enumerate(runs)
            )
            proven = sum(r.status.value == "optimal" for r, _, _ in runs)
            times = [s for _, s, _ in runs]
            slowest = max(slowest, *times)
            print(
                f"| gap{number} | {problems[0].agents}x{problems[0].jobs} | {sense.value} "
                f"| {proven}/5 | {hits}/5 | {max(times):.2f} | {statistics.median(times):.2f} |"
            )
    print(f"\nslowest problem (median of its runs): {slowest:.2f} s")


def bench_large(
    solve: Solve, best: dict[tuple[str, str, str], int], limit: float, repeat: int
) -> None:
    print(f"\n## OR-Library gapa..c (min, limit {limit:g} s, median of {repeat})\n")
    print("| problem | status | objective | optimum | bound | gap | runs proven | median s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    proven = runs_proven = 0
    for kind in "abc":
        file = f"gap/gap{kind}.txt"
        for k, problem in enumerate(read_gap(ORLIB / file)):
            r, seconds, in_runs = timed(solve, problem, Sense.MIN, limit, repeat)
            proven += r.status.value == "optimal"
            runs_proven += in_runs
            gap = "-" if r.relative_gap is None else f"{r.relative_gap:.3%}"
            print(
                f"| {kind}{problem.agents:02d}{problem.jobs} | {r.status.value} | {r.objective} "
                f"| {best[file, str(k), 'min']} | {r.bound} | {gap} | {in_runs}/{repeat} "
                f"| {seconds:.2f} |"
            )
    print(f"\nproven optimal (last run): {proven}/18; all runs: {runs_proven}/{18 * repeat}")


def bench_generated(solve: Solve, specs: list[str], limit: float, seed: int) -> None:
    print(f"\n## Generated (min, limit {limit:g} s, seed {seed})\n")
    print("| instance | status | objective | bound | LP bound | gap to bound | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for spec in specs:
        size, _, kind = spec.partition(":")
        m, n = (int(x) for x in size.split("x"))
        instance = generated(kind or "C", m, n, seed)
        r = solve(instance, Sense.MIN, limit)
        lp = "-" if r.lp_bound is None else f"{r.lp_bound:.1f}"
        gap = "-" if r.relative_gap is None else f"{r.relative_gap:.3%}"
        print(
            f"| {m}x{n} type {kind or 'C'} | {r.status.value} | {r.objective} | {r.bound} | {lp} "
            f"| {gap} | {r.wall_seconds:.2f} |"
        )


def header() -> None:
    cpu = platform.processor() or platform.machine()
    load = (
        Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
        if Path("/proc/loadavg").exists()
        else ["?"]
    )
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu}); load "
        f"{' '.join(load)}; Python {sys.version.split()[0]}; ortools {version('ortools')}"
    )


def run(solve: Solve, args: argparse.Namespace) -> None:
    header()
    if "generated" in args.sections:
        bench_generated(solve, args.generated, args.limit_generated, args.seed)
    if not (ORLIB / "optima.csv").is_file():
        print(f"\nOR-Library instances not found at {ORLIB}: skipping those sections")
        return
    best = optima()
    if "small" in args.sections:
        bench_small(solve, best, args.limit_small, args.repeat)
    if "large" in args.sections:
        bench_large(solve, best, args.limit_large, args.repeat)
    header()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sections",
        nargs="*",
        default=["generated", "small", "large"],
        choices=["generated", "small", "large"],
    )
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--limit-small", type=float, default=10.0)
    p.add_argument("--limit-large", type=float, default=15.0)
    p.add_argument("--limit-generated", type=float, default=5.0)
    p.add_argument("--generated", nargs="*", default=["40x1600:C", "40x1600:D", "20x1000:D"])
    p.add_argument("--seed", type=int, default=20261128)
    return p


if __name__ == "__main__":
    run(engine, parser().parse_args())
