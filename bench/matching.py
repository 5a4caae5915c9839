"""Benchmark: the matching engine against baselines and OR-Library optima.

Run: .venv/bin/python bench/matching.py [--demands N] [--units N] [--verify lsa|flow|none]
Not a test: it prints tables and asserts nothing about time. Sections:
  1. a generated unit market (uniform points in a square, candidates by radius): engine,
     first-come-first-served and greedy side by side, the optimum checked by a second algorithm
     (--verify lsa: the padded assignment, minutes at 100k; flow: one min-cost flow on the
     whole market, no split, about half a minute);
  2. OR-Library assign100..800 against their published optima;
  3. OR-Library gap1..12 (both senses) and gapa..c (min) with status, bound and gap.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np

# ortools ships .pyi files for its graph solvers but no py.typed marker.
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

from sparecap.domain.matching.assignment import (
    UnitArcs,
    UnitMatching,
    match_units,
    match_units_by_flow,
    match_units_lsa,
    solve_square_assignment,
)
from sparecap.domain.matching.baselines import first_come_first_served, greedy_cheapest_first
from sparecap.domain.matching.candidates import nearby_candidates
from sparecap.domain.matching.core import Sense, integer_costs
from sparecap.domain.matching.gap import solve_gap
from sparecap.domain.matching.orlib import read_assignment, read_gap

ORLIB = Path(__file__).resolve().parents[1].parent / "shared" / "orlib"
# Units within the radius of a demand, on average, before keeping the nearest ones.
UNITS_IN_RADIUS = 30
# Side of the square market in metres for 100,000 units: a mid-sized city.
CITY_SIDE_M = 20_000.0


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def market(demands: int, units: int, per_demand: int, seed: int) -> tuple[UnitArcs, float, float]:
    """Uniform demands and units; candidates are the nearest units within a fixed radius."""
    rng = np.random.default_rng(seed)
    side = CITY_SIDE_M * np.sqrt(units / 100_000)
    demand_xy = rng.uniform(0, side, (demands, 2))
    unit_xy = rng.uniform(0, side, (units, 2))
    radius = float(np.sqrt(UNITS_IN_RADIUS / np.pi * side * side / units))
    start = time.perf_counter()
    found = nearby_candidates(demand_xy, unit_xy, radius=radius, max_candidates=per_demand)
    seconds = time.perf_counter() - start
    # Cost of a pairing: the distance in whole metres.
    arcs = UnitArcs.build(demands, units, found.demand, found.unit, integer_costs(found.distance))
    return arcs, radius, seconds


def whole_market_flow(arcs: UnitArcs) -> tuple[int, int, float]:
    """(matched, total cost, seconds) of one min-cost maximum flow on the whole market.

    An independent check of match_units: no maximum matching first, no split into pieces, no
    assignment solver; only OR-Tools' flow solver on every arc as given.
    """
    start = time.perf_counter()
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        arcs.demand,
        arcs.unit + np.int32(arcs.num_demands),
        np.ones(arcs.size, np.int64),
        arcs.cost,
    )
    nodes = arcs.num_demands + arcs.num_units
    supplies = np.r_[np.ones(arcs.num_demands, np.int64), np.full(arcs.num_units, -1, np.int64)]
    flow.set_nodes_supplies(np.arange(nodes, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow refused the market: {status.name}")
    return int(flow.maximum_flow()), int(flow.optimal_cost()), time.perf_counter() - start


def bench_market(args: argparse.Namespace) -> None:
    arcs, radius, cand_s = market(args.demands, args.units, args.candidates, args.seed)
    print(f"\n## Unit market: {args.demands:,} demands x {args.units:,} units")
    print(
        f"radius {radius:.0f} m, up to {args.candidates} candidates each, {arcs.size:,} arcs; "
        f"candidate generation {cand_s:.2f} s"
    )
    print("\n| method | matched | fill rate | total cost (m) | mean cost | wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    runs: list[tuple[str, Callable[[UnitArcs], UnitMatching]]] = [
        ("engine (classes, auction), first call: loads the compiled code", match_units),
        ("engine, warm", match_units),
        ("engine, one thread", partial(match_units, threads=False)),
        ("previous engine: OR-Tools flows on the pieces, one process", match_units_by_flow),
        ("first come, first served", first_come_first_served),
        ("greedy cheapest first", greedy_cheapest_first),
    ]
    if args.verify == "lsa":
        runs.append(("check: linear sum assignment", match_units_lsa))
    results = {}
    for name, method in runs:
        result = method(arcs)
        results[name] = result
        mean = result.objective / max(1, result.matched)
        print(
            f"| {name} | {result.matched:,} | {result.fill_rate:.2%} | {result.objective:,} "
            f"| {mean:.1f} | {result.wall_seconds:.2f} |"
        )
    engine = results["engine, warm"]
    previous = results["previous engine: OR-Tools flows on the pieces, one process"]
    same = (previous.matched, previous.objective) == (engine.matched, engine.objective)
    print(f"\nprevious engine (another algorithm, OR-Tools): {'agrees' if same else 'DISAGREES'}")
    check = results.get("check: linear sum assignment")
    if check is not None:
        same = (check.matched, check.objective) == (engine.matched, engine.objective)
        verdict = "agrees" if same else "DISAGREES"
        print(f"\nindependent check (LinearSumAssignment on a padded graph): {verdict}")
    if args.verify == "flow":
        matched, objective, seconds = whole_market_flow(arcs)
        same = (matched, objective) == (engine.matched, engine.objective)
        verdict = "agrees" if same else "DISAGREES"
        print(
            f"\nindependent check (one min-cost flow on the whole market, {matched:,} matched, "
            f"total {objective:,}, {seconds:.1f} s): {verdict}"
        )
    print(f"peak RSS so far: {peak_rss_mib():,.0f} MiB")


def optima() -> dict[tuple[str, str, str], int]:
    with (ORLIB / "optima.csv").open(newline="", encoding="utf-8") as handle:
        return {
            (row["file"], row["index_in_file"], row["sense"]): int(row["value"])
            for row in csv.DictReader(handle)
        }


def bench_assign(best: dict[tuple[str, str, str], int]) -> None:
    print("\n## OR-Library assign (min)\n")
    print("| instance | n | objective | optimum | parse ms | solve ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in range(100, 900, 100):
        file = f"assign/assign{size}.txt"
        start = time.perf_counter()
        matrix = read_assignment(ORLIB / file)
        parse_ms = (time.perf_counter() - start) * 1000
        result = solve_square_assignment(matrix)
        print(
            f"| assign{size} | {size} | {result.objective} | {best[file, '', 'min']} "
            f"| {parse_ms:.1f} | {result.wall_seconds * 1000:.1f} |"
        )


def bench_gap_small(best: dict[tuple[str, str, str], int], limit: float) -> None:
    print(f"\n## OR-Library gap1..12 (5 problems each, time limit {limit:g} s)\n")
    print("| file | m x n | sense | optimal | reached optimum | max s | total s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for number in range(1, 13):
        file = f"gap/gap{number}.txt"
        problems = read_gap(ORLIB / file)
        for sense in (Sense.MIN, Sense.MAX):
            results = [solve_gap(p, sense=sense, time_limit=limit) for p in problems]
            hits = sum(
                r.objective == best[file, str(k), sense.value] for k, r in enumerate(results)
            )
            proven = sum(r.status.value == "optimal" for r in results)
            times = [r.wall_seconds for r in results]
            print(
                f"| gap{number} | {problems[0].agents}x{problems[0].jobs} | {sense.value} "
                f"| {proven}/5 | {hits}/5 | {max(times):.2f} | {sum(times):.2f} |"
            )


def bench_gap_large(best: dict[tuple[str, str, str], int], limit: float) -> None:
    print(f"\n## OR-Library gapa..c (min, time limit {limit:g} s)\n")
    print("| problem | m x n | status | objective | optimum | bound | LP bound | gap | s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for kind in "abc":
        file = f"gap/gap{kind}.txt"
        for k, problem in enumerate(read_gap(ORLIB / file)):
            r = solve_gap(problem, sense=Sense.MIN, time_limit=limit)
            lp = "-" if r.lp_bound is None else f"{r.lp_bound:.1f}"
            gap = "-" if r.relative_gap is None else f"{r.relative_gap:.3%}"
            print(
                f"| {kind}{problem.agents:02d}{problem.jobs} | {problem.agents}x{problem.jobs} "
                f"| {r.status.value} | {r.objective} | {best[file, str(k), 'min']} | {r.bound} "
                f"| {lp} | {gap} | {r.wall_seconds:.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demands", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--verify", choices=["lsa", "flow", "none"], default="lsa")
    parser.add_argument("--gap-time-limit", type=float, default=15.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["market", "assign", "gap"])
    args = parser.parse_args()
    print("# Matching engine benchmark")
    cpu = platform.processor() or platform.machine()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu}); "
        f"Python {sys.version.split()[0]}; numpy {np.__version__}; ortools {version('ortools')}; "
        f"scipy {version('scipy')}; numba {version('numba')}"
    )
    # The machine is shared: the load when the run starts says how far to trust its timings.
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "market" not in args.skip:
        bench_market(args)
    if not (ORLIB / "optima.csv").is_file():
        print(f"\nOR-Library instances not found at {ORLIB}: skipping those sections")
        return
    best = optima()
    if "assign" not in args.skip:
        bench_assign(best)
    if "gap" not in args.skip:
        bench_gap_small(best, limit=10.0)
        bench_gap_large(best, limit=args.gap_time_limit)
    print(f"\npeak RSS: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
